//go:build unix

package rptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"twostep/internal/app"
	"twostep/internal/secret"
	"twostep/internal/store"
	"twostep/internal/testenv"
)

const (
	goodPassword = "correct horse battery staple 9"
	appName      = "Shop Admin"
	// browserTimeout bounds the browser's actions in one run: the whole
	// flow takes a few seconds.
	browserTimeout = 45 * time.Second
)

// missing skips the test outside CI and fails it under CI=true.
func missing(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + ": CI must run the relying-party tests (.ci/run installs it)")
	}
	t.Skip(msg + "; relying-party tests skipped outside CI")
}

// executable returns the first of paths that is an executable file.
func executable(paths ...string) string {
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// apachePath returns Apache and its modules folder, holding
// mod_auth_openidc.
func apachePath(t *testing.T) (exe, modules string) {
	t.Helper()
	candidates := []string{"/usr/sbin/apache2"}
	if p := os.Getenv("TWOSTEP_TEST_APACHE"); p != "" {
		candidates = []string{p}
	} else if p, err := exec.LookPath("apache2"); err == nil {
		candidates = append([]string{p}, candidates...)
	}
	if exe = executable(candidates...); exe == "" {
		missing(t, fmt.Sprintf("no Apache at %s (install Debian's apache2, or set TWOSTEP_TEST_APACHE)", strings.Join(candidates, ", ")))
	}
	modules = os.Getenv("TWOSTEP_TEST_APACHE_MODULES")
	if modules == "" {
		modules = "/usr/lib/apache2/modules"
	}
	if _, err := os.Stat(filepath.Join(modules, "mod_auth_openidc.so")); err != nil {
		missing(t, fmt.Sprintf("no mod_auth_openidc.so in %s (install Debian's libapache2-mod-auth-openidc, or set TWOSTEP_TEST_APACHE_MODULES)", modules))
	}
	return exe, modules
}

// chromiumPath returns the browser to drive: TWOSTEP_CHROMIUM, or Debian's
// /usr/bin/chromium.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := "/usr/bin/chromium"
	if e := os.Getenv("TWOSTEP_CHROMIUM"); e != "" {
		p = e
	}
	if executable(p) == "" {
		missing(t, "no Chromium at "+p+" (install Debian's chromium, or set TWOSTEP_CHROMIUM)")
	}
	return p
}

// screenshotDir is browsertest's: TWOSTEP_SCREENSHOT_DIR, or screenshots/
// at the repository root (go test runs in the package folder).
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

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// apacheConf is the relying party: mod_auth_openidc configured the way
// its documentation shows for a confidential client, guarding /protected/
// (a page that shows the claims it passes on), with an open
// /loggedout.html to come back to after logging out.
const apacheConf = `ServerRoot "{{dir}}"
ServerName 127.0.0.1
Listen 127.0.0.1:{{port}}
PidFile "{{dir}}/apache2.pid"
DefaultRuntimeDir "{{dir}}/run"
ErrorLog "{{dir}}/error.log"
LogLevel warn auth_openidc:info
{{user}}
LoadModule mpm_event_module {{modules}}/mod_mpm_event.so
LoadModule authn_core_module {{modules}}/mod_authn_core.so
LoadModule authz_core_module {{modules}}/mod_authz_core.so
LoadModule authz_user_module {{modules}}/mod_authz_user.so
LoadModule mime_module {{modules}}/mod_mime.so
LoadModule dir_module {{modules}}/mod_dir.so
LoadModule include_module {{modules}}/mod_include.so
LoadModule auth_openidc_module {{modules}}/mod_auth_openidc.so

StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 32
TypesConfig /etc/mime.types
AddType text/html .shtml
AddOutputFilter INCLUDES .shtml
DirectoryIndex index.shtml index.html
LogFormat "%h \"%r\" %>s" short
CustomLog "{{dir}}/access.log" short

DocumentRoot "{{dir}}/htdocs"
<Directory "{{dir}}/htdocs">
    Require all granted
    Options +Includes
</Directory>

OIDCProviderMetadataURL {{issuer}}/.well-known/openid-configuration
OIDCClientID {{client}}
OIDCClientSecret {{secret}}
OIDCRedirectURI http://127.0.0.1:{{port}}/protected/redirect_uri
OIDCCryptoPassphrase {{passphrase}}
OIDCPKCEMethod S256
OIDCScope "openid email"
OIDCPassClaimsAs both
OIDCRemoteUserClaim sub

<Location /protected/>
    AuthType openid-connect
    Require valid-user
</Location>
`

// claimsPage shows what mod_auth_openidc passed on, one element per
// claim ("(none)" for an absent one).
const claimsPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Shop Admin</title></head>
<body><h1>Shop Admin</h1>
<dl>
<dt>user</dt><dd id="user"><!--#echo var="REMOTE_USER" --></dd>
<dt>sub</dt><dd id="sub"><!--#echo var="OIDC_CLAIM_sub" --></dd>
<dt>email</dt><dd id="email"><!--#echo var="OIDC_CLAIM_email" --></dd>
<dt>email_verified</dt><dd id="email_verified"><!--#echo var="OIDC_CLAIM_email_verified" --></dd>
<dt>amr</dt><dd id="amr"><!--#echo var="OIDC_CLAIM_amr" --></dd>
<dt>acr</dt><dd id="acr"><!--#echo var="OIDC_CLAIM_acr" --></dd>
<dt>iss</dt><dd id="iss"><!--#echo var="OIDC_CLAIM_iss" --></dd>
<dt>aud</dt><dd id="aud"><!--#echo var="OIDC_CLAIM_aud" --></dd>
</dl></body></html>
`

// startApache runs Apache with mod_auth_openidc for the client, asking
// the provider at issuer. The master runs as root when the test does and
// its workers switch to www-data, as in a real installation.
func startApache(t *testing.T, issuer, clientID, clientSecret string, port int) {
	t.Helper()
	exe, modules := apachePath(t)
	// Not t.TempDir: its parent is private to the test's user, and the
	// workers run as www-data.
	dir, err := os.MkdirTemp("", "twostep-rptest-apache-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"run", "htdocs/protected"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	userLines := ""
	if os.Geteuid() == 0 {
		// Apache refuses to serve as root: the workers become www-data,
		// which must be able to use the folder.
		userLines = "User www-data\nGroup www-data"
		u, err := user.Lookup("www-data")
		if err != nil {
			t.Fatalf("Apache's workers run as www-data: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, d := range []string{dir, filepath.Join(dir, "run")} {
			if err := os.Chown(d, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer("{{dir}}", dir, "{{port}}", strconv.Itoa(port), "{{user}}", userLines,
		"{{modules}}", modules, "{{issuer}}", issuer, "{{client}}", clientID, "{{secret}}", clientSecret,
		"{{passphrase}}", secret.NewToken()).Replace(apacheConf)
	files := map[string]string{
		"apache2.conf":                 conf,
		"htdocs/protected/index.shtml": claimsPage,
		"htdocs/loggedout.html":        `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Signed out</title></head><body><h1>You are signed out of Shop Admin</h1></body></html>`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.Command(exe, "-d", dir, "-f", filepath.Join(dir, "apache2.conf"), "-DFOREGROUND")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// Apache's workers are in the master's process group.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("apache2 output:\n%s", out.String())
			for _, f := range []string{"error.log", "access.log"} {
				b, _ := os.ReadFile(filepath.Join(dir, f))
				t.Logf("apache2 %s:\n%s", f, b)
			}
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("apache2 exited at start:\n%s\n%s", out.String(), b)
		default:
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("apache2 does not listen on %d after 30s:\n%s", port, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// person is someone with an account, a password and an authenticator
// app, and two-step verification on.
type person struct {
	id, email, totpSecret string
}

// enrol signs up through twostep's JSON API and turns two-step
// verification on with a TOTP authenticator (oathtool), then signs out:
// the browser starts with nothing.
func enrol(t *testing.T, ts *testenv.Server, email string) person {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	post := func(path string, body any) (int, []byte) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest("POST", ts.BaseURL()+path, rd)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if s, b := post("/api/v1/signup", map[string]string{"email": email, "password": goodPassword}); s != http.StatusCreated {
		t.Fatalf("sign up: %d %s", s, b)
	}
	u, err := ts.App.DB.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.App.DB.MarkEmailVerified(t.Context(), u.ID, email, time.Now()); err != nil {
		t.Fatal(err) // two-step needs a confirmed address; the link is not what this tests
	}
	s, b := post("/api/v1/factors/totp", map[string]string{"label": "Phone"})
	var totp struct {
		Secret string              `json:"secret"`
		Factor struct{ ID string } `json:"factor"`
	}
	if json.Unmarshal(b, &totp); s != http.StatusCreated || totp.Secret == "" {
		t.Fatalf("add authenticator: %d %s", s, b)
	}
	// Confirmed with the previous step's code (inside the allowed skew),
	// so the browser can use the code of the current step at once: a
	// used step is never accepted again.
	confirm := "/api/v1/factors/" + totp.Factor.ID + "/confirm"
	s, b = post(confirm, map[string]string{"code": testenv.OathCode(t, totp.Secret, time.Now().Add(-30*time.Second))})
	if s != http.StatusOK {
		// The step turned between the code and the check: once more.
		s, b = post(confirm, map[string]string{"code": testenv.OathCode(t, totp.Secret, time.Now().Add(-30*time.Second))})
	}
	if s != http.StatusOK {
		t.Fatalf("confirm the authenticator: %d %s", s, b)
	}
	for _, step := range []struct {
		path   string
		status int
	}{
		{"/api/v1/factors/recovery-codes", http.StatusCreated},
		{"/api/v1/two-step/enable", http.StatusOK},
		{"/api/v1/signout", http.StatusNoContent},
	} {
		if s, b := post(step.path, nil); s != step.status {
			t.Fatalf("%s: %d %s, want %d", step.path, s, b, step.status)
		}
	}
	return person{id: u.ID, email: email, totpSecret: totp.Secret}
}

// browser is one headless Chromium with one tab.
type browser struct {
	t    *testing.T
	ctx  context.Context // for actions: ends browserTimeout after the start
	tab  context.Context // without the deadline, to describe the page
	shot string

	mu      sync.Mutex
	console []string // errors and warnings the pages logged
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	tab := testenv.Chromium(t, chromiumPath(t), browserTimeout)
	ctx, cancel := context.WithTimeout(tab, browserTimeout)
	t.Cleanup(cancel)
	b := &browser{t: t, ctx: ctx, tab: tab, shot: screenshotDir(t)}
	// What the pages log, such as a Content-Security-Policy violation,
	// shown when the test fails.
	messages := chromedp.Console(tab)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleException, chromedp.ConsoleWarning:
				b.mu.Lock()
				b.console = append(b.console, fmt.Sprintf("%s: %s %s", m.Type, m.Text, m.URL))
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// fatal stops the test, saying what failed and what the page shows.
func (b *browser) fatal(format string, args ...any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, 5*time.Second)
	defer cancel()
	type state struct {
		URL   string `json:"url"`
		Title string `json:"title"`
		Body  string `json:"body"`
	}
	s, err := chromedp.Run(ctx, chromedp.Evaluate[state](`({url: location.href, title: document.title, body: document.body ? document.body.innerText : ""})`))
	page := fmt.Sprintf("(could not read the page: %v)", err)
	if err == nil {
		body := strings.Join(strings.Fields(s.Body), " ")
		if len(body) > 600 {
			body = body[:600] + "…"
		}
		page = fmt.Sprintf("\n  url:   %s\n  title: %q\n  body:  %q", s.URL, s.Title, body)
	}
	b.mu.Lock()
	console := strings.Join(b.console, "\n  ")
	b.mu.Unlock()
	b.t.Fatalf("%s\npage:%s\nbrowser console:\n  %s", fmt.Sprintf(format, args...), page, console)
}

// open loads u, follows the redirects, and checks the final status.
func (b *browser) open(u string, wantStatus int64) {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(u))
	if err != nil {
		b.fatal("open %s: %v", u, err)
	}
	if resp.Status != wantStatus {
		b.fatal("open %s: status %d, want %d", u, resp.Status, wantStatus)
	}
}

// submit clicks the button sel and checks the status of the page it
// leads to (after redirects).
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

// fill types text into the empty input with this id.
func (b *browser) fill(id, text string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.WaitVisible(chromedp.ID(id)), chromedp.SendKeys(chromedp.ID(id), text)); err != nil {
		b.fatal("fill #%s: %v", id, err)
	}
}

// text is the text of the first element the CSS selector matches.
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
	if got := b.text("h1"); got != want {
		b.fatal("heading is %q, want %q", got, want)
	}
}

// expectText checks that the page shows text.
func (b *browser) expectText(text string) {
	b.t.Helper()
	body, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		b.fatal("read the page text: %v", err)
	}
	if !strings.Contains(strings.Join(strings.Fields(body), " "), text) {
		b.fatal("the page does not show %q", text)
	}
}

// expectAt checks the page's address without its query: origin and path.
func (b *browser) expectAt(after, want string) *url.URL {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.fatal("read the location: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.fatal("location %q: %v", loc, err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != want {
		b.fatal("after %s the browser is at %s, want %s", after, loc, want)
	}
	return u
}

// screenshots saves the page as name-desktop.png and, at 360 px wide
// like a small phone, name-mobile.png, checking that nothing scrolls
// sideways there.
func (b *browser) screenshots(name string) {
	b.t.Helper()
	save := func(file string) {
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			b.fatal("screenshot %s: %v", file, err)
		}
		path := filepath.Join(b.shot, file)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			b.t.Fatalf("save screenshot: %v", err)
		}
		b.t.Logf("screenshot: %s", path)
	}
	// An explicit desktop viewport: after a phone's, clearing the
	// emulation left the page laid out at 360 px.
	desktop := func() {
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			b.fatal("emulate a desktop window: %v", err)
		}
	}
	desktop()
	save(name + "-desktop.png")
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(360, 800,
		chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateTouch)); err != nil {
		b.fatal("emulate a 360 px phone: %v", err)
	}
	wide, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		b.fatal("measure the page: %v", err)
	}
	if wide > 360 {
		b.fatal("%s scrolls sideways at 360 px: scrollWidth %d", name, wide)
	}
	save(name + "-mobile.png")
	desktop()
}

const submitButton = chromedp.Search(`//main//form//button[@type="submit"]`)

// TestApacheSignsInThroughTwostep: a person opens an app guarded by
// Apache's mod_auth_openidc, signs in on twostep's pages with a password
// and an authenticator code, allows the app, and sees the app with
// twostep's claims; logging out of the app ends the twostep session.
func TestApacheSignsInThroughTwostep(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) { runApache(t, engine) })
	}
}

func runApache(t *testing.T, engine string) {
	apachePath(t)
	chromiumPath(t)
	cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
	// The wall clock, not a test clock: Apache checks the ID token's iat
	// and exp against its own.
	ts := testenv.Start(t, cfg, app.Options{Now: time.Now})
	issuer := ts.BaseURL()

	port := freePort(t)
	rp := fmt.Sprintf("http://127.0.0.1:%d", port)
	clientID, clientSecret := "apache-"+strings.ToLower(secret.NewToken()[:12]), secret.NewToken()
	if err := ts.App.DB.CreateOIDCClient(t.Context(), store.OIDCClient{ID: clientID, Name: appName, SecretHash: secret.Hash(clientSecret),
		RedirectURIs: []string{rp + "/protected/redirect_uri"}, PostLogoutRedirectURIs: []string{rp + "/loggedout.html"},
		CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	startApache(t, issuer, clientID, clientSecret, port)
	p := enrol(t, ts, fmt.Sprintf("shopper.%s@example.com", engine))
	b := newBrowser(t)
	shot := "rp-apache-" + engine + "-"

	// The app sends the browser to twostep, which asks who it is, naming
	// the app.
	b.open(rp+"/protected/", 200)
	b.expectAt("opening the app", issuer+"/signin")
	b.expectHeading("Sign in")
	b.expectText("Sign in to continue to " + appName + ".")
	b.screenshots(shot + "signin")

	b.fill("email", p.email)
	b.fill("password", goodPassword)
	b.submit("sign in", submitButton, 200)
	b.expectHeading("Two-step verification")
	b.fill("code", testenv.OathCode(t, p.totpSecret, time.Now()))
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.ID("remember"), chromedp.NodeVisible)); err != nil {
		b.fatal("tick \"Don't ask again on this browser\": %v", err)
	}
	b.submit("enter the code", `//main//form[@action="/signin/verify"]//button[@type="submit"]`, 200)

	// An app that is not first-party is allowed by the person, once.
	b.expectAt("the second step", issuer+"/oidc/continue")
	b.expectHeading("Allow " + appName + "?")
	b.expectText(appName + " is asking to use your")
	b.expectText(p.email)
	b.screenshots(shot + "consent")
	b.submit("allow the app", `//main//form//button[@value="allow"]`, 200)

	// Back in the app, which received twostep's claims: both steps.
	b.expectAt("allowing the app", rp+"/protected/")
	b.expectClaims(map[string]string{"user": p.id, "sub": p.id, "email": p.email, "email_verified": "1",
		"acr": "aal2", "iss": issuer, "aud": clientID}, "pwd", "otp", "mfa")

	// Logging out of the app logs out of twostep too, and comes back to
	// the app's page for it.
	b.open(rp+"/protected/redirect_uri?logout="+url.QueryEscape(rp+"/loggedout.html"), 200)
	b.expectAt("logging out", rp+"/loggedout.html")
	b.expectHeading("You are signed out of " + appName)
	b.open(issuer+"/account", 200)
	b.expectAt("opening the account page after logging out", issuer+"/signin")
	b.open(rp+"/protected/", 200)
	b.expectAt("opening the app after logging out", issuer+"/signin")
	b.expectText("Sign in to continue to " + appName + ".")

	// Signing in again on this browser, remembered at the second step:
	// the password is enough, the app is not asked about again, and the
	// sign-in still counts as two steps (RFC 8176: pwd and mfa; no code
	// was typed this time).
	b.fill("email", p.email)
	b.fill("password", goodPassword)
	b.submit("sign in again", submitButton, 200)
	b.expectAt("signing in again", rp+"/protected/")
	b.expectClaims(map[string]string{"sub": p.id, "email": p.email, "acr": "aal2"}, "pwd", "mfa")
}

// expectClaims checks the claims page of the app: each claim in want,
// and amr holding each of amr.
func (b *browser) expectClaims(want map[string]string, amr ...string) {
	b.t.Helper()
	b.expectHeading(appName)
	got := map[string]string{}
	for _, c := range []string{"user", "sub", "email", "email_verified", "amr", "acr", "iss", "aud"} {
		got[c] = b.text("#" + c)
	}
	b.t.Logf("claims the app received: %v", got)
	var wrong []string
	for name, w := range want {
		if got[name] != w {
			wrong = append(wrong, fmt.Sprintf("%s %q, want %q", name, got[name], w))
		}
	}
	for _, m := range amr {
		if !contains(strings.Split(got["amr"], ","), m) {
			wrong = append(wrong, fmt.Sprintf("amr %q, want it to hold %q", got["amr"], m))
		}
	}
	if len(wrong) > 0 {
		b.fatal("the app received %s", strings.Join(wrong, "; "))
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.TrimSpace(v) == s {
			return true
		}
	}
	return false
}
