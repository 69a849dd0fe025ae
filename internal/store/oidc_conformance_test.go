package store_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"twostep/internal/store"
)

// The OpenID Connect tables, on every engine: apps, authorization
// requests and their single-use codes, tokens with rotation and
// revocation, signing keys and consents.

func TestOIDCClients(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		pub := store.OIDCClient{ID: "c-pub", Name: "Loyalty", RedirectURIs: []string{"https://a.example/cb", "http://127.0.0.1:8080/cb"}, IDTokenAlg: "ES256", CreatedAt: at(0)}
		conf := store.OIDCClient{ID: "c-conf", Name: "Shop Admin", SecretHash: "h", RedirectURIs: []string{"https://b.example/cb"},
			PostLogoutRedirectURIs: []string{"https://b.example/bye"}, FirstParty: true, IDTokenAlg: "RS256", CreatedAt: at(time.Second)}
		must(t, db.CreateOIDCClient(ctx(), pub))
		must(t, db.CreateOIDCClient(ctx(), conf))
		if err := db.CreateOIDCClient(ctx(), pub); err == nil {
			t.Error("a duplicate client id was stored")
		}
		got, err := db.OIDCClient(ctx(), "c-conf")
		must(t, err)
		if d := rowDiff(got, conf); d != "" {
			t.Errorf("OIDCClient: %s", d)
		}
		if !pub.Public() || conf.Public() {
			t.Error("Public() is wrong")
		}
		all, err := db.OIDCClients(ctx())
		must(t, err)
		if len(all) != 2 || all[0].ID != "c-pub" || all[1].ID != "c-conf" {
			t.Errorf("OIDCClients: %+v", all)
		}
		must(t, db.DeleteOIDCClient(ctx(), "c-pub"))
		wantNotFound(t, "deleted client", func() error { _, err := db.OIDCClient(ctx(), "c-pub"); return err }())
		wantNotFound(t, "delete again", db.DeleteOIDCClient(ctx(), "c-pub"))
	})
}

func newAuthRequest(t *testing.T, db *store.DB, id string) store.AuthRequest {
	t.Helper()
	a := store.AuthRequest{ID: id, ClientID: "c", Request: `{"scope":"openid"}`, CreatedAt: at(0), ExpiresAt: at(30 * time.Minute)}
	must(t, db.CreateAuthRequest(ctx(), a))
	return a
}

func TestAuthRequestsAndCodes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		a := newAuthRequest(t, db, "ar-1")
		got, err := db.AuthRequestByID(ctx(), "ar-1", at(time.Minute))
		must(t, err)
		if d := rowDiff(got, a); d != "" {
			t.Errorf("AuthRequestByID: %s", d)
		}
		wantNotFound(t, "expired request", func() error { _, err := db.AuthRequestByID(ctx(), "ar-1", at(time.Hour)); return err }())
		// No code before the request is done.
		wantNotFound(t, "code for a request not done", db.SaveAuthCode(ctx(), "ar-1", "code-h", at(time.Minute), at(2*time.Minute)))

		done := a
		done.UserID, done.SessionID, done.AuthTime, done.AMR, done.ACR, done.Done = "u", "s", at(time.Second), []string{"pwd", "otp", "mfa"}, "aal2", true
		must(t, db.CompleteAuthRequest(ctx(), done, at(time.Minute)))
		must(t, db.SaveAuthCode(ctx(), "ar-1", "code-h", at(time.Minute), at(2*time.Minute)))
		wantNotFound(t, "a second code", db.SaveAuthCode(ctx(), "ar-1", "code-h2", at(time.Minute), at(2*time.Minute)))
		wantNotFound(t, "completing after the code", db.CompleteAuthRequest(ctx(), done, at(time.Minute)))

		got, err = db.ConsumeAuthCode(ctx(), "code-h", at(90*time.Second))
		must(t, err)
		done.ExpiresAt, done.CodeUsedAt = at(2*time.Minute), at(90*time.Second)
		if d := rowDiff(got, done); d != "" {
			t.Errorf("ConsumeAuthCode: %s", d)
		}
		again, err := db.ConsumeAuthCode(ctx(), "code-h", at(100*time.Second))
		if !errors.Is(err, store.ErrCodeUsed) || again.ID != "ar-1" {
			t.Errorf("second ConsumeAuthCode: %v %q, want ErrCodeUsed with the request", err, again.ID)
		}
		wantNotFound(t, "unknown code", func() error { _, err := db.ConsumeAuthCode(ctx(), "nope", at(time.Minute)); return err }())

		// An unused code past its minute is gone.
		b := newAuthRequest(t, db, "ar-2")
		b.Done, b.UserID = true, "u"
		must(t, db.CompleteAuthRequest(ctx(), b, at(time.Minute)))
		must(t, db.SaveAuthCode(ctx(), "ar-2", "code-2", at(time.Minute), at(2*time.Minute)))
		wantNotFound(t, "expired code", func() error { _, err := db.ConsumeAuthCode(ctx(), "code-2", at(3*time.Minute)); return err }())

		// A request answered with an error is gone.
		newAuthRequest(t, db, "ar-3")
		must(t, db.ExpireAuthRequest(ctx(), "ar-3", at(time.Minute)))
		wantNotFound(t, "expired by refusal", func() error { _, err := db.AuthRequestByID(ctx(), "ar-3", at(time.Minute)); return err }())
	})
}

// TestConsumeAuthCodeConcurrent: of many simultaneous exchanges of one
// code, exactly one gets the request.
func TestConsumeAuthCodeConcurrent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		a := newAuthRequest(t, db, "ar-race")
		a.Done, a.UserID = true, "u"
		must(t, db.CompleteAuthRequest(ctx(), a, at(time.Second)))
		must(t, db.SaveAuthCode(ctx(), "ar-race", "code-race", at(time.Second), at(time.Minute)))
		const n = 20
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = db.ConsumeAuthCode(ctx(), "code-race", at(2*time.Second))
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrCodeUsed):
				t.Errorf("exchange %d: %v, want nil or ErrCodeUsed", i, err)
			}
		}
		if ok != 1 {
			t.Errorf("successful exchanges: %d, want 1", ok)
		}
	})
}

func TestOIDCTokens(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		access := store.OIDCToken{ID: "t-a", Kind: store.TokenAccess, FamilyID: "f1", AuthRequestID: "ar", ClientID: "c", UserID: "u",
			Scopes: []string{"openid", "email"}, Audience: []string{"c"}, AMR: []string{"pwd"}, ACR: "aal1", AuthTime: at(0), CreatedAt: at(0), ExpiresAt: at(15 * time.Minute)}
		refresh := access
		refresh.ID, refresh.Kind, refresh.TokenHash, refresh.ExpiresAt = "t-r", store.TokenRefresh, "rh1", at(24*time.Hour)
		must(t, db.CreateOIDCTokens(ctx(), "", at(0), access, refresh))
		got, err := db.OIDCTokenByID(ctx(), "t-a")
		must(t, err)
		if d := rowDiff(got, access); d != "" {
			t.Errorf("OIDCTokenByID: %s", d)
		}
		got, err = db.RefreshTokenByHash(ctx(), "rh1")
		must(t, err)
		if d := rowDiff(got, refresh); d != "" {
			t.Errorf("RefreshTokenByHash: %s", d)
		}
		wantNotFound(t, "access token by hash", func() error { _, err := db.RefreshTokenByHash(ctx(), ""); return err }())

		// Rotation: the old refresh token is marked used with the new
		// ones stored; a second rotation of it stores nothing.
		next := refresh
		next.ID, next.TokenHash, next.CreatedAt = "t-r2", "rh2", at(time.Minute)
		must(t, db.CreateOIDCTokens(ctx(), "t-r", at(time.Minute), next))
		again := next
		again.ID, again.TokenHash = "t-r3", "rh3"
		if err := db.CreateOIDCTokens(ctx(), "t-r", at(2*time.Minute), again); !errors.Is(err, store.ErrTokenUsed) {
			t.Errorf("second rotation: %v, want ErrTokenUsed", err)
		}
		wantNotFound(t, "tokens of a lost rotation", func() error { _, err := db.OIDCTokenByID(ctx(), "t-r3"); return err }())
		old, err := db.OIDCTokenByID(ctx(), "t-r")
		must(t, err)
		if !old.UsedAt.Equal(at(time.Minute)) {
			t.Errorf("used_at %v", old.UsedAt)
		}

		// Revoking the family revokes every token in it, and no other.
		other := access
		other.ID, other.FamilyID = "t-other", "f2"
		must(t, db.CreateOIDCTokens(ctx(), "", at(0), other))
		must(t, db.RevokeOIDCFamily(ctx(), "f1", at(3*time.Minute)))
		for _, id := range []string{"t-a", "t-r", "t-r2"} {
			tok, err := db.OIDCTokenByID(ctx(), id)
			must(t, err)
			if !tok.RevokedAt.Equal(at(3 * time.Minute)) {
				t.Errorf("%s not revoked with its family", id)
			}
		}
		if tok, _ := db.OIDCTokenByID(ctx(), "t-other"); !tok.RevokedAt.IsZero() {
			t.Error("another family was revoked")
		}
		// A revoked refresh token cannot be rotated.
		if err := db.CreateOIDCTokens(ctx(), "t-r2", at(4*time.Minute), again); !errors.Is(err, store.ErrTokenUsed) {
			t.Errorf("rotating a revoked token: %v", err)
		}
	})
}

// TestRotateRefreshConcurrent: of many simultaneous refreshes with one
// token, exactly one stores new tokens.
func TestRotateRefreshConcurrent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		r := store.OIDCToken{ID: "r0", Kind: store.TokenRefresh, TokenHash: "h0", FamilyID: "f", ClientID: "c", UserID: "u", CreatedAt: at(0), ExpiresAt: at(time.Hour)}
		must(t, db.CreateOIDCTokens(ctx(), "", at(0), r))
		const n = 16
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				next := r
				next.ID, next.TokenHash = "r-"+string(rune('a'+i)), "h-"+string(rune('a'+i))
				errs[i] = db.CreateOIDCTokens(ctx(), "r0", at(time.Second), next)
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrTokenUsed):
				t.Errorf("refresh %d: %v", i, err)
			}
		}
		if ok != 1 {
			t.Errorf("successful rotations: %d, want 1", ok)
		}
	})
}

// TestRevokeSessionsRevokesAppTokens: ending all of a person's sessions
// ends their app tokens; ending the others (keeping one) does not.
func TestRevokeSessionsRevokesAppTokens(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		u := newUser(t, db, "u-apps", "apps@example.com")
		tok := store.OIDCToken{ID: "t1", Kind: store.TokenAccess, FamilyID: "f", ClientID: "c", UserID: u.ID, CreatedAt: at(0), ExpiresAt: at(time.Hour)}
		must(t, db.CreateOIDCTokens(ctx(), "", at(0), tok))
		_, err := db.RevokeSessions(ctx(), u.ID, "keep-me", at(time.Minute))
		must(t, err)
		if got, _ := db.OIDCTokenByID(ctx(), "t1"); !got.RevokedAt.IsZero() {
			t.Error("signing out the other sessions revoked app tokens")
		}
		_, err = db.RevokeSessions(ctx(), u.ID, "", at(2*time.Minute))
		must(t, err)
		if got, _ := db.OIDCTokenByID(ctx(), "t1"); !got.RevokedAt.Equal(at(2 * time.Minute)) {
			t.Error("signing out everywhere left an app token live")
		}
	})
}

func TestSigningKeys(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		rs := store.SigningKey{ID: "k1", Alg: "RS256", Sealed: "s1", CreatedAt: at(0)}
		es := store.SigningKey{ID: "k2", Alg: "ES256", Sealed: "s2", CreatedAt: at(0)}
		must(t, db.AddSigningKeys(ctx(), true, at(0), rs, es))
		// A concurrent first start adds nothing more.
		must(t, db.AddSigningKeys(ctx(), true, at(0), store.SigningKey{ID: "k-late", Alg: "RS256", Sealed: "x", CreatedAt: at(0)}))
		keys, err := db.SigningKeys(ctx(), at(-time.Hour))
		must(t, err)
		if len(keys) != 2 {
			t.Fatalf("keys %+v, want the first two", keys)
		}
		// Rotation retires the RS256 key only; it stays listed until
		// the retention window passes it.
		must(t, db.AddSigningKeys(ctx(), false, at(time.Hour), store.SigningKey{ID: "k3", Alg: "RS256", Sealed: "s3", CreatedAt: at(time.Hour)}))
		keys, err = db.SigningKeys(ctx(), at(30*time.Minute))
		must(t, err)
		retired := map[string]bool{}
		for _, k := range keys {
			retired[k.ID] = !k.RetiredAt.IsZero()
		}
		if len(keys) != 3 || !retired["k1"] || retired["k2"] || retired["k3"] {
			t.Errorf("after rotation: %+v", keys)
		}
		keys, err = db.SigningKeys(ctx(), at(2*time.Hour))
		must(t, err)
		if len(keys) != 2 {
			t.Errorf("a retired key outlived its window: %+v", keys)
		}
	})
}

func TestConsents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		must(t, db.GrantConsent(ctx(), "u", "c1", []string{"openid"}, at(0)))
		must(t, db.GrantConsent(ctx(), "u", "c1", []string{"openid", "email"}, at(time.Minute)))
		must(t, db.GrantConsent(ctx(), "u", "c2", []string{"openid"}, at(2*time.Minute)))
		got, err := db.Consents(ctx(), "u")
		must(t, err)
		want := []store.Consent{
			{UserID: "u", ClientID: "c2", Scopes: []string{"openid"}, CreatedAt: at(2 * time.Minute), UpdatedAt: at(2 * time.Minute)},
			{UserID: "u", ClientID: "c1", Scopes: []string{"openid", "email"}, CreatedAt: at(0), UpdatedAt: at(time.Minute)},
		}
		if len(got) != len(want) {
			t.Fatalf("Consents: %+v", got)
		}
		for i := range want {
			if d := rowDiff(got[i], want[i]); d != "" {
				t.Errorf("Consents[%d]: %s", i, d)
			}
		}
		tok := store.OIDCToken{ID: "t", Kind: store.TokenAccess, FamilyID: "f", ClientID: "c1", UserID: "u", CreatedAt: at(0), ExpiresAt: at(time.Hour)}
		must(t, db.CreateOIDCTokens(ctx(), "", at(0), tok))
		must(t, db.RevokeConsent(ctx(), "u", "c1", at(3*time.Minute)))
		wantNotFound(t, "revoke again", db.RevokeConsent(ctx(), "u", "c1", at(3*time.Minute)))
		if got, _ := db.OIDCTokenByID(ctx(), "t"); got.RevokedAt.IsZero() {
			t.Error("removing an app's access left its token live")
		}
	})
}
