package browsertest

import (
	"testing"

	"twostep/internal/testenv"
)

// verifyEmail marks email as confirmed, as if its owner had opened the
// verification link: two-step verification needs a confirmed address.
func verifyEmail(t *testing.T, srv *testenv.Server, email string) {
	t.Helper()
	u, err := srv.App.DB.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatalf("verify %s: %v", email, err)
	}
	if err := srv.App.DB.MarkEmailVerified(t.Context(), u.ID, u.Email, clock.Now()); err != nil {
		t.Fatalf("verify %s: %v", email, err)
	}
}
