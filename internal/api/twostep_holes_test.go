package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/testenv"
)

// TestClockDriftHintIsNoOracle guesses a code that matches a step two
// minutes ahead: the owner still hears that the phone's clock looks off,
// but the step is burned, so when it comes round the code is refused.
func TestClockDriftHintIsNoOracle(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		en := e.enroll("drift@example.com")
		c := e.srv.Client()
		e.password(c, en.email)
		e.advance(30 * time.Second)
		ahead := testenv.OathCode(t, en.secret, e.clock.Now().Add(4*30*time.Second))
		r := e.call(c, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": ahead})
		e.want(r, 401, "invalid_code")
		if !strings.Contains(r.str("detail"), "ahead") {
			t.Fatalf("no clock hint for a code two minutes ahead: %s", r.Body)
		}
		// 90 s later that step is one step ahead: inside the window, and
		// it would be accepted if it had not been burned.
		e.advance(90 * time.Second)
		if now := testenv.OathCode(t, en.secret, e.clock.Now().Add(30*time.Second)); now != ahead {
			t.Fatalf("test set-up: the guessed step is not one step ahead now")
		}
		e.want(e.call(c, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": ahead}), 401, "invalid_code")
		// The owner's current code still works.
		e.want(e.call(c, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": testenv.OathCode(t, en.secret, e.clock.Now())}), 200, "")
	})
}

// TestPendingMethodBelongsToItsSession: a session that never stepped up
// cannot see or confirm a method another session is adding, and
// confirming a new method is never a step-up.
func TestPendingMethodBelongsToItsSession(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		en := e.enroll("owner@example.com")
		a := en.client
		// b signs in fully, then its step-up goes stale.
		b := e.srv.Client()
		e.password(b, en.email)
		e.advance(30 * time.Second)
		e.want(e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": testenv.OathCode(t, en.secret, e.clock.Now())}), 200, "")
		e.advance(11 * time.Minute)

		// a (signed up with the password alone) steps up with the app,
		// which makes it a two-factor session, and starts adding a
		// second app.
		e.wantAMR(a, "pwd")
		e.want(e.call(a, "POST", "/api/v1/stepup/verify", map[string]any{"method_id": en.totpID, "code": testenv.OathCode(t, en.secret, e.clock.Now())}), 200, "")
		e.wantAMR(a, "pwd", "otp", "mfa")
		r := e.call(a, "POST", "/api/v1/factors/totp", map[string]string{"label": "Second app"})
		e.want(r, 201, "")
		id, secret := r.JSON["factor"].(map[string]any)["id"].(string), r.str("secret")

		// b cannot list it, read its key on the wizard page, or confirm it.
		if l := e.call(b, "GET", "/api/v1/factors", nil); strings.Contains(string(l.Body), id) {
			t.Fatalf("another session lists the pending method: %s", l.Body)
		}
		req, _ := http.NewRequest("GET", e.srv.BaseURL()+"/account/two-step/setup?factor="+id, nil)
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(strings.ReplaceAll(string(page), " ", ""), secret) {
			t.Fatal("another session's wizard page shows the pending app's key")
		}
		e.advance(30 * time.Second)
		e.want(e.call(b, "POST", "/api/v1/factors/"+id+"/confirm", map[string]string{"code": testenv.OathCode(t, secret, e.clock.Now())}), 404, "not_found")
		e.want(e.call(b, "POST", "/api/v1/factors/recovery-codes", nil), 403, "step_up_required")
		e.want(e.call(b, "POST", "/api/v1/two-step/disable", nil), 403, "step_up_required")

		// a confirms it once its own step-up is stale: that is no step-up.
		e.advance(11 * time.Minute)
		e.want(e.call(a, "POST", "/api/v1/factors/"+id+"/confirm", map[string]string{"code": testenv.OathCode(t, secret, e.clock.Now())}), 200, "")
		e.want(e.call(a, "POST", "/api/v1/factors/recovery-codes", nil), 403, "step_up_required")
	})
}

// TestTurningTwoStepOnEndsOtherSessions: a session signed in with the
// password alone does not carry on past the new second step.
func TestTurningTwoStepOnEndsOtherSessions(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		email := "newly@example.com"
		y := e.signup(email)
		z := e.srv.Client()
		e.password(z, email)
		e.want(e.call(z, "GET", "/api/v1/me", nil), 200, "")
		r := e.call(y, "POST", "/api/v1/factors/totp", nil)
		e.want(r, 201, "")
		id, secret := r.JSON["factor"].(map[string]any)["id"].(string), r.str("secret")
		e.want(e.call(y, "POST", "/api/v1/factors/"+id+"/confirm", map[string]string{"code": testenv.OathCode(t, secret, e.clock.Now())}), 200, "")
		e.want(e.call(y, "POST", "/api/v1/factors/recovery-codes", nil), 201, "")
		e.want(e.call(y, "POST", "/api/v1/two-step/enable", nil), 200, "")
		e.want(e.call(z, "GET", "/api/v1/me", nil), 401, "")
		e.want(e.call(y, "GET", "/api/v1/me", nil), 200, "")
	})
}

// TestAddressCodeBudgetSparesKnownBrowsers: wrong codes for one account
// from an address spend that address's budget, but the owner of another
// account behind the same address, on a browser that has signed in to it
// before, still gets in with the right code.
func TestAddressCodeBudgetSparesKnownBrowsers(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			clock := testenv.NewClock()
			cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
			cfg.Limits.CodePerAddress = config.Budget{Limit: 3, Window: config.Duration(time.Hour)}
			e := &env{t: t, srv: testenv.Start(t, cfg, app.Options{Now: clock.Now}), clock: clock}
			victim := e.enroll("victim@example.com") // its client is a known browser
			guesser := e.enroll("guesser@example.com")
			g := e.srv.Client()
			e.password(g, guesser.email)
			for i := 0; i < 3; i++ {
				e.want(e.call(g, "POST", "/api/v1/signin/verify", map[string]any{"method_id": guesser.totpID, "code": "000000"}), 401, "invalid_code")
			}
			e.want(e.call(g, "POST", "/api/v1/signin/verify", map[string]any{"method_id": guesser.totpID, "code": "000000"}), 429, "rate_limited")

			// A browser the victim never used is held by the address budget …
			e.advance(30 * time.Second)
			n := e.srv.Client()
			e.password(n, victim.email)
			e.want(e.call(n, "POST", "/api/v1/signin/verify", map[string]any{"method_id": victim.totpID, "code": testenv.OathCode(t, victim.secret, e.clock.Now())}), 429, "rate_limited")
			// … the victim's own browser is not.
			e.want(e.call(victim.client, "POST", "/api/v1/signout", nil), 204, "")
			e.password(victim.client, victim.email)
			e.want(e.call(victim.client, "POST", "/api/v1/signin/verify", map[string]any{"method_id": victim.totpID, "code": testenv.OathCode(t, victim.secret, e.clock.Now())}), 200, "")
		})
	}
}
