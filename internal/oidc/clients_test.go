package oidc_test

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"twostep/internal/oidc"
	"twostep/internal/secret"
	"twostep/internal/store"
	"twostep/internal/testenv"
)

func openDB(t *testing.T, engine string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), testenv.DatabaseURL(t, engine), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{22,}$`)

func TestAddClientStoresHashedSecret(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			db := openDB(t, engine)
			now := testenv.ClockStart()
			spec := oidc.ClientSpec{
				Name:                   "  Wiki  ",
				RedirectURIs:           []string{"https://wiki.example.com/callback", "http://127.0.0.1:8000/cb?x=1"},
				PostLogoutRedirectURIs: []string{"https://wiki.example.com/"},
				FirstParty:             true,
			}
			c, sec, err := oidc.AddClient(t.Context(), db, spec, now)
			if err != nil {
				t.Fatal(err)
			}
			if !clientIDPattern.MatchString(c.ID) || !secret.WellFormedToken(sec) {
				t.Fatalf("client_id %q, secret %q: want a URL-safe id of 22+ characters and a token", c.ID, sec)
			}
			got, err := db.OIDCClient(t.Context(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "Wiki" || got.SecretHash != secret.Hash(sec) || got.Public() || !got.FirstParty ||
				!slices.Equal(got.RedirectURIs, spec.RedirectURIs) || !slices.Equal(got.PostLogoutRedirectURIs, spec.PostLogoutRedirectURIs) ||
				!got.CreatedAt.Equal(now) {
				t.Fatalf("stored %+v\nwant name Wiki, the secret's hash, first-party, the URIs, created %v", got, now)
			}

			pub, sec2, err := oidc.AddClient(t.Context(), db, oidc.ClientSpec{Name: "SPA", RedirectURIs: []string{"https://spa.example.com/"}, Public: true}, now)
			if err != nil || sec2 != "" || !pub.Public() || pub.ID == c.ID {
				t.Fatalf("public app: %+v, secret %q, %v; want no secret and a new id", pub, sec2, err)
			}

			if err := oidc.RemoveClient(t.Context(), db, pub.ID); err != nil {
				t.Fatal(err)
			}
			err = oidc.RemoveClient(t.Context(), db, pub.ID)
			if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "no app with client_id \""+pub.ID+"\"") {
				t.Fatalf("removing it again: %v, want it to say there is no such app", err)
			}
			if list, _ := db.OIDCClients(t.Context()); len(list) != 1 || list[0].ID != c.ID {
				t.Fatalf("apps left: %+v, want the first only", list)
			}
		})
	}
}

func TestAddClientRefusesBadInput(t *testing.T) {
	ok := "https://app.example.com/callback"
	long := "https://app.example.com/" + strings.Repeat("a", 2000)
	tests := []struct {
		name   string
		spec   oidc.ClientSpec
		field  string // the refused part
		reason string // in the message
	}{
		{"no name", oidc.ClientSpec{RedirectURIs: []string{ok}}, "name", "required"},
		{"blank name", oidc.ClientSpec{Name: " \t ", RedirectURIs: []string{ok}}, "name", "required"},
		{"long name", oidc.ClientSpec{Name: strings.Repeat("é", 101), RedirectURIs: []string{ok}}, "name", "longer than 100"},
		{"bad utf-8 name", oidc.ClientSpec{Name: "Wiki\xff", RedirectURIs: []string{ok}}, "name", "UTF-8"},
		{"control in name", oidc.ClientSpec{Name: "Wi\x1bki", RedirectURIs: []string{ok}}, "name", "control"},
		{"no redirect", oidc.ClientSpec{Name: "Wiki"}, "redirect URI", "at least one"},
		{"empty redirect", oidc.ClientSpec{Name: "Wiki", RedirectURIs: []string{""}}, "redirect URI", "empty"},
		{"relative", oidc.ClientSpec{Name: "Wiki", RedirectURIs: []string{"/callback"}}, "redirect URI", "absolute"},
		{"no scheme", oidc.ClientSpec{Name: "Wiki", RedirectURIs: []string{"app.example.com/cb"}}, "redirect URI", "absolute"},
		{"javascript", oidc.ClientSpec{Name: "Wiki", RedirectURIs: []string{"javascript:alert(1)"}}, "redirect URI", "absolute http"},
		{"custom scheme", oidc.ClientSpec{Name: "Wiki", RedirectURIs: []string{"com.example.app:/cb"}}, "redirect URI", "absolute http"},
		{"no host", oidc.ClientSpec{Name: "Wiki", RedirectURIs: []string{"https:///cb"}}, "redirect URI", "host"},
		{"opaque", oidc.ClientSpec{Name: "Wiki", RedirectURIs: []string{"https:app.example.com"}}, "redirect URI", "host"},
		{"fragment", oidc.ClientSpec{Name: "Wiki", RedirectURIs: []string{ok + "#x"}}, "redirect URI", "fragment"},
		{"empty fragment", oidc.ClientSpec{Name: "Wiki", RedirectURIs: []string{ok + "#"}}, "redirect URI", "fragment"},
		{"userinfo", oidc.ClientSpec{Name: "Wiki", RedirectURIs: []string{"https://me:pw@app.example.com/cb"}}, "redirect URI", "password"},
		{"space", oidc.ClientSpec{Name: "Wiki", RedirectURIs: []string{"https://app.example.com/a b"}}, "redirect URI", "space"},
		{"too long", oidc.ClientSpec{Name: "Wiki", RedirectURIs: []string{long}}, "redirect URI", "longer than 2000"},
		{"duplicate", oidc.ClientSpec{Name: "Wiki", RedirectURIs: []string{ok, ok}}, "redirect URI", "twice"},
		{"bad logout", oidc.ClientSpec{Name: "Wiki", RedirectURIs: []string{ok}, PostLogoutRedirectURIs: []string{"javascript:void(0)"}}, "post-logout redirect URI", "absolute http"},
		{"logout fragment", oidc.ClientSpec{Name: "Wiki", RedirectURIs: []string{ok}, PostLogoutRedirectURIs: []string{"https://app.example.com/#bye"}}, "post-logout redirect URI", "fragment"},
		{"duplicate logout", oidc.ClientSpec{Name: "Wiki", RedirectURIs: []string{ok}, PostLogoutRedirectURIs: []string{ok, ok}}, "post-logout redirect URI", "twice"},
		{"algorithm", oidc.ClientSpec{Name: "Wiki", RedirectURIs: []string{ok}, IDTokenAlg: "HS256"}, "ID token algorithm", "RS256 or ES256"},
	}
	db := openDB(t, "sqlite")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, sec, err := oidc.AddClient(t.Context(), db, tt.spec, testenv.ClockStart())
			var invalid *oidc.InvalidClientError
			if !errors.As(err, &invalid) {
				t.Fatalf("err = %v, want an InvalidClientError", err)
			}
			if invalid.Field != tt.field || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %q (field %q), want field %q and %q in the message", err, invalid.Field, tt.field, tt.reason)
			}
			// The message names the refused value (shortened when long).
			for _, v := range append(tt.spec.RedirectURIs, tt.spec.PostLogoutRedirectURIs...) {
				if invalid.Field != "name" && v != "" && v != ok && len(v) < 100 && !strings.Contains(err.Error(), v) {
					t.Errorf("err = %q, want it to name %q", err, v)
				}
			}
			if c.ID != "" || sec != "" {
				t.Errorf("refused app returned id %q, secret %q", c.ID, sec)
			}
		})
	}
	if list, err := db.OIDCClients(t.Context()); err != nil || len(list) != 0 {
		t.Fatalf("apps after refusals: %+v, %v; want none", list, err)
	}
}

// TestRetiredKeysOutliveIDTokens pins what rotate-signing-key tells the
// operator: the old keys stay published longer than an ID token lives.
func TestRetiredKeysOutliveIDTokens(t *testing.T) {
	if oidc.RetiredKeysPublishedFor <= time.Hour {
		t.Fatalf("retired keys published for %v, want more than the ID token's hour", oidc.RetiredKeysPublishedFor)
	}
}
