package browsertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"twostep/internal/app"
	"twostep/internal/testenv"
)

// twoStepTimeout is longer than testTimeout: a test of two-step
// verification may wait up to one 30 s TOTP step for a fresh code.
const twoStepTimeout = 120 * time.Second

// startWithin is start with a longer deadline for the browser's actions. It
// returns the server too, for tests that also call the JSON API.
func startWithin(t *testing.T, timeout time.Duration) (*testenv.Server, *browser) {
	t.Helper()
	chromiumPath(t)
	oathtoolPath(t)
	cfg := testenv.Config(t, testenv.DatabaseURL(t, "sqlite"))
	srv := testenv.Start(t, cfg, app.Options{Now: clock.Now})
	return srv, newBrowser(t, srv.BaseURL(), timeout)
}

// oathtoolPath is Debian's oathtool, a real TOTP client. Without it the
// test is skipped, or fails under CI.
func oathtoolPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("oathtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("oathtool not installed: CI must install Debian's oathtool")
		}
		t.Skip("oathtool not installed; two-step browser tests skipped outside CI")
	}
	return p
}

var sixDigits = regexp.MustCompile(`^[0-9]{6}$`)

// totpNow is the code an authenticator app with secret shows now, on the
// servers' clock.
func totpNow(t *testing.T, secret string) string {
	t.Helper()
	return testenv.OathCode(t, secret, clock.Now())
}

// wrongCode is a 6-digit code that the app does not show now.
func wrongCode(t *testing.T, secret string) string {
	t.Helper()
	if totpNow(t, secret) == "000000" {
		return "111111"
	}
	return "000000"
}

// click clicks a visible element that changes the page without loading
// another, such as a checkbox or a <summary>.
func (b *browser) click(what string, sel chromedp.Search) {
	b.t.Helper()
	b.do(what, chromedp.Click(sel, chromedp.NodeVisible))
}

// checked reports whether the checkbox with this id is ticked.
func (b *browser) checked(id string) bool {
	b.t.Helper()
	on, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.getElementById(%q).checked`, id)))
	if err != nil {
		b.fatal("read the checkbox #%s: %v", id, err)
	}
	return on
}

// expectPath checks the path and query of the page shown.
func (b *browser) expectPath(after, want string) {
	b.t.Helper()
	if p := b.path(); p != want {
		b.fatal("after %s the browser is at %s, want %s", after, p, want)
	}
}

// expectProgress checks the wizard's "Step n of 3".
func (b *browser) expectProgress(want string) {
	b.t.Helper()
	if got := b.text("main .progress"); got != want {
		b.fatal("the wizard says %q, want %q", got, want)
	}
}

// labelOf is the text of the label for the input with this id.
func (b *browser) labelOf(id string) string {
	b.t.Helper()
	return b.text(fmt.Sprintf(`label[for=%q]`, id))
}

// fieldError checks that the error of the input with this id shows right
// below it, inside its .field, tied to it for screen readers, and returns
// its text.
func (b *browser) fieldError(id string) string {
	b.t.Helper()
	errID := id + "-error"
	b.do("wait for #"+errID, chromedp.WaitVisible(chromedp.ID(errID)))
	msg := b.text("#" + errID)
	if msg == "" {
		b.fatal("#%s is empty", errID)
	}
	attr, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.ID(id), "aria-invalid"))
	if err != nil || !attr.Exists || attr.Value != "true" {
		b.fatal("#%s has aria-invalid=%q (present %v, err %v), want \"true\"", id, attr.Value, attr.Exists, err)
	}
	described, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.ID(id), "aria-describedby"))
	if err != nil || described.Value != errID {
		b.fatal("#%s is described by %q (err %v), want %q", id, described.Value, err, errID)
	}
	below, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
		const i = document.getElementById(%q), e = document.getElementById(%q);
		const ir = i.getBoundingClientRect(), er = e.getBoundingClientRect();
		return i.closest('.field') === e.closest('.field') && er.top >= ir.bottom && er.top - ir.bottom < 40 && er.width > 0;
	})()`, id, errID)))
	if err != nil || !below {
		b.fatal("the error #%s is not right below #%s (err %v)", errID, id, err)
	}
	return msg
}

// expectNoFormAlert checks that no error shows for the whole form: a wrong
// code belongs next to the code field.
func (b *browser) expectNoFormAlert() {
	b.t.Helper()
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('main [role="alert"]').length`)); err != nil || n != 0 {
		b.fatal("an error shows for the whole form (%d elements, err %v)", n, err)
	}
}

// wizardQR checks the QR code of the wizard's app step: a PNG that loaded
// and shows in full inside the card. It returns the key beside it, without
// the spaces between its groups.
func (b *browser) wizardQR() string {
	b.t.Helper()
	type qr struct {
		Src     string  `json:"src"`
		Natural int     `json:"natural"`
		Width   float64 `json:"width"`
		Inside  bool    `json:"inside"`
		Alt     string  `json:"alt"`
	}
	q, err := chromedp.Run(b.ctx, chromedp.Evaluate[qr](`(() => {
		const img = document.querySelector('main .qr img');
		if (!img) return {src: ''};
		const r = img.getBoundingClientRect(), c = img.closest('.card').getBoundingClientRect();
		return {src: img.getAttribute('src'), natural: img.complete ? img.naturalWidth : 0, width: r.width,
			inside: r.left >= c.left && r.right <= c.right, alt: img.alt};
	})()`))
	if err != nil {
		b.fatal("read the QR code: %v", err)
	}
	if !strings.HasPrefix(q.Src, "data:image/png") {
		b.fatal("the QR image's src starts %.40q, want data:image/png", q.Src)
	}
	if q.Natural == 0 || q.Width < 150 || !q.Inside {
		b.fatal("the QR image did not load or does not fit: natural width %d, shown %.0f px wide, inside the card %v", q.Natural, q.Width, q.Inside)
	}
	if q.Alt == "" {
		b.fatal("the QR image has no alt text")
	}
	grouped := b.text("main .key")
	secret := strings.ReplaceAll(grouped, " ", "")
	if !regexp.MustCompile(`^[A-Z2-7]{16,}$`).MatchString(secret) {
		b.fatal("the key %q is not base32", grouped)
	}
	if !strings.Contains(grouped, " ") {
		b.fatal("the key %q is not in groups", grouped)
	}
	return secret
}

// signIn sends the sign-in form with the password.
func (b *browser) signIn(email string) {
	b.t.Helper()
	b.open("/signin", 200)
	b.expectHeading("Sign in")
	b.fill("email", email)
	b.fill("password", goodPassword)
	b.submit("sign in", submitButton, 200)
}

// signOut uses the header's button.
func (b *browser) signOut() {
	b.t.Helper()
	b.submit("sign out", `//header//form//button[normalize-space()="Sign out"]`, 200)
	b.expectPath("sign-out", "/signin?notice=signed_out")
}

func TestTwoStepWizard(t *testing.T) {
	srv, b := startWithin(t, twoStepTimeout)
	email := uniqueEmail("grace")
	b.signUp(email, goodPassword)
	verifyEmail(t, srv, email)

	// The two-step page: off, with the way to turn it on.
	b.open("/account/two-step", 200)
	b.expectHeading("Two-step verification")
	b.expectStyled()
	b.expectText("Off.")
	b.submit("open the wizard", `//main//a[normalize-space()="Turn on two-step verification"]`, 200)
	b.expectPath("opening the wizard", "/account/two-step/setup")
	b.expectProgress("Step 1 of 3")
	b.expectHeading("Turn on two-step verification")

	// Step 1: the app.
	b.submit("set up an app", `//main//form//button[normalize-space()="Set up an authenticator app"]`, 200)
	if p := b.path(); !strings.HasPrefix(p, "/account/two-step/setup?step=1&factor=") {
		b.fatal("after choosing an app the browser is at %s, want the QR code of step 1", p)
	}
	b.expectProgress("Step 1 of 3")
	b.expectHeading("Add your authenticator app")
	b.screenshot("wizard-step1-desktop.png") // before the checks, to show what failed
	secret := b.wizardQR()
	if got := b.labelOf("code"); got != "6-digit code from the app" {
		b.fatal("the code field is labelled %q", got)
	}

	// A wrong code: the error shows under the code field, the QR stays.
	b.fill("code", wrongCode(t, secret))
	b.submit("check a wrong code", `//main//form//button[normalize-space()="Check the code"]`, 401)
	b.expectProgress("Step 1 of 3")
	b.expectHeading("Add your authenticator app")
	msg := b.fieldError("code")
	if !strings.Contains(msg, "not right") {
		b.fatal("the wrong code's error says %q, want it to say the code is not right", msg)
	}
	t.Logf("wrong code in the wizard: %q", msg)
	b.expectNoFormAlert()
	if again := b.wizardQR(); again != secret {
		b.fatal("after a wrong code the key changed from %s to %s: the app added already would not work", secret, again)
	}

	// The right code from the app.
	code := totpNow(t, secret)
	b.fill("code", code)
	b.submit("check the app's code", `//main//form//button[normalize-space()="Check the code"]`, 200)
	b.expectPath("the app's code", "/account/two-step/setup?step=2")
	b.expectProgress("Step 2 of 3")
	b.expectHeading("Add a backup")

	// Step 2: recovery codes.
	b.submit("get recovery codes", `//main//form//button[normalize-space()="Get recovery codes to print or save"]`, 200)
	b.expectHeading("Your recovery codes")
	b.expectProgress("Step 2 of 3")
	codes, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('main ol.codes li code')].map(c => c.textContent.trim())`))
	if err != nil {
		b.fatal("read the recovery codes: %v", err)
	}
	if len(codes) != 10 {
		b.fatal("%d recovery codes listed, want 10: %q", len(codes), codes)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if c == "" || seen[c] {
			b.fatal("recovery codes empty or repeated: %q", codes)
		}
		seen[c] = true
	}
	b.screenshot("recovery-codes.png")
	b.click("say the codes are saved", `//input[@id="saved"]`)
	b.submit("continue after saving the codes", `//main//form//button[normalize-space()="Continue"]`, 200)

	// Step 3: turn it on, without remembering this browser.
	b.expectPath("saving the codes", "/account/two-step/setup?step=3")
	b.expectProgress("Step 3 of 3")
	b.expectHeading("Turn it on")
	if got := b.labelOf("remember"); got != "Don't ask for codes on this browser" {
		b.fatal("the checkbox is labelled %q", got)
	}
	if !b.checked("remember") {
		b.fatal("\"Don't ask for codes on this browser\" is not ticked at first")
	}
	b.click("untick remember", `//input[@id="remember"]`)
	if b.checked("remember") {
		b.fatal("\"Don't ask for codes on this browser\" is still ticked after a click")
	}
	b.submit("turn two-step verification on", `//main//form//button[normalize-space()="Turn on two-step verification"]`, 200)
	b.expectPath("turning it on", "/account/two-step?notice=two_step_on")
	b.expectHeading("Two-step verification")
	if got := b.text(`main [role="status"]`); got != "Two-step verification is on." {
		b.fatal("the notice says %q, want %q", got, "Two-step verification is on.")
	}
	b.expectText("Your methods", "Authenticator app", "Recovery codes", "10 of 10 codes left",
		"None. Every sign-in on a new browser asks for a code.") // the box was unticked
	b.screenshot("twostep-manage.png")

	// A new sign-in asks for a code.
	b.signOut()
	b.signIn(email)
	b.expectPath("the password", "/signin/verify")
	b.expectHeading("Two-step verification")
	b.expectText("Signing in as "+email, "Enter the 6-digit code from your authenticator app")
	if got := b.labelOf("code"); got != "Code" {
		b.fatal("the code field is labelled %q, want \"Code\"", got)
	}
	ac, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.ID("code"), "autocomplete"))
	if err != nil || ac.Value != "one-time-code" {
		b.fatal("the code field has autocomplete=%q (err %v), want one-time-code", ac.Value, err)
	}
	if got := b.labelOf("remember"); got != "Don't ask again on this browser" {
		b.fatal("the checkbox is labelled %q", got)
	}
	if b.checked("remember") {
		b.fatal("\"Don't ask again on this browser\" is ticked before the person chose it")
	}
	if got := b.text("main details.another summary"); got != "Try another way" {
		b.fatal("the other ways are under %q, want \"Try another way\"", got)
	}
	focused, err := waitFocus(b, "code")
	if err != nil || focused != "code" {
		b.fatal("focus is on %q (err %v) on arrival at the challenge, want the code field", focused, err)
	}
	b.screenshot("challenge-desktop.png")

	// Another way: a recovery code, and remember this browser.
	b.click("open Try another way", `//main//details//summary[normalize-space()="Try another way"]`)
	b.submit("choose a recovery code", `//main//details//a[normalize-space()="Use a recovery code"]`, 200)
	if p := b.path(); !strings.HasPrefix(p, "/signin/verify?method=") {
		b.fatal("choosing a recovery code led to %s", p)
	}
	b.expectHeading("Two-step verification")
	b.expectText("Enter one of your recovery codes")
	if got := b.labelOf("code"); got != "Recovery code" {
		b.fatal("the code field is labelled %q, want \"Recovery code\"", got)
	}
	// The app is one of the other ways now.
	others, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('main details.another > ul > li > a')].map(a => a.textContent.trim())`))
	if err != nil || len(others) != 1 || others[0] != "Use your authenticator app" {
		b.fatal("the other ways are %q (err %v), want only \"Use your authenticator app\"", others, err)
	}
	b.fill("code", codes[3])
	b.click("tick remember", `//input[@id="remember"]`)
	if !b.checked("remember") {
		b.fatal("\"Don't ask again on this browser\" is not ticked after a click")
	}
	b.submit("verify with a recovery code", `//main//form//button[normalize-space()="Verify"]`, 200)
	// The two-step page, where a lost phone is replaced, says what is
	// left, counts the code and lists this browser.
	b.expectPath("the recovery code", "/account/two-step?notice=recovery_used_9")
	b.expectText("You used a recovery code; 9 are left. Lost your phone? Replace it now", "9 of 10 codes left", "This browser")
	b.screenshot("recovery-used-desktop.png")

	// This browser is remembered: the password is enough.
	b.signOut()
	b.signIn(email)
	b.expectPath("the password on a remembered browser", "/account")
	b.expectHeading("Your account")
	b.expectText(email)
}

// apiCall sends JSON to the API and decodes the JSON reply.
func apiCall(t *testing.T, c *http.Client, base, method, path string, body any, wantStatus int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, wantStatus, raw)
	}
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: reply is not JSON: %v; body %.200s", method, path, err, raw)
		}
	}
	return out
}

// enrollByAPI makes an account with an authenticator app and recovery
// codes and two-step verification on, through the JSON API from a client
// that shares nothing with the browser. It returns the app's secret.
func enrollByAPI(t *testing.T, srv *testenv.Server, email string) string {
	t.Helper()
	c, base := srv.Client(), srv.BaseURL()
	apiCall(t, c, base, "POST", "/api/v1/signup", map[string]string{"email": email, "password": goodPassword}, http.StatusCreated)
	verifyEmail(t, srv, email)
	r := apiCall(t, c, base, "POST", "/api/v1/factors/totp", map[string]string{"label": "Phone app"}, http.StatusCreated)
	secret, _ := r["secret"].(string)
	f, _ := r["factor"].(map[string]any)
	id, _ := f["id"].(string)
	if secret == "" || id == "" {
		t.Fatalf("POST /api/v1/factors/totp: no secret or factor id in %v", r)
	}
	apiCall(t, c, base, "POST", "/api/v1/factors/"+id+"/confirm", map[string]string{"code": totpNow(t, secret)}, http.StatusOK)
	rc := apiCall(t, c, base, "POST", "/api/v1/factors/recovery-codes", nil, http.StatusCreated)
	if codes, _ := rc["codes"].([]any); len(codes) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(codes))
	}
	apiCall(t, c, base, "POST", "/api/v1/two-step/enable", nil, http.StatusOK)
	return secret
}

func TestChallengeMobile(t *testing.T) {
	srv, b := startWithin(t, twoStepTimeout)
	email := uniqueEmail("katherine.johnson-flight-research")
	secret := enrollByAPI(t, srv, email)

	b.phone()
	b.signIn(email)
	b.expectPath("the password", "/signin/verify")
	b.expectHeading("Two-step verification")
	b.expectStyled()
	b.expectText("Signing in as "+email, "Don't ask again on this browser", "Try another way")
	b.screenshot("challenge-mobile.png") // before the checks, to show what failed
	b.noHorizontalScroll("/signin/verify")

	// A wrong code: the error shows, with the tries left.
	b.fill("code", wrongCode(t, secret))
	b.submit("verify a wrong code", `//main//form//button[normalize-space()="Verify"]`, 401)
	b.expectHeading("Two-step verification")
	msg := b.fieldError("code")
	if !strings.Contains(msg, "tries left") {
		b.fatal("the wrong code's error says %q, want the tries left", msg)
	}
	t.Logf("wrong code at the challenge: %q", msg)
	b.screenshot("challenge-mobile-error.png")
	b.noHorizontalScroll("/signin/verify with an error")

	// A second account's wizard, step 1 with the QR code, on the phone.
	other := uniqueEmail("dorothy.vaughan-numerical-analysis")
	b.signUp(other, goodPassword)
	b.open("/account/two-step/setup", 200)
	b.expectProgress("Step 1 of 3")
	b.submit("set up an app", `//main//form//button[normalize-space()="Set up an authenticator app"]`, 200)
	b.expectHeading("Add your authenticator app")
	b.screenshot("wizard-mobile.png")
	b.wizardQR()
	b.noHorizontalScroll("/account/two-step/setup step 1")
}
