package store_test

// Security keys on every engine: a credential id names one key on one
// account; a ceremony is used once, by its owner, before it expires —
// also when many finishes race on two instances.

import (
	"errors"
	"testing"
	"time"

	"twostep/internal/store"
)

func TestWebAuthnCredentials(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		a := newUser(t, db, "u-wa-a", "a@example.com")
		b := newUser(t, db, "u-wa-b", "b@example.com")
		fa := newPendingFactor(t, db, "f-wa-a", a.ID, base, at(time.Hour))
		fb := newPendingFactor(t, db, "f-wa-b", b.ID, base, at(time.Hour))
		want := store.WebAuthnCredential{FactorID: fa.ID, UserID: a.ID, CredentialID: "cred-1", PublicKey: "pk-1", SignCount: 7,
			UserPresent: true, UserVerified: true, BackupEligible: true, BackupState: false, Discoverable: true,
			Transports: "usb,nfc", AAGUID: "aaguid-1", AttestationType: "none", Attachment: "cross-platform", CreatedAt: at(time.Minute)}
		must(t, db.ActivateWebAuthnFactor(ctx(), fa, want, "swk", at(time.Minute)))
		got, err := db.WebAuthnCredentialByID(ctx(), "cred-1")
		if err != nil || got != want {
			t.Fatalf("credential = %+v, %v; want %+v", got, err, want)
		}
		if f, err := db.FactorByID(ctx(), a.ID, fa.ID, at(time.Minute)); err != nil || f.Status != "active" || f.AMR != "swk" {
			t.Fatalf("factor after activation = %+v, %v; want active with amr swk", f, err)
		}
		// The same credential id on another account: refused, and that
		// account's factor stays pending.
		dup := want
		dup.FactorID, dup.UserID = fb.ID, b.ID
		if err := db.ActivateWebAuthnFactor(ctx(), fb, dup, "hwk", at(time.Minute)); !errors.Is(err, store.ErrCredentialTaken) {
			t.Fatalf("duplicate credential id = %v, want ErrCredentialTaken", err)
		}
		if f, err := db.FactorByID(ctx(), b.ID, fb.ID, at(time.Minute)); err != nil || f.Status != "pending" {
			t.Fatalf("factor of the refused credential = %+v, %v; want still pending", f, err)
		}
		if list, err := db.WebAuthnCredentials(ctx(), b.ID); err != nil || len(list) != 0 {
			t.Fatalf("b's credentials = %v, %v; want none", list, err)
		}

		must(t, db.UseWebAuthnCredential(ctx(), fa.ID, 9, true, true, at(2*time.Minute)))
		got, _ = db.WebAuthnCredentialByID(ctx(), "cred-1")
		if got.SignCount != 9 || !got.BackupState {
			t.Fatalf("after use: count %d, backed up %v; want 9, true", got.SignCount, got.BackupState)
		}
		if f, _ := db.FactorByID(ctx(), a.ID, fa.ID, at(2*time.Minute)); !f.LastUsedAt.Equal(at(2 * time.Minute)) {
			t.Fatalf("last used = %v, want %v", f.LastUsedAt, at(2*time.Minute))
		}
		if first, err := db.MarkWebAuthnCloned(ctx(), fa.ID); err != nil || !first {
			t.Fatalf("first clone mark = %v, %v; want true", first, err)
		}
		if first, err := db.MarkWebAuthnCloned(ctx(), fa.ID); err != nil || first {
			t.Fatalf("second clone mark = %v, %v; want false", first, err)
		}
		if err := db.UseWebAuthnCredential(ctx(), fa.ID, 10, false, false, at(3*time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("use of a key marked cloned = %v, want ErrNotFound", err)
		}
		// Removing the factor removes its credential: the key can be added
		// again (here, to the other account).
		must(t, db.DeleteFactor(ctx(), a.ID, fa.ID))
		if _, err := db.WebAuthnCredentialByID(ctx(), "cred-1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("credential after its factor was removed: %v, want ErrNotFound", err)
		}
		must(t, db.ActivateWebAuthnFactor(ctx(), fb, dup, "hwk", at(4*time.Minute)))
	})
}

func TestWebAuthnCeremonyUsedOnce(t *testing.T) {
	forEachEngineURL(t, func(t *testing.T, engine, url string) {
		one := open(t, url)
		if _, err := one.Migrate(ctx()); err != nil {
			t.Fatal(err)
		}
		two := open(t, url)
		dbs := []*store.DB{one, two}
		c := store.Ceremony{ID: "cer-1", ChallengeHash: "ch-1", Purpose: "assert", Owner: "signin:p1", UserID: "u1", FactorID: "f1",
			SessionData: `{"challenge":"x"}`, CreatedAt: base, ExpiresAt: at(5 * time.Minute)}
		must(t, one.CreateCeremony(ctx(), c))
		// Another owner, another purpose, an unknown challenge: nothing.
		for _, try := range []struct{ hash, purpose, owner string }{{"ch-1", "assert", "signin:p2"}, {"ch-1", "passkey", "signin:p1"}, {"ch-2", "assert", "signin:p1"}} {
			if _, err := one.ConsumeCeremony(ctx(), try.hash, try.purpose, try.owner, at(time.Minute)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("consume %+v = %v, want ErrNotFound", try, err)
			}
		}
		const n = 20
		got := concurrently(t, n, func(i int) (bool, error) {
			_, err := dbs[i%2].ConsumeCeremony(ctx(), "ch-1", "assert", "signin:p1", at(time.Minute))
			if errors.Is(err, store.ErrNotFound) {
				return false, nil
			}
			return err == nil, err
		})
		t.Logf("%d concurrent finishes of one ceremony on two instances: %d consumed it", n, got)
		if got != 1 {
			t.Fatalf("%d of %d concurrent finishes consumed the ceremony, want 1", got, n)
		}
		// Expired: nothing, and purged.
		c2 := c
		c2.ID, c2.ChallengeHash = "cer-2", "ch-2"
		must(t, one.CreateCeremony(ctx(), c2))
		if _, err := one.ConsumeCeremony(ctx(), "ch-2", "assert", "signin:p1", at(5*time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("consume at expiry = %v, want ErrNotFound", err)
		}
		c3 := c
		c3.ID, c3.ChallengeHash = "cer-3", "ch-3"
		must(t, one.CreateCeremony(ctx(), c3))
		if got, err := two.ConsumeCeremony(ctx(), "ch-3", "assert", "signin:p1", at(4*time.Minute)); err != nil || got.SessionData != c.SessionData || got.FactorID != "f1" || got.UserID != "u1" {
			t.Fatalf("consume = %+v, %v", got, err)
		}
		must(t, one.PurgeExpired(ctx(), at(6*time.Minute)))
	})
}
