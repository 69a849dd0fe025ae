//go:build unix

package proxytest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html/template"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"twostep/internal/testenv"
)

// The same journeys as runFlow, in headless Chromium: the browser follows
// the proxies' redirects to twostep's pages, fills in its forms, and comes
// back to the app, which shows the identity headers it received.
//
// The proxies serve the app over https, as in production: twostep returns a
// browser only to an https address on the rules' domains (signin.ReturnTo),
// so behind a plain-http proxy a sign-in ends on /account, not on the app.

// certFiles are a certificate for localhost and its key, PEM files a proxy
// reads.
type certFiles struct{ cert, key string }

// newCert makes a self-signed certificate for localhost. Chromium is told
// to accept it (--ignore-certificate-errors): what is tested is the
// sign-in, not the trust store.
func newCert(t *testing.T) *certFiles {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := &certFiles{cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem")}
	if err := os.WriteFile(f.cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// appPage is the protected app as a person sees it: the identity headers
// in a table, and everything received as JSON in data-seen for the test.
var appPage = template.Must(template.New("app").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Protected app</title>
<style>
body { font: 16px/1.4 system-ui, sans-serif; margin: 0; padding: 0 1rem; background: #f5f6f8; color: #1d2330; }
main { max-width: 40rem; margin: 2rem auto; box-sizing: border-box; padding: 1.5rem; background: #fff; border-radius: 8px; }
h1 { font-size: 1.4rem; margin-top: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem; border-bottom: 1px solid #dde; overflow-wrap: anywhere; }
code { font-size: .9rem; }
</style></head>
<body><main data-seen="{{.JSON}}">
<h1>Protected app</h1>
<p>Path: <code>{{.Seen.Path}}</code></p>
<table>
<tr><th>Remote-User</th><td><code>{{range .Seen.User}}{{.}} {{else}}(none){{end}}</code></td></tr>
<tr><th>Remote-Email</th><td><code>{{range .Seen.Email}}{{.}} {{else}}(none){{end}}</code></td></tr>
<tr><th>Remote-AAL</th><td><code>{{range .Seen.AAL}}{{.}} {{else}}(none){{end}}</code></td></tr>
</table>
</main></body></html>
`))

// htmlApp is echoApp for a browser: a page showing the identity headers.
func htmlApp(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{User: r.Header.Values("Remote-User"), Email: r.Header.Values("Remote-Email"), AAL: r.Header.Values("Remote-AAL"), Path: r.URL.RequestURI()}
		b, _ := json.Marshal(s)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		appPage.Execute(w, struct {
			Seen seen
			JSON string
		}{s, string(b)})
	}))
	t.Cleanup(s.Close)
	return s
}

// chromiumPath is TWOSTEP_CHROMIUM or Debian's /usr/bin/chromium (as in
// internal/browsertest). Without it the test is skipped, or fails under CI.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("TWOSTEP_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return p
	}
	msg := fmt.Sprintf("no Chromium at %s (install Debian's chromium package, or set TWOSTEP_CHROMIUM)", p)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + ": CI must run the browser tests")
	}
	t.Skip(msg + "; browser tests skipped outside CI")
	return ""
}

// screenshotDir is internal/browsertest's: TWOSTEP_SCREENSHOT_DIR, or
// screenshots/ at the repository root.
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

// browserTimeout bounds the actions of one journey.
const browserTimeout = 60 * time.Second

// tab is one headless Chromium with one tab, for one test.
type tab struct {
	t      *testing.T
	ctx    context.Context
	ts     string // twostep's URL
	app    string // the app's URL through the proxy
	shots  string // screenshot folder
	prefix string // of screenshot names
}

func newTab(t *testing.T, ts, app, prefix string) *tab {
	t.Helper()
	exe := chromiumPath(t)
	ctx := testenv.Chromium(t, exe, browserTimeout, chromedp.Flag("ignore-certificate-errors", true))
	actx, cancel := context.WithTimeout(ctx, browserTimeout)
	t.Cleanup(cancel)

	// What the pages log, such as a Content-Security-Policy violation,
	// shown when the test failed.
	var mu sync.Mutex
	var console []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleException, chromedp.ConsoleWarning:
				mu.Lock()
				console = append(console, fmt.Sprintf("%s: %s %s", m.Type, m.Text, m.URL))
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if t.Failed() {
			for _, m := range console {
				t.Logf("browser console: %s", m)
			}
		}
	})
	return &tab{t: t, ctx: actx, ts: ts, app: app, shots: screenshotDir(t), prefix: prefix}
}

// describe tells what the browser shows, for failure messages.
func (b *tab) describe() string {
	type state struct {
		URL  string `json:"url"`
		Body string `json:"body"`
	}
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[state](`({url: location.href, body: document.body ? document.body.innerText : ""})`))
	if err != nil {
		return fmt.Sprintf("(could not read the page: %v)", err)
	}
	body := strings.Join(strings.Fields(s.Body), " ")
	if len(body) > 400 {
		body = body[:400] + "…"
	}
	return fmt.Sprintf("\n  url:  %s\n  body: %q", s.URL, body)
}

func (b *tab) fatal(format string, args ...any) {
	b.t.Helper()
	b.t.Fatalf("%s\npage:%s", fmt.Sprintf(format, args...), b.describe())
}

func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.fatal("%s: %v", what, err)
	}
}

// forge makes the browser send headers with every request from now on.
func (b *tab) forge(h map[string]string) {
	b.t.Helper()
	hs := network.Headers{}
	for k, v := range h {
		hs[k] = v
	}
	if _, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{}); err != nil {
		b.fatal("enable the network domain: %v", err)
	}
	if _, err := chromedp.Call(b.ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: hs}); err != nil {
		b.fatal("set extra headers: %v", err)
	}
}

// open loads u and waits for the page it ends on, after redirects.
func (b *tab) open(u string) {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(u))
	if err != nil {
		b.fatal("open %s: %v", u, err)
	}
	if resp.Status != http.StatusOK {
		b.fatal("open %s: status %d", u, resp.Status)
	}
}

// submit clicks the button sel and waits for the page the form leads to.
func (b *tab) submit(what string, sel chromedp.Search) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(sel, chromedp.NodeVisible))
	if err != nil {
		b.fatal("%s: %v", what, err)
	}
	if resp.Status != http.StatusOK {
		b.fatal("%s: status %d", what, resp.Status)
	}
}

// fill types text into the empty input with this id.
func (b *tab) fill(id, text string) {
	b.t.Helper()
	b.do("fill #"+id, chromedp.WaitVisible(chromedp.ID(id)), chromedp.SendKeys(chromedp.ID(id), text))
}

func (b *tab) location() *url.URL {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.fatal("read the location: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.fatal("location %q: %v", loc, err)
	}
	return u
}

// expectTwostep checks that the browser is on twostep's page path with
// the heading, and, when rd is not empty, carries the app's path in rd.
func (b *tab) expectTwostep(after, path, heading, rd string) {
	b.t.Helper()
	u := b.location()
	if "http://"+u.Host != b.ts || u.Path != path {
		b.fatal("after %s the browser is at %s, want twostep's %s", after, u, path)
	}
	if rd != "" {
		if got := u.Query().Get("rd"); got != b.app+rd {
			b.fatal("after %s rd is %q, want %q", after, got, b.app+rd)
		}
	}
	h, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("main h1"), chromedp.NodeReady))
	if err != nil {
		b.fatal("read the heading: %v", err)
	}
	if strings.TrimSpace(h) != heading {
		b.fatal("after %s the heading is %q, want %q", after, h, heading)
	}
}

// expectApp checks that the browser shows the app's page path, and that
// the app received exactly this identity (each header once, or absent or
// empty when want is empty), never what the browser forged.
func (b *tab) expectApp(after, path, user, email, aal string) {
	b.t.Helper()
	if u := b.location(); u.Scheme+"://"+u.Host != b.app || u.RequestURI() != path {
		b.fatal("after %s the browser is at %s, want the app's %s", after, u, path)
	}
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[seen](`JSON.parse(document.querySelector('main').dataset.seen)`))
	if err != nil {
		b.fatal("after %s, read what the app saw: %v", after, err)
	}
	check := func(name string, got []string, want string) {
		b.t.Helper()
		ok := len(got) == 1 && got[0] == want || want == "" && (len(got) == 0 || len(got) == 1 && got[0] == "")
		if !ok {
			b.fatal("after %s the app saw %s %q, want %q", after, name, got, want)
		}
	}
	check("Remote-User", s.User, user)
	check("Remote-Email", s.Email, email)
	check("Remote-AAL", s.AAL, aal)
}

// desktop undoes the phone's emulation: back to the 1280×900 window.
var desktop = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	if _, err := cdp.Call(ctx, t, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
		return err
	}
	_, err := cdp.Call(ctx, t, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: false})
	return err
})

// screenshots saves the page at 360 px (a small phone) and at desktop
// size as prefix-name-mobile.png and prefix-name-desktop.png, reloading
// the page in each size (a GET, and the pages shot are safe to reload).
func (b *tab) screenshots(name string) {
	b.t.Helper()
	for _, size := range []struct {
		suffix string
		emu    chromedp.Action[chromedp.Void]
	}{
		{"mobile", chromedp.EmulateViewport(360, 800, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateTouch)},
		{"desktop", desktop},
	} {
		b.do("resize for "+size.suffix, size.emu, chromedp.Reload())
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			b.fatal("screenshot %s: %v", name, err)
		}
		p := filepath.Join(b.shots, fmt.Sprintf("%s-%s-%s.png", b.prefix, name, size.suffix))
		if err := os.WriteFile(p, png, 0o644); err != nil {
			b.t.Fatalf("save screenshot: %v", err)
		}
		b.t.Logf("screenshot: %s", p)
	}
}

// api calls twostep's JSON API from a twostep page, with the browser's
// session cookie, and returns the status and the decoded reply.
func (b *tab) api(path string, body any) (int, map[string]any) {
	b.t.Helper()
	in, _ := json.Marshal(body)
	type reply struct {
		Status int            `json:"status"`
		Body   map[string]any `json:"body"`
	}
	r, err := chromedp.Run(b.ctx, chromedp.Evaluate[reply](fmt.Sprintf(`(async () => {
		const init = {method: 'POST', headers: {'Content-Type': 'application/json'}};
		if (%[2]s !== null) init.body = JSON.stringify(%[2]s);
		const r = await fetch(%[1]q, init);
		const text = await r.text();
		return {status: r.status, body: text ? JSON.parse(text) : {}};
	})()`, path, in), chromedp.EvalAwaitPromise))
	if err != nil {
		b.fatal("POST %s from the browser: %v", path, err)
	}
	return r.Status, r.Body
}

const (
	formSubmit = chromedp.Search(`//main//form//button[@type="submit"]`)
	signOut    = chromedp.Search(`//header//form//button[normalize-space()="Sign out"]`)
)

// runBrowserFlow is runFlow's journeys in Chromium: signed out the app's
// pages lead to twostep's sign-in and back; a two_factor page with one
// step leads to "Confirm it's you" and back with two steps; the identity
// headers the browser forges on every request never reach the app;
// signed out, the app asks again.
func runBrowserFlow(t *testing.T, ts *testenv.Server, clock *testenv.Clock, app, prefix string) {
	const email = "ada@example.com"
	c := ts.Client()
	req, _ := http.NewRequest("POST", ts.BaseURL()+"/api/v1/signup", strings.NewReader(`{"email":"`+email+`","password":"`+goodPassword+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %d", resp.StatusCode)
	}
	u, err := ts.App.DB.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	// Two-step needs a confirmed address; the link is not what this tests.
	if err := ts.App.DB.MarkEmailVerified(t.Context(), u.ID, email, clock.Now()); err != nil {
		t.Fatal(err)
	}

	b := newTab(t, ts.BaseURL(), app, prefix)
	b.forge(forged) // on every request from here on

	// Signed out: the open page shows no one, whatever the browser forged.
	b.open(app + "/public/")
	b.expectApp("the open page signed out", "/public/", "", "", "")

	// 1. The app's page leads to twostep's sign-in, and the password back.
	b.open(app + "/orders?id=7")
	b.expectTwostep("opening the app signed out", "/signin", "Sign in", "/orders?id=7")
	b.fill("email", email)
	b.fill("password", goodPassword)
	b.submit("sign in", formSubmit)
	b.expectApp("the password", "/orders?id=7", u.ID, email, "1")
	b.screenshots("app")

	// An authenticator app and two-step on, from the same browser: the
	// session stays of one step.
	b.open(ts.BaseURL() + "/account")
	st, r := b.api("/api/v1/factors/totp", map[string]string{"label": "Phone"})
	secret, _ := r["secret"].(string)
	f, _ := r["factor"].(map[string]any)
	factorID, _ := f["id"].(string)
	if st != http.StatusCreated || secret == "" || factorID == "" {
		b.fatal("add an authenticator: %d %v", st, r)
	}
	for _, step := range []struct {
		path   string
		body   any
		status int
	}{
		{"/api/v1/factors/" + factorID + "/confirm", map[string]string{"code": testenv.OathCode(t, secret, clock.Now())}, http.StatusOK},
		{"/api/v1/factors/recovery-codes", nil, http.StatusCreated},
		{"/api/v1/two-step/enable", nil, http.StatusOK},
	} {
		if st, r := b.api(step.path, step.body); st != step.status {
			b.fatal("POST %s: %d %v, want %d", step.path, st, r, step.status)
		}
	}
	b.open(app + "/orders")
	b.expectApp("turning two-step on", "/orders", u.ID, email, "1")

	// 2. The two_factor page with one step: "Confirm it's you", a code,
	// back with two steps.
	b.open(app + "/admin/users")
	b.expectTwostep("opening the two_factor page with one step", "/account/confirm", "Confirm it's you", "")
	if next := b.location().Query().Get("next"); next != app+"/admin/users" {
		b.fatal("the second step returns to %q, want %q", next, app+"/admin/users")
	}
	b.screenshots("second-step")
	clock.Advance(30 * time.Second) // a fresh code, not the one just used
	b.fill("code", testenv.OathCode(t, secret, clock.Now()))
	b.submit("confirm with the code", formSubmit)
	b.expectApp("the code", "/admin/users", u.ID, email, "2")
	b.open(app + "/orders")
	b.expectApp("two steps", "/orders", u.ID, email, "2")

	// 4. Signed out with twostep's button: the app asks again, the open
	// page shows no one.
	b.open(ts.BaseURL() + "/account")
	b.submit("sign out", signOut)
	b.expectTwostep("signing out", "/signin", "Sign in", "")
	b.open(app + "/admin/users")
	b.expectTwostep("opening the app signed out", "/signin", "Sign in", "/admin/users")
	b.open(app + "/public/")
	b.expectApp("the open page signed out", "/public/", "", "", "")

	// Signed in again, now with both steps: password, code, back on the
	// two_factor page.
	b.open(app + "/admin/users")
	b.fill("email", email)
	b.fill("password", goodPassword)
	b.submit("sign in", formSubmit)
	b.expectTwostep("the password with two-step on", "/signin/verify", "Two-step verification", "")
	clock.Advance(30 * time.Second)
	b.fill("code", testenv.OathCode(t, secret, clock.Now()))
	b.submit("verify the code", formSubmit)
	b.expectApp("the password and the code", "/admin/users", u.ID, email, "2")
}

// TestBrowser: the journeys in Chromium behind nginx and Caddy, on both
// engines.
func TestBrowser(t *testing.T) {
	proxies := []struct {
		name  string
		start func(t *testing.T, tsURL, appURL string, cert *certFiles) string
	}{{"nginx", startNginx}, {"caddy", startCaddy}}
	for _, p := range proxies {
		for _, engine := range testenv.Engines {
			t.Run(p.name+"/"+engine, func(t *testing.T) {
				chromiumPath(t)
				ts, clock := startTwostep(t, engine)
				app := p.start(t, ts.BaseURL(), htmlApp(t).URL, newCert(t))
				runBrowserFlow(t, ts, clock, app, "proxy-"+p.name+"-"+engine)
			})
		}
	}
}
