package api_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/testenv"
)

// fireAll sends n requests at once, request i through envs[i%len(envs)]
// with the client clients(i) and the body body(i), and returns the
// replies in order.
func fireAll(t *testing.T, envs []*env, n int, clients func(i int) *http.Client, path string, body func(i int) any) []reply {
	t.Helper()
	replies := make([]reply, n)
	var wg sync.WaitGroup
	startLine := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-startLine
			replies[i] = envs[i%len(envs)].call(clients(i), "POST", path, body(i))
		}(i)
	}
	close(startLine)
	wg.Wait()
	return replies
}

// fire is fireAll counting the replies by status and problem code
// ("401 invalid_code", "200 ").
func fire(t *testing.T, envs []*env, n int, clients func(i int) *http.Client, path string, body func(i int) any) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, r := range fireAll(t, envs, n, clients, path, body) {
		got[fmt.Sprintf("%d %s", r.Status, r.str("code"))]++
	}
	return got
}

// instances starts n twostep servers on one database (PostgreSQL when n >
// 1) sharing one clock and one secret key.
func instances(t *testing.T, engine string, n int, adjust func(*config.Config)) []*env {
	t.Helper()
	clock := testenv.NewClock()
	cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
	if adjust != nil {
		adjust(&cfg)
	}
	var out []*env
	for i := 0; i < n; i++ {
		out = append(out, &env{t: t, srv: testenv.Start(t, cfg, app.Options{Now: clock.Now}), clock: clock})
	}
	return out
}

// clusters are the set-ups every concurrency test runs on: one instance on
// each engine, and two instances on one PostgreSQL.
var clusters = []struct {
	name   string
	engine string
	n      int
}{{"sqlite", "sqlite", 1}, {"postgres", "postgres", 1}, {"postgres-2-instances", "postgres", 2}}

// TestPasswordThrottleHoldsUnderConcurrency fires bursts of wrong
// passwords — and the right one — at one account from many fresh clients
// at once. Every attempt is reserved before hashing, so no more are
// evaluated (answered 401 or 200, rather than 429) than the same attempts
// made one by one: the free ones and the one that sets the first delay.
func TestPasswordThrottleHoldsUnderConcurrency(t *testing.T) {
	for _, cl := range clusters {
		t.Run(cl.name, func(t *testing.T) {
			envs := instances(t, cl.engine, cl.n, nil)
			e := envs[0]
			email := "burst@example.com"
			e.signup(email)
			free := e.srv.App.Config.Limits.PasswordPerAccount.Free
			const n = 200
			clients := make([]*http.Client, n)
			for i := range clients {
				clients[i] = envs[i%len(envs)].srv.Client()
			}
			guess := func(i int) any {
				pw := fmt.Sprintf("wrong guess number %d", i)
				if i == n/2 {
					pw = goodPassword
				}
				return map[string]string{"email": email, "password": pw}
			}
			got := fire(t, envs, n, func(i int) *http.Client { return clients[i] }, "/api/v1/signin", guess)
			evaluated := got["401 invalid_credentials"] + got["200 "]
			t.Logf("burst of %d sign-ins (%d instance(s)): %d evaluated, %v", n, cl.n, evaluated, got)
			if wrong := got["401 invalid_credentials"]; wrong > free+1 || wrong == 0 {
				t.Fatalf("%d of %d concurrent wrong passwords were evaluated, want 1 to %d (the free ones and the first delayed): %v", wrong, n, free+1, got)
			}
			if evaluated+got["429 rate_limited"] != n {
				t.Fatalf("answers other than 401/200/429: %v", got)
			}

			// When the first delay has passed, a second burst gets exactly
			// one more attempt (which sets the next, doubled delay).
			e.advance(e.srv.App.Config.Limits.PasswordPerAccount.Base.D())
			got = fire(t, envs, 50, func(i int) *http.Client { return clients[i] }, "/api/v1/signin", guess)
			evaluated = got["401 invalid_credentials"] + got["200 "]
			t.Logf("second burst of 50 after the delay: %d evaluated, %v", evaluated, got)
			if evaluated != 1 {
				t.Fatalf("after the first delay, %d of 50 concurrent attempts were evaluated, want 1: %v", evaluated, got)
			}
		})
	}
}

// TestSecondStepLimitsHoldUnderConcurrency fires bursts of wrong codes at
// one pending sign-in, then at many pending sign-ins of one account, with
// the right code among them, on one and two instances.
func TestSecondStepLimitsHoldUnderConcurrency(t *testing.T) {
	for _, cl := range clusters {
		t.Run(cl.name, func(t *testing.T) {
			envs := instances(t, cl.engine, cl.n, nil)
			e := envs[0]
			en := e.enroll("codes-burst@example.com")
			lim := e.srv.App.Config.Limits
			perPending := e.srv.App.Config.TwoStep.PendingAttempts

			// One pending sign-in, 50 wrong codes at once: no more than its
			// attempts are checked; the rest find it void.
			one := envs[0].srv.Client()
			e.password(one, en.email)
			got := fire(t, envs[:1], 50, func(int) *http.Client { return one }, "/api/v1/signin/verify", func(i int) any {
				return map[string]any{"method_id": en.totpID, "code": fmt.Sprintf("%06d", 100000+i)}
			})
			evaluated := got["401 invalid_code"]
			t.Logf("50 wrong codes on one pending sign-in: %d evaluated, %v", evaluated, got)
			if evaluated > perPending || evaluated == 0 {
				t.Fatalf("%d of 50 codes were checked on one pending sign-in, want at most %d: %v", evaluated, perPending, got)
			}

			// The account's budget is what is left of its hourly limit;
			// fresh pending sign-ins on every instance, 60 wrong codes and
			// the right one all at once.
			left := lim.CodePerAccount.Limit - evaluated - 1 // enroll's wrong code counted too
			var clients []*http.Client
			for i := 0; i < 12; i++ {
				x := envs[i%len(envs)]
				c := x.srv.Client()
				x.password(c, en.email)
				clients = append(clients, c)
			}
			e.advance(30 * time.Second)
			right := testenv.OathCode(t, en.secret, e.clock.Now())
			const n = 61
			got = fire(t, envs, n, func(i int) *http.Client { return clients[i%len(clients)] }, "/api/v1/signin/verify", func(i int) any {
				code := fmt.Sprintf("%06d", 200000+i)
				if i == n-1 {
					code = right
				}
				return map[string]any{"method_id": en.totpID, "code": code}
			})
			evaluated = got["401 invalid_code"] + got["200 "]
			t.Logf("%d codes over %d pending sign-ins (%d instance(s)), %d left in the hourly budget: %d evaluated, %v", n, len(clients), cl.n, left, evaluated, got)
			// The right code, if checked, gave its unit back: the wrong ones
			// are what the budget bounds.
			if wrong := got["401 invalid_code"]; wrong > left {
				t.Fatalf("%d wrong codes were checked, but only %d were left in the account's hourly budget: %v", wrong, left, got)
			}
			// Spend what is left one by one (the right code, if it was
			// checked, gave its unit back); then even the right code is
			// refused, on every instance.
			late := envs[len(envs)-1]
			c := late.srv.Client()
			late.password(c, en.email)
			for i := 0; ; i++ {
				r := late.call(c, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": "000000"})
				if r.Status == 429 {
					break
				}
				if i > lim.CodePerAccount.Limit {
					t.Fatalf("the hourly budget never ran out: %s", r.Body)
				}
				if r.str("code") == "signin_expired" {
					late.password(c, en.email)
				}
			}
			e.advance(30 * time.Second)
			for _, x := range envs {
				c := x.srv.Client()
				x.password(c, en.email)
				x.want(x.call(c, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": testenv.OathCode(t, en.secret, e.clock.Now())}), 429, "rate_limited")
			}
		})
	}
}
