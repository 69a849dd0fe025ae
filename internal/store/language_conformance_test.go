package store_test

import (
	"errors"
	"testing"
	"time"

	"twostep/internal/store"
)

// TestLanguageConformance: on both engines, a new account has no saved
// language; one saved is read with the user by id, by e-mail and with a
// session; "" clears it; an unknown account is ErrNotFound.
func TestLanguageConformance(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		u := newUser(t, db, "u-lang", "lang@example.com")
		if u.Language != "" {
			t.Fatalf("new user's language = %q, want none", u.Language)
		}
		must(t, db.SetLanguage(ctx(), u.ID, "pt-BR"))
		byID, err := db.UserByID(ctx(), u.ID)
		must(t, err)
		byEmail, err := db.UserByEmail(ctx(), u.Email)
		must(t, err)
		if byID.Language != "pt-BR" || byEmail.Language != "pt-BR" {
			t.Fatalf("language by id %q, by e-mail %q, want pt-BR", byID.Language, byEmail.Language)
		}
		now := time.Unix(1_700_000_000, 0)
		must(t, db.CreateSession(ctx(), store.Session{ID: "s-lang", TokenHash: "h-lang", UserID: u.ID, AAL: 1,
			CreatedAt: now, AuthenticatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}))
		_, su, err := db.SessionByTokenHash(ctx(), "h-lang")
		must(t, err)
		if su.Language != "pt-BR" {
			t.Fatalf("language with the session = %q, want pt-BR", su.Language)
		}
		must(t, db.SetLanguage(ctx(), u.ID, ""))
		byID, err = db.UserByID(ctx(), u.ID)
		must(t, err)
		if byID.Language != "" {
			t.Fatalf("language after clearing = %q, want none", byID.Language)
		}
		if err := db.SetLanguage(ctx(), "nobody", "de"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown account: err = %v, want ErrNotFound", err)
		}
	})
}
