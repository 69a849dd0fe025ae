package account_test

import (
	"context"
	"fmt"
	"testing"

	"twostep/internal/account"
	"twostep/internal/app"
	"twostep/internal/delivery"
	"twostep/internal/testenv"
)

type discard struct{}

func (discard) Send(context.Context, delivery.Message) error { return nil }

// BenchmarkRequestReset compares a reset request for an address with an
// account to one for an address without: both should cost the same, or
// the response time tells which addresses have accounts. The mail loop is
// stopped, so what is measured is the request itself (the mail leaves in
// the background).
//
//	go test -run='^$' -bench=RequestReset -benchtime=2000x ./internal/account
func BenchmarkRequestReset(b *testing.B) {
	for _, engine := range testenv.Engines {
		b.Run(engine, func(b *testing.B) {
			cfg := testenv.Config(b, testenv.DatabaseURL(b, engine))
			cfg.Limits.ResetPerAddress.Limit = 1 << 30
			cfg.Limits.ResetPerAccount.Limit = 1 << 30
			srv := testenv.Start(b, cfg, app.Options{Sender: discard{}})
			svc := srv.App.Account
			svc.StopMail()
			c := account.Client{IP: "127.0.0.1", UserAgent: "twostep-bench"}
			if _, _, err := svc.SignUp(b.Context(), c, "known@example.com", "bench-reset-passphrase-42"); err != nil {
				b.Fatal(err)
			}
			for _, addr := range []string{"known@example.com", "unknown@example.com"} {
				b.Run(map[string]string{"known@example.com": "known", "unknown@example.com": "unknown"}[addr], func(b *testing.B) {
					for b.Loop() {
						if err := svc.RequestReset(b.Context(), c, addr); err != nil {
							b.Fatal(fmt.Errorf("reset %s: %w", addr, err))
						}
					}
				})
			}
		})
	}
}
