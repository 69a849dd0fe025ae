package browsertest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"twostep/internal/app"
	"twostep/internal/testenv"
)

const (
	goodPassword = "correct horse battery staple 9"
	testTimeout  = 60 * time.Second // for the actions of one test
)

// chromiumPath returns the browser to drive: TWOSTEP_CHROMIUM, or Debian's
// /usr/bin/chromium. Without one the test is skipped, or fails under CI.
func chromiumPath(t *testing.T) string {
	t.Helper()
	candidates := []string{"/usr/bin/chromium"}
	if p := os.Getenv("TWOSTEP_CHROMIUM"); p != "" {
		candidates = []string{p}
	}
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := fmt.Sprintf("no Chromium at %s (install Debian's chromium package, or set TWOSTEP_CHROMIUM)", strings.Join(candidates, ", "))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + ": CI must run the browser tests")
	}
	t.Skip(msg + "; browser tests skipped outside CI")
	return ""
}

// screenshotDir is where the PNG files go: TWOSTEP_SCREENSHOT_DIR, or
// screenshots/ at the repository root (go test runs in the package folder).
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TWOSTEP_SCREENSHOT_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "screenshots")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	return abs
}

// start runs twostep on a fresh SQLite database and a fresh browser to
// use it. It looks for the browser first, so a skip starts nothing.
func start(t *testing.T) *browser {
	t.Helper()
	chromiumPath(t)
	cfg := testenv.Config(t, testenv.DatabaseURL(t, "sqlite"))
	srv := testenv.Start(t, cfg, app.Options{Now: clock.Now})
	return newBrowser(t, srv.BaseURL(), testTimeout)
}

// clock is every test server's clock: it starts at testenv.ClockStart
// and runs with real time, so a page that reads the wall clock instead of
// the server's clock shows up when CI moves the start a year away.
var clock = testenv.NewRunningClock()

var emailSeq atomic.Int64

// uniqueEmail is an address no other test uses.
func uniqueEmail(who string) string {
	return fmt.Sprintf("%s.%d.%d@example.com", who, time.Now().UnixNano()%1_000_000_000, emailSeq.Add(1))
}

// browser is one headless Chromium with one tab, for one test.
type browser struct {
	t    *testing.T
	base string          // the server's URL
	ctx  context.Context // for actions: ends testTimeout after the start
	tab  context.Context // the tab without the action deadline, for diagnostics
	shot string          // screenshot folder

	mu      sync.Mutex
	console []string // errors and warnings the pages logged
}

// newBrowser starts a fresh Chromium with its own profile, sized like a
// desktop window, whose actions must finish within timeout. Everything
// stops when the test ends.
func newBrowser(t *testing.T, base string, timeout time.Duration) *browser {
	t.Helper()
	exe := chromiumPath(t)
	tab := testenv.Chromium(t, exe, timeout)
	ctx, cancel := context.WithTimeout(tab, timeout)
	t.Cleanup(cancel)
	b := &browser{t: t, base: base, ctx: ctx, tab: tab, shot: screenshotDir(t)}

	// Collect what the pages log, such as a Content-Security-Policy
	// violation, and show it at the end of the test.
	messages := chromedp.Console(tab)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Source == "network" && expectedStatus(m.URL) {
				continue // a refused form or code shows its page with 4xx
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleException, chromedp.ConsoleWarning:
				b.mu.Lock()
				b.console = append(b.console, fmt.Sprintf("%s: %s %s", m.Type, m.Text, m.URL))
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, m := range b.console {
			t.Logf("browser console: %s", m)
		}
	})
	return b
}

// expectedStatus reports whether an error status of u is part of a test: the
// forms answer a refused sign-in, sign-up or code with 4xx and the form
// again.
func expectedStatus(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	switch p.Path {
	case "/signin", "/signup", "/signin/verify", "/account/two-step/setup/confirm":
		return true
	}
	return false
}

// describe tells what the browser shows now, for failure messages.
func (b *browser) describe() string {
	ctx, cancel := context.WithTimeout(b.tab, 5*time.Second)
	defer cancel()
	type state struct {
		URL   string `json:"url"`
		Title string `json:"title"`
		Body  string `json:"body"`
	}
	s, err := chromedp.Run(ctx, chromedp.Evaluate[state](`({url: location.href, title: document.title, body: document.body ? document.body.innerText : ""})`))
	if err != nil {
		return fmt.Sprintf("(could not read the page: %v)", err)
	}
	body := strings.Join(strings.Fields(s.Body), " ")
	if len(body) > 600 {
		body = body[:600] + "…"
	}
	return fmt.Sprintf("\n  url:   %s\n  title: %q\n  body:  %q", s.URL, s.Title, body)
}

// fatal stops the test, saying what failed and what the page shows.
func (b *browser) fatal(format string, args ...any) {
	b.t.Helper()
	b.t.Fatalf("%s\npage:%s", fmt.Sprintf(format, args...), b.describe())
}

// do runs the steps and fails the test on an error.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.fatal("%s: %v", what, err)
	}
}

// open loads path and checks the status of the document.
func (b *browser) open(path string, wantStatus int64) {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.fatal("open %s: %v", path, err)
	}
	if resp.Status != wantStatus {
		b.fatal("open %s: status %d, want %d", path, resp.Status, wantStatus)
	}
}

// submit clicks the button sel, waits for the page the form leads to, and
// checks its status (after redirects).
func (b *browser) submit(what string, sel chromedp.Search, wantStatus int64) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(sel, chromedp.NodeVisible))
	if err != nil {
		b.fatal("%s: %v", what, err)
	}
	if resp.Status != wantStatus {
		b.fatal("%s: status %d, want %d", what, resp.Status, wantStatus)
	}
}

// fill replaces the value of the input with this id by typing text. The
// old value is cleared through the value property, not the attribute:
// chromedp.Clear changes the attribute, and the DOM event that brings
// back races with SendKeys reading the node's attributes inside chromedp
// (the race detector caught it).
func (b *browser) fill(id, text string) {
	b.t.Helper()
	b.do("fill #"+id,
		chromedp.WaitVisible(chromedp.ID(id)),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById(%q).value = ""`, id))(ctx, t)
			return err
		}),
		chromedp.SendKeys(chromedp.ID(id), text))
}

// text returns the text of the first element that matches the CSS selector.
func (b *browser) text(css string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(css), chromedp.NodeReady))
	if err != nil {
		b.fatal("read %s: %v", css, err)
	}
	return strings.TrimSpace(s)
}

// expectHeading checks the page's h1.
func (b *browser) expectHeading(want string) {
	b.t.Helper()
	if got := b.text("main h1"); got != want {
		b.fatal("heading is %q, want %q", got, want)
	}
}

// bodyText is what a person reads on the page.
func (b *browser) bodyText() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		b.fatal("read the page text: %v", err)
	}
	return s
}

// expectText checks that the page shows each text.
func (b *browser) expectText(texts ...string) {
	b.t.Helper()
	body := b.bodyText()
	for _, s := range texts {
		if !strings.Contains(body, s) {
			b.fatal("the page does not show %q", s)
		}
	}
}

// expectStyled checks that the stylesheet applied: a page without its CSS
// would pass every other check.
func (b *browser) expectStyled() {
	b.t.Helper()
	bg, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`))
	if err != nil {
		b.fatal("read the body's style: %v", err)
	}
	if bg != "rgb(245, 246, 248)" {
		b.fatal("body background is %q: /static/style.css did not apply", bg)
	}
}

// screenshot saves a PNG of the whole page as name.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fatal("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.shot, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("save screenshot: %v", err)
	}
	b.t.Logf("screenshot: %s", path)
}

// path returns the path and query of the page shown.
func (b *browser) path() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.fatal("read the location: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.fatal("location %q: %v", loc, err)
	}
	return u.RequestURI()
}

const submitButton = chromedp.Search(`//main//form//button[@type="submit"]`)

// signUp fills in and sends the sign-up form, expecting the account page.
func (b *browser) signUp(email, password string) {
	b.t.Helper()
	b.open("/signup", 200)
	b.expectHeading("Create your account")
	b.fill("email", email)
	b.fill("password", password)
	b.submit("create the account", submitButton, 200)
	if p := b.path(); p != "/account?notice=welcome" {
		b.fatal("after sign-up the browser is at %s, want /account?notice=welcome", p)
	}
	b.expectHeading("Your account")
}

func TestSignUpSignOutSignIn(t *testing.T) {
	b := start(t)
	email := uniqueEmail("ada")

	// Sign up.
	b.open("/signup", 200)
	b.expectHeading("Create your account")
	b.expectStyled()
	b.screenshot("signup-desktop.png")
	b.fill("email", email)
	b.fill("password", goodPassword)
	b.submit("create the account", submitButton, 200)

	// The account page.
	if p := b.path(); p != "/account?notice=welcome" {
		b.fatal("after sign-up the browser is at %s, want /account?notice=welcome", p)
	}
	b.expectHeading("Your account")
	b.expectText(email, "Your account is ready.", "Where you're signed in", "Recent activity", "Account created", "Change password")
	if got := b.text("header.top nav a"); got != email {
		b.fatal("the header names %q, want the signed-in address %q", got, email)
	}
	b.screenshot("account-desktop.png")

	// Sign out with the header's button.
	b.submit("sign out", `//header//form//button[normalize-space()="Sign out"]`, 200)
	if p := b.path(); p != "/signin?notice=signed_out" {
		b.fatal("after sign-out the browser is at %s, want /signin?notice=signed_out", p)
	}
	b.expectHeading("Sign in")
	if got := b.text(`main [role="status"]`); got != "You are signed out." {
		b.fatal("the notice says %q, want %q", got, "You are signed out.")
	}
	b.screenshot("signedout-desktop.png")
	// Signed out means signed out: the account page sends the browser back.
	b.open("/account", 200)
	if p := b.path(); p != "/signin" {
		b.fatal("the account page after sign-out led to %s, want /signin", p)
	}

	// A wrong password: the error shows, the address stays.
	b.fill("email", email)
	b.fill("password", "not the password 123")
	b.submit("sign in with a wrong password", submitButton, 401)
	b.expectHeading("Sign in")
	if got := b.text(`main [role="alert"]`); got != "The e-mail address or password is wrong." {
		b.fatal("the error says %q, want %q", got, "The e-mail address or password is wrong.")
	}
	kept, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("email")))
	if err != nil {
		b.fatal("read the e-mail field: %v", err)
	}
	if kept != email {
		b.fatal("the e-mail field holds %q after the error, want %q", kept, email)
	}
	pw, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("password")))
	if err != nil {
		b.fatal("read the password field: %v", err)
	}
	if pw != "" {
		b.fatal("the password field holds %q after the error, want it empty", pw)
	}
	b.screenshot("signin-error-desktop.png")

	// The right password.
	b.fill("email", email)
	b.fill("password", goodPassword)
	b.submit("sign in", submitButton, 200)
	if p := b.path(); p != "/account" {
		b.fatal("after sign-in the browser is at %s, want /account", p)
	}
	b.expectHeading("Your account")
	b.expectText(email)
	// Recent activity, newest first: this sign-in, the wrong password, the
	// sign-out, the sign-in of the sign-up, the sign-up.
	type event struct {
		What   string `json:"what"`
		Failed bool   `json:"failed"`
	}
	events, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]event](`[...document.querySelectorAll('section[aria-labelledby="act-h"] li')].map(li => ({
		what: (li.querySelector('strong') || li).textContent.trim(),
		failed: !!li.querySelector('.badge.fail')}))`))
	if err != nil {
		b.fatal("read Recent activity: %v", err)
	}
	if len(events) == 0 || events[0].What != "Sign-in" || events[0].Failed {
		b.fatal("Recent activity does not start with this sign-in: %+v", events)
	}
	var failed, signedOut bool
	for _, e := range events {
		failed = failed || (e.What == "Sign-in" && e.Failed)
		signedOut = signedOut || e.What == "Signed out"
	}
	if !failed || !signedOut {
		b.fatal("Recent activity lacks the failed sign-in (%v) or the sign-out (%v): %+v", failed, signedOut, events)
	}
	b.screenshot("account-after-signin-desktop.png")
}

// noHorizontalScroll checks that nothing on the page is wider than the
// viewport, and names the elements that stick out when something is.
func (b *browser) noHorizontalScroll(page string) {
	b.t.Helper()
	type widths struct {
		ScrollWidth int      `json:"scrollWidth"`
		InnerWidth  int      `json:"innerWidth"`
		ClientWidth int      `json:"clientWidth"`
		Fits        bool     `json:"fits"`
		Wide        []string `json:"wide"`
	}
	w, err := chromedp.Run(b.ctx, chromedp.Evaluate[widths](`(() => {
		const d = document.documentElement;
		const wide = [];
		for (const el of document.body.querySelectorAll('*')) {
			const r = el.getBoundingClientRect();
			// Content off the left edge (the skip link) makes no scrollbar.
			if (r.right > d.clientWidth + 0.5 && r.left > -1000) {
				wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
					(el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '') +
					' [' + Math.round(r.left) + '..' + Math.round(r.right) + ']');
			}
		}
		return {scrollWidth: d.scrollWidth, innerWidth: window.innerWidth, clientWidth: d.clientWidth,
			fits: d.scrollWidth <= window.innerWidth, wide: wide.slice(0, 10)};
	})()`))
	if err != nil {
		b.fatal("measure %s: %v", page, err)
	}
	// innerWidth alone is not enough: a phone zooms out to show content that
	// is too wide, which makes innerWidth grow with it.
	if !w.Fits || w.ScrollWidth > w.ClientWidth || w.InnerWidth != 360 {
		b.fatal("%s scrolls sideways at 360 px: scrollWidth %d, innerWidth %d, clientWidth %d; too wide: %v",
			page, w.ScrollWidth, w.InnerWidth, w.ClientWidth, w.Wide)
	}
}

// phone makes the tab a 360 px wide phone: the narrowest common Android.
func (b *browser) phone() {
	b.t.Helper()
	b.do("emulate a 360 px phone", chromedp.EmulateViewport(360, 800,
		chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateTouch))
}

func TestMobileLayout(t *testing.T) {
	b := start(t)
	b.phone()

	b.open("/signup", 200)
	b.expectHeading("Create your account")
	b.expectStyled()
	b.screenshot("signup-mobile.png")
	b.noHorizontalScroll("/signup")

	// A long but ordinary address, as people have: the header shows it.
	email := uniqueEmail("margaret.hamilton-engineering")
	b.fill("email", email)
	b.fill("password", goodPassword)
	b.submit("create the account", submitButton, 200)
	b.expectHeading("Your account")
	b.expectText(email)
	b.screenshot("account-mobile.png")
	b.noHorizontalScroll("/account")

	b.submit("sign out", `//header//form//button[normalize-space()="Sign out"]`, 200)
	b.expectHeading("Sign in")
	b.screenshot("signin-mobile.png")
	b.noHorizontalScroll("/signin")
}

func TestWeakPasswordErrorNextToField(t *testing.T) {
	b := start(t)
	email := uniqueEmail("weak")

	b.open("/signup", 200)
	b.fill("email", email)
	b.fill("password", "password1")
	b.submit("sign up with a weak password", submitButton, 400)
	b.expectHeading("Create your account")

	msg := b.text("#password-error")
	if msg == "" {
		b.fatal("#password-error is empty")
	}
	t.Logf("weak password message: %q", msg)
	attr, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.ID("password"), "aria-invalid"))
	if err != nil {
		b.fatal("read aria-invalid: %v", err)
	}
	if !attr.Exists || attr.Value != "true" {
		b.fatal("the password input has aria-invalid=%q (present %v), want \"true\"", attr.Value, attr.Exists)
	}
	described, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.ID("password"), "aria-describedby"))
	if err != nil {
		b.fatal("read aria-describedby: %v", err)
	}
	if described.Value != "password-error" {
		b.fatal("the password input is described by %q, want \"password-error\"", described.Value)
	}
	// The error belongs to the password, not to the address or the form.
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#email-error, main [role="alert"]').length`)); err != nil || n != 0 {
		b.fatal("an error shows for the e-mail address or the whole form (%d elements, err %v)", n, err)
	}
	kept, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("email")))
	if err != nil || kept != email {
		b.fatal("the e-mail field holds %q after the error (err %v), want %q", kept, err, email)
	}
	// The error sits right under the field, inside the same .field block.
	sameField, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => {
		const i = document.getElementById('password'), e = document.getElementById('password-error');
		return i.closest('.field') === e.closest('.field') &&
			e.getBoundingClientRect().top >= i.getBoundingClientRect().bottom &&
			e.getBoundingClientRect().top - i.getBoundingClientRect().bottom < 40;
	})()`))
	if err != nil || !sameField {
		b.fatal("the password error is not right below the password field (err %v)", err)
	}
	b.screenshot("signup-weak-password-desktop.png")
}

// labelProblems lists form controls without a visible label tied by for=id,
// and aria-describedby ids that point nowhere.
const labelProblems = `(() => {
	const problems = [];
	const inputs = [...document.querySelectorAll('input, select, textarea')]
		.filter(el => !['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type));
	for (const el of inputs) {
		const name = el.outerHTML.slice(0, 120);
		if (!el.id) { problems.push('no id: ' + name); continue; }
		if (document.querySelectorAll('#' + CSS.escape(el.id)).length !== 1) problems.push('id not unique: ' + el.id);
		const label = document.querySelector('label[for="' + CSS.escape(el.id) + '"]');
		if (!label) { problems.push('no <label for=' + el.id + '>'); continue; }
		if (!label.textContent.trim()) problems.push('empty label for ' + el.id);
		const r = label.getBoundingClientRect();
		if (r.width === 0 || r.height === 0) problems.push('label for ' + el.id + ' is not visible');
		for (const id of (el.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean)) {
			if (!document.getElementById(id)) problems.push(el.id + ' is described by missing #' + id);
		}
	}
	if (!document.documentElement.lang) problems.push('<html> has no lang');
	if (!document.title.trim()) problems.push('no <title>');
	if (document.querySelectorAll('h1').length !== 1) problems.push(document.querySelectorAll('h1').length + ' h1 elements');
	for (const b of document.querySelectorAll('button, a')) {
		if (!(b.textContent.trim() || b.getAttribute('aria-label'))) problems.push('nameless ' + b.outerHTML.slice(0, 80));
	}
	return {inputs: inputs.length, problems};
})()`

func TestAccessibility(t *testing.T) {
	b := start(t)
	type result struct {
		Inputs   int      `json:"inputs"`
		Problems []string `json:"problems"`
	}
	for _, page := range []string{"/signin", "/signup", "/forgot-password"} {
		b.open(page, 200)
		r, err := chromedp.Run(b.ctx, chromedp.Evaluate[result](labelProblems))
		if err != nil {
			b.fatal("check labels on %s: %v", page, err)
		}
		if r.Inputs == 0 {
			b.fatal("%s has no inputs to check", page)
		}
		if len(r.Problems) > 0 {
			b.fatal("%s: %d inputs, problems:\n  %s", page, r.Inputs, strings.Join(r.Problems, "\n  "))
		}
		t.Logf("%s: %d inputs, each with its label", page, r.Inputs)
	}

	// The e-mail field has focus on arrival, so a person can type at once.
	// Browsers apply autofocus after the page has loaded, so give it a
	// moment on a busy machine.
	b.open("/signin", 200)
	var focused string
	for i := 0; i < 40; i++ {
		var err error
		focused, err = chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
		if err != nil {
			b.fatal("read the focus: %v", err)
		}
		if focused == "email" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if focused != "email" {
		b.fatal("focus is on %q on arrival at /signin, want the e-mail field", focused)
	}
}

// waitFocus polls, for up to two seconds, until the element with id has
// focus: browsers apply autofocus after load, later on a busy machine. It
// returns the id that has focus in the end.
func waitFocus(b *browser, id string) (string, error) {
	var focused string
	for i := 0; i < 40; i++ {
		var err error
		focused, err = chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
		if err != nil || focused == id {
			return focused, err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return focused, nil
}
