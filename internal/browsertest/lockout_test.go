package browsertest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"twostep/internal/app"
	"twostep/internal/testenv"
)

// journeyClock is the running test clock, moved on at will: the next
// TOTP step without waiting 30 s for it.
type journeyClock struct {
	mu    sync.Mutex
	shift time.Duration
}

func (c *journeyClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return clock.Now().Add(c.shift)
}

// nextCode moves the clock to a TOTP step no code was used on yet and
// returns the app's code there.
func (c *journeyClock) nextCode(t *testing.T, secret string) string {
	c.mu.Lock()
	c.shift += 31 * time.Second
	c.mu.Unlock()
	return testenv.OathCode(t, secret, c.Now())
}

// post sends a JSON body with c and returns the status.
func post(t *testing.T, c *http.Client, u string, body any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := c.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestOwnerOutlastsAPasswordThief walks the lockout in Chromium: a thief
// with the password spends the account's wrong codes; the owner's new
// laptop is refused even the right code, and the page says so in an
// error box, with the time and the way out; the owner's own browser gets
// in; a password reset from the laptop — its field focused, the browsers
// kept unless ticked — ends the lockout.
func TestOwnerOutlastsAPasswordThief(t *testing.T) {
	chromiumPath(t)
	oathtoolPath(t)
	clk := &journeyClock{}
	cfg := testenv.Config(t, testenv.DatabaseURL(t, "sqlite"))
	srv := testenv.Start(t, cfg, app.Options{Now: clk.Now})
	base := srv.BaseURL()
	email := uniqueEmail("grace.hopper-lockout")

	// Enrolment: an authenticator app and recovery codes, by the API.
	c := srv.Client()
	apiCall(t, c, base, "POST", "/api/v1/signup", map[string]string{"email": email, "password": goodPassword}, http.StatusCreated)
	verifyEmail(t, srv, email)
	r := apiCall(t, c, base, "POST", "/api/v1/factors/totp", map[string]string{"label": "Phone app"}, http.StatusCreated)
	secret, _ := r["secret"].(string)
	appID, _ := r["factor"].(map[string]any)["id"].(string)
	apiCall(t, c, base, "POST", "/api/v1/factors/"+appID+"/confirm", map[string]string{"code": clk.nextCode(t, secret)}, http.StatusOK)
	apiCall(t, c, base, "POST", "/api/v1/factors/recovery-codes", nil, http.StatusCreated)
	apiCall(t, c, base, "POST", "/api/v1/two-step/enable", nil, http.StatusOK)

	// The owner's everyday browser passes a second step.
	owner := newBrowser(t, base, twoStepTimeout)
	owner.signIn(email)
	owner.expectHeading("Two-step verification")
	owner.fill("code", clk.nextCode(t, secret))
	owner.submit("verify", submitButton, 200)
	owner.expectPath("the code", "/account")
	owner.signOut()

	// The thief: the password, then ten wrong codes over two sign-ins.
	thief := srv.Client()
	for range 2 {
		if st := post(t, thief, base+"/api/v1/signin", map[string]string{"email": email, "password": goodPassword}); st != 200 {
			t.Fatalf("thief's password: %d", st)
		}
		for range 5 {
			if st := post(t, thief, base+"/api/v1/signin/verify", map[string]string{"method_id": appID, "code": wrongCode(t, secret)}); st != 401 {
				t.Fatalf("thief's wrong code: %d", st)
			}
		}
	}

	// The owner's new laptop: even the right code is refused, plainly.
	laptop := newBrowser(t, base, twoStepTimeout)
	laptop.signIn(email)
	laptop.fill("code", clk.nextCode(t, secret))
	laptop.submit("verify during the lockout", submitButton, 429)
	laptop.expectText("Too many wrong codes were tried for this account", "not even the right one", "Changing your password ends this at once")
	isError, err := chromedp.Run(laptop.ctx, chromedp.Evaluate[bool](`(() => { const e = document.getElementById('locked'); return !!e && e.classList.contains('error-box') && e.getAttribute('role') === 'alert'; })()`))
	if err != nil || !isError {
		laptop.fatal("the lockout is not in an error box with role=alert (err %v)", err)
	}
	laptop.screenshot("lockout-desktop.png")
	laptop.phone()
	laptop.noHorizontalScroll("the lockout page")
	laptop.do("emulate a 390 px phone", chromedp.EmulateViewport(390, 844,
		chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateTouch))
	laptop.screenshot("lockout-390.png")

	// The owner's browser is judged by its own budget.
	owner.signIn(email)
	owner.fill("code", clk.nextCode(t, secret))
	owner.submit("verify on the owner's browser", submitButton, 200)
	owner.expectPath("the code during the lockout", "/account")

	// The way out the page names: a new password.
	laptop.submit("reset your password", chromedp.Search(`//main//a[@href="/forgot-password"]`), 200)
	laptop.expectHeading("Reset your password")
	laptop.fill("email", email)
	laptop.submit("send the link", submitButton, 200)
	laptop.expectText("The link works once, for 1 hour.")
	srv.App.Account.Flush()
	msgs, err := srv.App.Outbox.List(t.Context(), email, 50)
	if err != nil {
		t.Fatal(err)
	}
	token, lockMails := "", 0
	for _, m := range msgs {
		if strings.HasPrefix(m.Subject, "Reset your") {
			token = m.Code
		}
		if strings.Contains(m.Body, "Someone who knows your password is trying to get past two-step verification") {
			lockMails++
		}
	}
	if token == "" || lockMails != 1 {
		t.Fatalf("reset token %q, %d lockout e-mails (want 1)", token, lockMails)
	}
	laptop.open("/reset-password?token="+url.QueryEscape(token), 200)
	focused, err := waitFocus(laptop, "password")
	if err != nil || focused != "password" {
		laptop.fatal("the reset page focuses %q (err %v), want the password field", focused, err)
	}
	if laptop.checked("forget_browsers") {
		laptop.fatal("'Also forget my remembered browsers' is ticked by default")
	}
	laptop.screenshot("reset-390.png")
	laptop.fill("password", "a brand new passphrase 2027")
	laptop.submit("set the new password", submitButton, 200)
	laptop.expectPath("the reset", "/signin?notice=password_reset")

	// The guessing is over: the right code works on the laptop.
	laptop.fill("email", email)
	laptop.fill("password", "a brand new passphrase 2027")
	laptop.submit("sign in", submitButton, 200)
	laptop.fill("code", clk.nextCode(t, secret))
	laptop.submit("verify after the reset", submitButton, 200)
	laptop.expectPath("the code after the reset", "/account")
}
