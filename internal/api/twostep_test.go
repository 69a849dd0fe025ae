package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/testenv"
)

// enrolled is an account with an authenticator app and recovery codes and
// two-step verification on.
type enrolled struct {
	client   *http.Client
	email    string
	secret   string
	totpID   string
	recID    string
	recovery []string
}

func (e *env) enroll(email string) enrolled {
	e.t.Helper()
	c := e.signup(email)
	r := e.call(c, "POST", "/api/v1/factors/totp", map[string]string{"label": "Phone app"})
	e.want(r, http.StatusCreated, "")
	f := r.JSON["factor"].(map[string]any)
	if f["status"] != "pending" || f["kind"] != "totp" {
		e.t.Fatalf("factor = %v, want a pending totp", f)
	}
	if !strings.HasPrefix(r.str("qr_png"), "data:image/png;base64,") || !strings.HasPrefix(r.str("otpauth_uri"), "otpauth://totp/") {
		e.t.Fatalf("qr_png/otpauth_uri malformed: %.80s / %s", r.str("qr_png"), r.str("otpauth_uri"))
	}
	en := enrolled{client: c, email: email, secret: r.str("secret"), totpID: f["id"].(string)}
	e.want(e.call(c, "POST", "/api/v1/two-step/enable", nil), 409, "primary_required")
	e.want(e.call(c, "POST", "/api/v1/factors/"+en.totpID+"/confirm", map[string]string{"code": "000000"}), 401, "invalid_code")
	conf := e.call(c, "POST", "/api/v1/factors/"+en.totpID+"/confirm", map[string]string{"code": testenv.OathCode(e.t, en.secret, e.clock.Now())})
	e.want(conf, 200, "")
	if conf.JSON["factor"].(map[string]any)["status"] != "active" {
		e.t.Fatalf("confirmed factor = %s", conf.Body)
	}
	e.want(e.call(c, "POST", "/api/v1/two-step/enable", nil), 409, "backup_required")
	rc := e.call(c, "POST", "/api/v1/factors/recovery-codes", nil)
	e.want(rc, 201, "")
	for _, x := range rc.JSON["codes"].([]any) {
		en.recovery = append(en.recovery, x.(string))
	}
	en.recID = rc.JSON["factor"].(map[string]any)["id"].(string)
	if len(en.recovery) != 10 {
		e.t.Fatalf("%d recovery codes, want 10", len(en.recovery))
	}
	e.want(e.call(c, "POST", "/api/v1/two-step/enable", nil), 200, "")
	return en
}

func (e *env) password(c *http.Client, email string) reply {
	e.t.Helper()
	r := e.call(c, "POST", "/api/v1/signin", map[string]string{"email": email, "password": goodPassword})
	e.want(r, 200, "")
	return r
}

func TestTwoStepEndToEnd(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		en := e.enroll("two@example.com")
		me := e.call(en.client, "GET", "/api/v1/me", nil)
		ts := me.JSON["two_step"].(map[string]any)
		if ts["enabled"] != true || len(ts["methods"].([]any)) != 2 {
			t.Fatalf("two_step = %v", ts)
		}
		if got := e.tokenFrom(en.email, "Two-step verification is on"); got != "" {
			t.Fatalf("notification carries a code %q", got)
		}

		// A new browser: password, then the challenge.
		e.want(e.call(en.client, "POST", "/api/v1/signout", nil), 204, "")
		b := e.srv.Client()
		r := e.password(b, en.email)
		if r.str("status") != "second_factor_required" || r.str("default_method_id") != en.totpID {
			t.Fatalf("sign-in = %s", r.Body)
		}
		methods := r.JSON["methods"].([]any)
		if len(methods) != 2 || methods[1].(map[string]any)["kind"] != "recovery_code" {
			t.Fatalf("methods = %v, want the app then recovery codes", methods)
		}
		e.want(e.call(b, "GET", "/api/v1/me", nil), 401, "unauthenticated") // not signed in yet

		// The code that confirmed the app cannot be used again (replay).
		replay := e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": testenv.OathCode(t, en.secret, e.clock.Now()), "remember_device": false})
		e.want(replay, 401, "invalid_code")
		if replay.JSON["attempts_left"] != float64(4) {
			t.Fatalf("attempts_left = %v, want 4", replay.JSON["attempts_left"])
		}
		e.advance(30 * time.Second)
		code := testenv.OathCode(t, en.secret, e.clock.Now())
		e.want(e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": code, "remember_device": true}), 200, "")
		sess := e.call(b, "GET", "/api/v1/me", nil)
		e.want(sess, 200, "")
		if sess.JSON["session"].(map[string]any)["aal"] != float64(2) {
			t.Fatalf("aal = %v, want 2", sess.JSON["session"])
		}
		e.wantAMR(b, "pwd", "otp", "mfa")
		// The pending sign-in is used up.
		e.want(e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": code}), 401, "signin_expired")

		// Remembered: the same browser is not asked again, even after signing out.
		e.want(e.call(b, "POST", "/api/v1/signout", nil), 204, "")
		if r := e.password(b, en.email); r.str("status") != "signed_in" {
			t.Fatalf("remembered browser asked again: %s", r.Body)
		}
		e.wantAMR(b, "pwd", "mfa")
		devs := decodeList(t, e.call(b, "GET", "/api/v1/devices", nil).Body)
		if len(devs) != 1 || devs[0]["current"] != true || devs[0]["last_ip"] == "" {
			t.Fatalf("devices = %v", devs)
		}

		// Another browser is asked, and a recovery code works once.
		c := e.srv.Client()
		e.password(c, en.email)
		e.want(e.call(c, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.recID, "code": strings.ToUpper(en.recovery[0])}), 200, "")
		e.wantAMR(c, "pwd", "otp", "mfa")
		d := e.srv.Client()
		e.password(d, en.email)
		e.want(e.call(d, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.recID, "code": en.recovery[0]}), 401, "invalid_code")
		e.want(e.call(d, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.recID, "code": en.recovery[1]}), 200, "")
		f := decodeList(t, e.call(d, "GET", "/api/v1/factors", nil).Body)
		for _, x := range f {
			if x["kind"] == "recovery_code" && x["codes_left"] != float64(8) {
				t.Fatalf("codes_left = %v, want 8", x["codes_left"])
			}
		}

		// Forgetting the device (fresh second factor on d) makes b ask again.
		e.want(e.call(d, "DELETE", "/api/v1/devices/"+devs[0]["id"].(string), nil), 204, "")
		e.want(e.call(b, "POST", "/api/v1/signout", nil), 204, "")
		if r := e.password(b, en.email); r.str("status") != "second_factor_required" {
			t.Fatalf("forgotten browser signed in without a code: %s", r.Body)
		}

		// Step-up: after the window, sensitive actions need a code again.
		e.advance(11 * time.Minute)
		r = e.call(d, "PATCH", "/api/v1/factors/"+en.totpID, map[string]string{"label": "Work phone"})
		e.want(r, 403, "step_up_required")
		if len(r.JSON["methods"].([]any)) != 2 {
			t.Fatalf("step_up_required without methods: %s", r.Body)
		}
		e.want(e.call(d, "POST", "/api/v1/stepup/verify", map[string]any{"password": goodPassword}), 403, "step_up_required") // a password is not enough with 2SV on
		e.want(e.call(d, "POST", "/api/v1/stepup/verify", map[string]any{"method_id": en.totpID, "code": testenv.OathCode(t, en.secret, e.clock.Now())}), 200, "")
		e.wantAMR(d, "pwd", "otp", "mfa") // already two-step: its sign-in's amr stays
		e.want(e.call(d, "PATCH", "/api/v1/factors/"+en.totpID, map[string]string{"label": "Work phone"}), 200, "")
		e.want(e.call(d, "PATCH", "/api/v1/factors/"+en.recID, map[string]string{"role": "primary"}), 400, "invalid_role")

		// The last method that can sign in cannot be removed.
		e.want(e.call(d, "DELETE", "/api/v1/factors/"+en.totpID, nil), 409, "last_factor")
		// Turning 2SV off removes every method and device.
		e.want(e.call(d, "POST", "/api/v1/two-step/disable", nil), 204, "")
		if ts := e.call(d, "GET", "/api/v1/me", nil).JSON["two_step"].(map[string]any); ts["enabled"] != false || len(ts["methods"].([]any)) != 0 {
			t.Fatalf("after disable: %v", ts)
		}
		if r := e.password(e.srv.Client(), en.email); r.str("status") != "signed_in" {
			t.Fatalf("sign-in after disable: %s", r.Body)
		}
		events := string(e.call(d, "GET", "/api/v1/events", nil).Body)
		for _, k := range []string{"two_step_enabled", "two_step_disabled", "factor_added", "recovery_code_used", "device_remembered", "device_forgotten", "step_up", `"second_factor_required"`} {
			if !strings.Contains(events, k) {
				t.Errorf("events lack %s", k)
			}
		}
	})
}

func TestSecondFactorLimits(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		en := e.enroll("limits@example.com")
		wrong := map[string]any{"method_id": en.totpID, "code": "000000"}
		b := e.srv.Client()
		e.password(b, en.email)
		for left := 4; left >= 0; left-- {
			r := e.call(b, "POST", "/api/v1/signin/verify", wrong)
			e.want(r, 401, "invalid_code")
			if r.JSON["attempts_left"] != float64(left) {
				t.Fatalf("attempts_left = %v, want %d", r.JSON["attempts_left"], left)
			}
		}
		// That pending sign-in is void: the password is needed again.
		e.want(e.call(b, "POST", "/api/v1/signin/verify", wrong), 401, "signin_expired")

		// Password failures and code failures are counted apart: five wrong
		// codes did not throttle the password.
		e.password(b, en.email)
		for i := 0; i < 3; i++ { // 1 at enrolment + 5 + 3 = 9 wrong codes this hour
			e.want(e.call(b, "POST", "/api/v1/signin/verify", wrong), 401, "invalid_code")
		}
		e.password(b, en.email)
		e.want(e.call(b, "POST", "/api/v1/signin/verify", wrong), 401, "invalid_code") // the 10th
		e.advance(5 * time.Minute)
		// Locked for the rest of the hour: even the right code is refused.
		r := e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": testenv.OathCode(t, en.secret, e.clock.Now())})
		e.want(r, 429, "rate_limited")
		if r.JSON["retry_after_s"] != float64(55*60) || r.Header.Get("Retry-After") != "3300" {
			t.Fatalf("retry_after_s = %v, Retry-After = %s; want 3300 (the rest of the hour)", r.JSON["retry_after_s"], r.Header.Get("Retry-After"))
		}
		e.want(e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.recID, "code": en.recovery[0]}), 429, "rate_limited")
		e.advance(55 * time.Minute)
		e.password(b, en.email)
		e.want(e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": testenv.OathCode(t, en.secret, e.clock.Now())}), 200, "")
		events := string(e.call(b, "GET", "/api/v1/events", nil).Body)
		if !strings.Contains(events, `"outcome":"lockout"`) || !strings.Contains(events, `"outcome":"locked"`) {
			t.Fatalf("lockout not recorded: %s", events)
		}
	})
}

func TestClockDriftIsExplained(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		en := e.enroll("drift@example.com")
		b := e.srv.Client()
		e.password(b, en.email)
		r := e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": testenv.OathCode(t, en.secret, e.clock.Now().Add(-2*time.Minute))})
		e.want(r, 401, "invalid_code")
		if !strings.Contains(r.str("detail"), "2 minutes behind") {
			t.Fatalf("detail = %q, want a hint that the clock is 2 minutes behind", r.str("detail"))
		}
	})
}

func TestSharedBrowserKeepsEachUsersTrust(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		a := e.enroll("alice@example.com")
		b := e.enroll("bob@example.com")
		shared := e.srv.Client()
		for _, en := range []enrolled{a, b} {
			e.password(shared, en.email)
			e.advance(30 * time.Second)
			e.want(e.call(shared, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": testenv.OathCode(t, en.secret, e.clock.Now()), "remember_device": true}), 200, "")
			e.want(e.call(shared, "POST", "/api/v1/signout", nil), 204, "")
		}
		for _, en := range []enrolled{a, b} {
			if r := e.password(shared, en.email); r.str("status") != "signed_in" {
				t.Fatalf("%s asked for a code on the shared browser: %s", en.email, r.Body)
			}
			e.want(e.call(shared, "POST", "/api/v1/signout", nil), 204, "")
		}
	})
}

func TestPasswordResetForgetsDevicesButKeepsTwoStep(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		en := e.enroll("rst@example.com")
		b := e.srv.Client()
		e.password(b, en.email)
		e.advance(30 * time.Second)
		e.want(e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": testenv.OathCode(t, en.secret, e.clock.Now()), "remember_device": true}), 200, "")
		e.want(e.call(b, "POST", "/api/v1/password/reset", map[string]string{"email": en.email}), 202, "")
		tok := e.tokenFrom(en.email, "Reset your")
		e.want(e.call(b, "POST", "/api/v1/password/reset/confirm", map[string]string{"token": tok, "new_password": "a whole new passphrase"}), 200, "")
		r := e.call(b, "POST", "/api/v1/signin", map[string]string{"email": en.email, "password": "a whole new passphrase"})
		if r.str("status") != "second_factor_required" {
			t.Fatalf("reset bypassed two-step verification or kept the device: %s", r.Body)
		}
	})
}

// TestTwoInstancesShareDevicesAndLockouts runs two twostep servers on one
// PostgreSQL database: what one remembers or locks, the other honours.
func TestTwoInstancesShareDevicesAndLockouts(t *testing.T) {
	clock := testenv.NewClock()
	url := testenv.DatabaseURL(t, "postgres")
	cfg := testenv.Config(t, url)
	cfg2 := cfg
	cfg2.Server.DataDir = cfg.Server.DataDir // same secret key file
	s1 := testenv.Start(t, cfg, app.Options{Now: clock.Now})
	s2 := testenv.Start(t, cfg2, app.Options{Now: clock.Now})
	e1 := &env{t: t, srv: s1, clock: clock}
	e2 := &env{t: t, srv: s2, clock: clock}

	en := e1.enroll("cluster@example.com")
	// Remember a browser on instance 1 …
	b1 := s1.Client()
	e1.password(b1, en.email)
	clock.Advance(30 * time.Second)
	e1.want(e1.call(b1, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": testenv.OathCode(t, en.secret, clock.Now()), "remember_device": true}), 200, "")
	// … and the same browser (its cookies) signs in on instance 2 without a code.
	b2 := s2.Client()
	for _, ck := range b1.Jar.Cookies(mustURL(s1.BaseURL())) {
		b2.Jar.SetCookies(mustURL(s2.BaseURL()), []*http.Cookie{{Name: ck.Name, Value: ck.Value}})
	}
	if r := e2.password(b2, en.email); r.str("status") != "signed_in" {
		t.Fatalf("instance 2 ignored the device remembered on instance 1: %s", r.Body)
	}
	// A code used on instance 1 is refused on instance 2 (replay guard).
	x := s1.Client()
	e1.password(x, en.email)
	clock.Advance(30 * time.Second)
	code := testenv.OathCode(t, en.secret, clock.Now())
	e1.want(e1.call(x, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": code}), 200, "")
	y := s2.Client()
	e2.password(y, en.email)
	e2.want(e2.call(y, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": code}), 401, "invalid_code")
	// Wrong codes on instance 1 lock the account on instance 2. They come
	// from a browser that never passed a second step: x's would draw on a
	// budget of its own.
	z := s1.Client()
	for i := 0; i < 9; i++ { // with the enrolment's and y's, 11 wrong codes
		if i%5 == 0 {
			e1.password(z, en.email)
		}
		e1.call(z, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": "000000"})
	}
	clock.Advance(30 * time.Second)
	e2.want(e2.call(y, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": testenv.OathCode(t, en.secret, clock.Now())}), 429, "rate_limited")
}
