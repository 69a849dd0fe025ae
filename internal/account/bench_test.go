package account_test

import (
	"testing"

	"twostep/internal/account"
	"twostep/internal/app"
	"twostep/internal/testenv"
)

// BenchmarkSessionLookup measures Service.Authenticate for a valid session
// token on SQLite: what every signed-in request pays before its handler
// runs. The password parameters do not matter here (no hashing happens), so
// the cheap test parameters are used for the one sign-up.
//
//	go test -run='^$' -bench=SessionLookup -benchmem ./internal/account
func BenchmarkSessionLookup(b *testing.B) {
	srv := testenv.Start(b, testenv.Config(b, testenv.DatabaseURL(b, "sqlite")), app.Options{})
	svc := srv.App.Account
	c := account.Client{IP: "127.0.0.1", UserAgent: "twostep-bench"}
	_, iss, err := svc.SignUp(b.Context(), c, "lookup@example.com", "bench-lookup-passphrase-42")
	if err != nil {
		b.Fatalf("sign up: %v", err)
	}
	if _, _, err := svc.Authenticate(b.Context(), iss.Token); err != nil {
		b.Fatalf("authenticate before the loop: %v", err)
	}

	b.Run("serial", func(b *testing.B) {
		ctx := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			sess, _, err := svc.Authenticate(ctx, iss.Token)
			if err != nil {
				b.Fatalf("authenticate: %v", err)
			}
			if sess.ID != iss.Session.ID {
				b.Fatalf("authenticate returned session %s, want %s", sess.ID, iss.Session.ID)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		ctx := b.Context()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := svc.Authenticate(ctx, iss.Token); err != nil {
					b.Errorf("authenticate: %v", err)
					return
				}
			}
		})
	})
}
