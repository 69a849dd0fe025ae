package api_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/testenv"
)

// TestClientAddressBehindProxy: behind a trusted proxy (here the test's
// loopback peer) the client is the right-most untrusted X-Forwarded-For
// address across every header line. Addresses a client writes to the left,
// or on an earlier line, never buy it a fresh sign-up budget; a port does
// not either; and an IPv6 client is counted per /64.
func TestClientAddressBehindProxy(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
			cfg.Server.TrustProxy = config.Proxies{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
			cfg.Limits.SignupPerAddress.Limit = 3
			srv := testenv.Start(t, cfg, app.Options{Now: testenv.NewClock().Now})
			n := 0
			signup := func(xff ...string) int {
				t.Helper()
				n++
				body := fmt.Sprintf(`{"email":"u%d@example.com","password":"correct horse battery staple"}`, n)
				req, _ := http.NewRequest("POST", srv.BaseURL()+"/api/v1/signup", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				for _, v := range xff {
					req.Header.Add("X-Forwarded-For", v)
				}
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			for i := 1; i <= 4; i++ {
				// The client invents new addresses on each request, on a
				// header line of its own; the proxy adds a line with the
				// real one, with a port.
				want := http.StatusCreated
				if i == 4 {
					want = http.StatusTooManyRequests
				}
				spoof := fmt.Sprintf("198.51.100.%d, 198.51.100.%d", i, 100+i)
				if got := signup(spoof, fmt.Sprintf("203.0.113.7:%d", 40000+i)); got != want {
					t.Fatalf("sign-up %d from 203.0.113.7 claiming %s: status %d, want %d", i, spoof, got, want)
				}
			}
			if got := signup("203.0.113.8"); got != http.StatusCreated {
				t.Fatalf("sign-up from another client: status %d, want 201", got)
			}
			for i := 1; i <= 4; i++ {
				want := http.StatusCreated
				if i == 4 {
					want = http.StatusTooManyRequests
				}
				addr := fmt.Sprintf("[2001:db8:1:2::%x]:443", i*4097)
				if got := signup(addr); got != want {
					t.Fatalf("sign-up %d from %s (same /64): status %d, want %d", i, addr, got, want)
				}
			}
			if got := signup("2001:db8:1:3::1"); got != http.StatusCreated {
				t.Fatalf("sign-up from the next /64: status %d, want 201", got)
			}
		})
	}
}
