package api_test

import "strings"

// verifyEmail marks email as confirmed in the database, as if its owner
// had opened the verification link (two-step verification needs it).
// It goes through the store so it sends nothing and records no event.
func (e *env) verifyEmail(email string) {
	e.t.Helper()
	db := e.srv.App.DB
	u, err := db.UserByEmail(e.t.Context(), strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		e.t.Fatalf("verify %s: %v", email, err)
	}
	if err := db.MarkEmailVerified(e.t.Context(), u.ID, u.Email, e.clock.Now()); err != nil {
		e.t.Fatalf("verify %s: %v", email, err)
	}
}
