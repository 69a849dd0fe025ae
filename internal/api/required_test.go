package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/factor/totp"
	"twostep/internal/testenv"
)

// startRequired runs twostep with two_step.required and a grace period
// of a week, on the test clock.
func startRequired(t *testing.T, engine string) *env {
	t.Helper()
	clock := testenv.NewClock()
	cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
	cfg.TwoStep.Required = true
	cfg.TwoStep.RequiredGrace = config.Duration(7 * 24 * time.Hour)
	return &env{t: t, srv: testenv.Start(t, cfg, app.Options{Now: clock.Now}), clock: clock}
}

// signInPassword signs email in with a fresh client (no two-step yet).
func (e *env) signInPassword(email string) *http.Client {
	e.t.Helper()
	c := e.srv.Client()
	r := e.call(c, "POST", "/api/v1/signin", map[string]string{"email": email, "password": goodPassword})
	e.want(r, http.StatusOK, "")
	return c
}

// TestTwoStepRequiredGracePeriod: under two_step.required, an account
// without two-step works during its grace period, then answers 403
// two_step_required on everything but setting it up, and works again once
// it is on; pages send the person to the wizard. A newer account gets a
// grace period of its own.
func TestTwoStepRequiredGracePeriod(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			e := startRequired(t, engine)
			old := e.signup("old@example.com")
			e.want(e.call(old, "GET", "/api/v1/sessions", nil), http.StatusOK, "")
			// Turning it off is refused under the policy, whatever
			// allow_disable says.
			e.want(e.call(old, "POST", "/api/v1/two-step/disable", nil), http.StatusForbidden, "policy_requires_two_step")

			// Pages: the wizard after signing in, during the grace period.
			page := e.srv.Client()
			if loc := signInPage(t, e, page, "old@example.com"); loc != "/account/two-step/setup" {
				t.Errorf("sign-in page during the grace period went to %q, want the wizard", loc)
			}
			if got := pageStatus(t, e, page, "/account"); got != http.StatusOK {
				t.Errorf("GET /account during the grace period: %d, want 200 (not yet forced)", got)
			}

			e.advance(7*24*time.Hour - time.Minute)
			c := e.signInPassword("old@example.com")
			e.want(e.call(c, "GET", "/api/v1/sessions", nil), http.StatusOK, "")

			e.advance(2 * time.Minute)
			c = e.signInPassword("old@example.com")
			for _, path := range []string{"/api/v1/sessions", "/api/v1/events", "/api/v1/devices"} {
				e.want(e.call(c, "GET", path, nil), http.StatusForbidden, "two_step_required")
			}
			e.want(e.call(c, "POST", "/api/v1/password", map[string]string{"current_password": goodPassword, "new_password": "another good passphrase"}), http.StatusForbidden, "two_step_required")
			e.want(e.call(c, "GET", "/api/v1/me", nil), http.StatusOK, "")
			e.want(e.call(c, "GET", "/api/v1/factors", nil), http.StatusOK, "")

			page = e.srv.Client()
			if loc := signInPage(t, e, page, "old@example.com"); loc != "/account/two-step/setup" {
				t.Errorf("sign-in page after the grace period went to %q, want the wizard", loc)
			}
			if loc := pageRedirect(t, e, page, "/account"); loc != "/account/two-step/setup" {
				t.Errorf("GET /account after the grace period: redirect %q, want the wizard", loc)
			}
			if got := pageStatus(t, e, page, "/account/two-step/setup"); got != http.StatusOK {
				t.Errorf("the wizard after the grace period: %d, want 200", got)
			}

			// Setting up two-step through the endpoints that stay open.
			app := e.call(c, "POST", "/api/v1/factors/totp", map[string]string{"label": "Phone"})
			e.want(app, http.StatusCreated, "")
			key, err := totp.DecodeSecret(app.str("secret"))
			if err != nil {
				t.Fatal(err)
			}
			id := app.JSON["factor"].(map[string]any)["id"].(string)
			code := totp.HOTP(key, uint64(e.clock.Now().Unix()/30), 6, totp.SHA1)
			e.want(e.call(c, "POST", "/api/v1/factors/"+id+"/confirm", map[string]string{"code": code}), http.StatusOK, "")
			e.want(e.call(c, "POST", "/api/v1/factors/recovery-codes", nil), http.StatusCreated, "")
			e.want(e.call(c, "POST", "/api/v1/two-step/enable", nil), http.StatusOK, "")
			e.want(e.call(c, "GET", "/api/v1/sessions", nil), http.StatusOK, "")

			// An account made after the policy began has its own week.
			fresh := e.signup("new@example.com")
			e.want(e.call(fresh, "GET", "/api/v1/sessions", nil), http.StatusOK, "")
			e.advance(7*24*time.Hour + time.Second)
			fresh = e.signInPassword("new@example.com")
			e.want(e.call(fresh, "GET", "/api/v1/sessions", nil), http.StatusForbidden, "two_step_required")
		})
	}
}

// signInPage signs in through the sign-in form and returns where it
// redirects.
func signInPage(t *testing.T, e *env, c *http.Client, email string) string {
	t.Helper()
	form := url.Values{"email": {email}, "password": {goodPassword}}
	resp, err := c.Post(e.srv.BaseURL()+"/signin", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /signin: %d, want 303", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

func pageRedirect(t *testing.T, e *env, c *http.Client, path string) string {
	t.Helper()
	resp, err := c.Get(e.srv.BaseURL() + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return ""
	}
	return resp.Header.Get("Location")
}

func pageStatus(t *testing.T, e *env, c *http.Client, path string) int {
	t.Helper()
	resp, err := c.Get(e.srv.BaseURL() + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
