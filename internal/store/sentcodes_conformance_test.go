package store_test

// Sent codes under concurrency: the resend cooldown is claimed by one
// request only, and concurrent requests share one live code, on every
// engine and across two instances (two store.DBs on one database).

import (
	"testing"
	"time"

	"twostep/internal/store"
)

func TestClaimSendConcurrent(t *testing.T) {
	forEachEngineURL(t, func(t *testing.T, engine, url string) {
		one := open(t, url)
		if _, err := one.Migrate(ctx()); err != nil {
			t.Fatal(err)
		}
		two := open(t, url)
		dbs := []*store.DB{one, two}
		u := newUser(t, one, "u-claim", "claim@example.com")
		f := newFactor(t, one, "f-claim", u.ID, base)
		const cool = 30 * time.Second

		if last, err := one.LastSend(ctx(), f.ID, ""); err != nil || !last.IsZero() {
			t.Fatalf("LastSend before any send = %v, %v; want zero", last, err)
		}
		const n = 20
		got := concurrently(t, n, func(i int) (bool, error) {
			ok, _, err := dbs[i%2].ClaimSend(ctx(), f.ID, "sms", base, cool)
			return ok, err
		})
		t.Logf("%d concurrent claims at one instant on two instances: %d granted", n, got)
		if got != 1 {
			t.Fatalf("%d of %d concurrent claims granted, want 1", got, n)
		}
		// Refused: says when the slot was taken. Another channel has its own.
		ok, last, err := two.ClaimSend(ctx(), f.ID, "sms", at(29*time.Second), cool)
		if err != nil || ok || !last.Equal(base) {
			t.Fatalf("claim within the cooldown = %v, %v, %v; want refused, taken at %v", ok, last, err, base)
		}
		if ok, _, err := one.ClaimSend(ctx(), f.ID, "voice", at(time.Second), cool); err != nil || !ok {
			t.Fatalf("claim by another channel = %v, %v; want granted", ok, err)
		}
		if last, err := one.LastSend(ctx(), f.ID, ""); err != nil || !last.Equal(at(time.Second)) {
			t.Fatalf("LastSend any channel = %v, %v; want %v", last, err, at(time.Second))
		}
		// Released (nothing was sent): claimable at once.
		must(t, one.ReleaseSend(ctx(), f.ID, "sms", base))
		if ok, _, err := two.ClaimSend(ctx(), f.ID, "sms", at(2*time.Second), cool); err != nil || !ok {
			t.Fatalf("claim after release = %v, %v; want granted", ok, err)
		}
		// A stale release (of a claim since taken by someone else) is ignored.
		must(t, one.ReleaseSend(ctx(), f.ID, "sms", base))
		if last, err := one.LastSend(ctx(), f.ID, "sms"); err != nil || !last.Equal(at(2*time.Second)) {
			t.Fatalf("LastSend after a stale release = %v, %v; want %v", last, err, at(2*time.Second))
		}
		// After the cooldown, claimable again.
		if ok, _, err := one.ClaimSend(ctx(), f.ID, "sms", at(32*time.Second), cool); err != nil || !ok {
			t.Fatalf("claim after the cooldown = %v, %v; want granted", ok, err)
		}
	})
}

func TestIssueSentCodeConcurrent(t *testing.T) {
	forEachEngineURL(t, func(t *testing.T, engine, url string) {
		one := open(t, url)
		if _, err := one.Migrate(ctx()); err != nil {
			t.Fatal(err)
		}
		two := open(t, url)
		dbs := []*store.DB{one, two}
		u := newUser(t, one, "u-issue", "issue@example.com")
		f := newFactor(t, one, "f-issue", u.ID, base)
		fresh := func(id string) store.SentCode {
			return store.SentCode{ID: id, FactorID: f.ID, CodeHash: "hash-" + id, SealedCode: "sealed-" + id, CreatedAt: base, ExpiresAt: at(10 * time.Minute)}
		}

		const n = 20
		ids := make([]string, n)
		concurrently(t, n, func(i int) (bool, error) {
			c, err := dbs[i%2].IssueSentCode(ctx(), fresh(store.NewID()), base, 5)
			ids[i] = c.ID
			return err == nil, err
		})
		distinct := map[string]bool{}
		for _, id := range ids {
			distinct[id] = true
		}
		rows := rawCount(t, engine, url, "sent_codes", "factor_id = ?", f.ID)
		t.Logf("%d concurrent issues on two instances: %d distinct codes, %d rows", n, len(distinct), rows)
		if len(distinct) != 1 || rows != 1 {
			t.Fatalf("%d concurrent issues gave %d distinct codes and %d rows, want 1", n, len(distinct), rows)
		}
		live, err := one.LiveSentCode(ctx(), f.ID, base, 5)
		must(t, err)
		if live.ID != ids[0] || live.Sends != 0 || !live.LastSentAt.IsZero() {
			t.Fatalf("live code = %+v, want %s, not yet sent", live, ids[0])
		}
		must(t, one.MarkSent(ctx(), live.ID, "voice", at(time.Second)))
		live, err = two.LiveSentCode(ctx(), f.ID, at(2*time.Second), 5)
		must(t, err)
		if live.Sends != 1 || live.LastChannel != "voice" || !live.LastSentAt.Equal(at(time.Second)) {
			t.Fatalf("after MarkSent: %+v", live)
		}

		// A used code is not handed out again: the next issue is fresh.
		if ok, err := one.UseSentCode(ctx(), live.ID, at(3*time.Second), 5); err != nil || !ok {
			t.Fatalf("UseSentCode = %v, %v", ok, err)
		}
		next, err := two.IssueSentCode(ctx(), fresh("c-next"), at(4*time.Second), 5)
		if err != nil || next.ID != "c-next" {
			t.Fatalf("issue after use = %+v, %v; want the fresh code", next, err)
		}
		// Nor an expired one.
		later, err := one.IssueSentCode(ctx(), fresh("c-later"), at(11*time.Minute), 5)
		if err != nil || later.ID != "c-later" {
			t.Fatalf("issue after expiry = %+v, %v; want the fresh code", later, err)
		}
		// A factor that is gone has no code.
		_, err = one.IssueSentCode(ctx(), store.SentCode{ID: "c-none", FactorID: "f-gone", CreatedAt: base, ExpiresAt: at(time.Minute)}, base, 5)
		wantNotFound(t, "IssueSentCode for a missing factor", err)
	})
}
