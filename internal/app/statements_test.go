package app_test

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"twostep/internal/factor/totp"
	"twostep/internal/testenv"
)

// statements counts what the store runs while f does one request.
func statements(a *twoStepAccount, f func()) []string {
	var mu sync.Mutex
	var got []string
	a.srv.App.DB.Observe(func(q string) {
		mu.Lock()
		got = append(got, strings.Join(strings.Fields(q), " "))
		mu.Unlock()
	})
	f()
	a.srv.App.DB.Observe(nil)
	return got
}

var readFrom = regexp.MustCompile(`(?i)^SELECT .* FROM (\w+)`)

// reads counts the SELECTs per table.
func reads(qs []string) map[string]int {
	out := map[string]int{}
	for _, q := range qs {
		if m := readFrom.FindStringSubmatch(q); m != nil {
			out[m[1]]++
		}
	}
	return out
}

// TestTwoStepSignInStatements counts the statements of a two-step sign-in
// — the password request, then the code — and holds each row to one read
// per request: the user, the pending sign-in and the factor are read once,
// whatever else the request does (the figures are in the log: go test -v).
func TestTwoStepSignInStatements(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			a := newTwoStepAccount(t, engine)
			// The mail sender runs beside requests; its statements are not
			// theirs.
			a.srv.App.Account.StopMail()
			a.post("/api/v1/signout", nil)
			a.clock.Advance(30 * time.Second)
			password := statements(a, func() {
				if r := a.post("/api/v1/signin", a.creds); r["status"] != "second_factor_required" {
					t.Fatalf("sign-in = %v", r)
				}
			})
			code := statements(a, func() {
				a.post("/api/v1/signin/verify", map[string]string{"method_id": a.factorID, "code": totpCode(a)})
			})
			for _, step := range []struct {
				name  string
				qs    []string
				limit int
			}{{"password", password, 16}, {"code", code, 13}} {
				t.Logf("%s request: %d statements, reads per table %v", step.name, len(step.qs), reads(step.qs))
				if len(step.qs) > step.limit {
					t.Errorf("%s request ran %d statements, more than %d:\n%s", step.name, len(step.qs), step.limit, strings.Join(step.qs, "\n"))
				}
				for table, n := range reads(step.qs) {
					if n > 1 && (table == "users" || table == "pending_signins" || table == "factors") {
						t.Errorf("%s request read %s %d times, want once:\n%s", step.name, table, n, strings.Join(step.qs, "\n"))
					}
				}
			}
		})
	}
}

func totpCode(a *twoStepAccount) string { return totp.Code(a.key, a.clock.Now(), a.params) }
