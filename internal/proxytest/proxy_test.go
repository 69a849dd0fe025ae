//go:build unix

package proxytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/testenv"
)

const goodPassword = "correct horse battery staple"

// rules: everything the proxy serves is on "localhost"; /public is open,
// /blocked refused, /admin needs two steps, the rest one.
var rules = config.AccessControl{DefaultPolicy: "deny", Rules: []config.AccessRule{
	{Domain: []string{"localhost"}, Resources: []string{"^/public"}, Policy: "bypass"},
	{Domain: []string{"localhost"}, Resources: []string{"^/blocked"}, Policy: "deny"},
	{Domain: []string{"localhost"}, Resources: []string{"^/admin"}, Policy: "two_factor"},
	{Domain: []string{"localhost"}, Policy: "one_factor"},
}}

// findProxy returns the program named by env, else the first of names
// found on PATH or as a path. Without one the test is skipped, or fails
// under CI.
func findProxy(t *testing.T, env string, names ...string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", env, p, err)
		}
		return p
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("none of %s found (or set %s)", strings.Join(names, ", "), env)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + ": CI must test behind the real proxy (.ci/run installs it)")
	}
	t.Skip(msg + "; real-proxy tests skipped outside CI")
	return ""
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

// runProxy starts cmd in a process group of its own, waits until port
// accepts connections, and stops the whole group at the end of the test.
// logs are printed when the test failed.
func runProxy(t *testing.T, cmd *exec.Cmd, port int, logs ...string) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(cmd.Path), out.String())
			for _, f := range logs {
				b, _ := os.ReadFile(f)
				t.Logf("%s:\n%s", f, b)
			}
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("%s exited at start:\n%s", filepath.Base(cmd.Path), out.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %d after 30s:\n%s", filepath.Base(cmd.Path), port, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// seen is what the app received: every value of each identity header,
// nil when the header was absent.
type seen struct {
	User  []string `json:"user"`
	Email []string `json:"email"`
	AAL   []string `json:"aal"`
	Path  string   `json:"path"`
}

// echoApp is the protected app: it answers with the identity headers it
// received.
func echoApp(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(seen{User: r.Header.Values("Remote-User"), Email: r.Header.Values("Remote-Email"), AAL: r.Header.Values("Remote-AAL"), Path: r.URL.RequestURI()})
	}))
	t.Cleanup(s.Close)
	return s
}

// startTwostep runs twostep on localhost with the rules, believing the
// proxy's X-Forwarded-For.
func startTwostep(t *testing.T, engine string) (*testenv.Server, *testenv.Clock) {
	cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
	cfg.AccessControl = rules
	cfg.Server.TrustProxy = config.Proxies{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
	clock := testenv.NewClock()
	return testenv.Start(t, cfg, app.Options{Now: clock.Now}), clock
}

func hostPort(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// startNginx runs nginx with the README's auth_request configuration in
// front of appURL, asking twostep at tsURL. It returns the app's address
// through nginx: https with cert, else http.
func startNginx(t *testing.T, tsURL, appURL string, cert *certFiles) string {
	exe := findProxy(t, "TWOSTEP_TEST_NGINX", "nginx", "/usr/sbin/nginx")
	dir := t.TempDir()
	port := freePort(t)
	user := ""
	if os.Geteuid() == 0 {
		// The workers would run as nobody and could not use the temp
		// directories the root master makes in dir.
		user = "user root root;"
	}
	ts := hostPort(t, tsURL)
	scheme, listen := "http", ""
	if cert != nil {
		scheme, listen = "https", fmt.Sprintf(" ssl;\n        ssl_certificate %s;\n        ssl_certificate_key %s", cert.cert, cert.key)
	}
	conf := fmt.Sprintf(`%[1]s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log info;
events { worker_connections 64; }
http {
    access_log %[2]s/access.log;
    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;

    server {
        listen 127.0.0.1:%[3]d%[6]s;
        server_name localhost;

        location = /_twostep {
            internal;
            proxy_pass http://%[4]s/api/v1/authz/auth-request;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Forwarded-For $remote_addr;
        }

        location / {
            auth_request /_twostep;
            auth_request_set $user  $upstream_http_remote_user;
            auth_request_set $email $upstream_http_remote_email;
            auth_request_set $aal   $upstream_http_remote_aal;
            auth_request_set $signin $upstream_http_location;
            error_page 401 =302 $signin;
            proxy_set_header Remote-User  $user;
            proxy_set_header Remote-Email $email;
            proxy_set_header Remote-AAL   $aal;
            proxy_pass %[5]s;
        }
    }
}
`, user, dir, port, ts, appURL, listen)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// -e: the error log before the configuration is read (the compiled-in
	// one is under /var/log).
	cmd := exec.Command(exe, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	runProxy(t, cmd, port, filepath.Join(dir, "error.log"))
	return fmt.Sprintf("%s://localhost:%d", scheme, port)
}

// startCaddy runs Caddy with the README's forward_auth configuration:
// https with cert, else http.
func startCaddy(t *testing.T, tsURL, appURL string, cert *certFiles) string {
	exe := findProxy(t, "TWOSTEP_TEST_CADDY", "caddy")
	dir := t.TempDir()
	port := freePort(t)
	scheme, tls := "http", ""
	if cert != nil {
		scheme, tls = "https", fmt.Sprintf("tls %s %s", cert.cert, cert.key)
	}
	conf := fmt.Sprintf(`{
	admin off
	auto_https off
	persist_config off
	storage file_system %[1]s/data
}

%[5]s://localhost:%[2]d {
	bind 127.0.0.1
	%[6]s
	forward_auth %[3]s {
		uri /api/v1/authz/forward-auth
		copy_headers Remote-User Remote-Email Remote-AAL
	}
	reverse_proxy %[4]s
}
`, dir, port, hostPort(t, tsURL), hostPort(t, appURL), scheme, tls)
	if err := os.WriteFile(filepath.Join(dir, "Caddyfile"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "run", "--config", filepath.Join(dir, "Caddyfile"), "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir+"/config", "XDG_DATA_HOME="+dir+"/data")
	runProxy(t, cmd, port)
	return fmt.Sprintf("%s://localhost:%d", scheme, port)
}

// flow is one person's browser: a cookie jar shared by twostep and the
// proxied app, both on localhost.
type flow struct {
	t   *testing.T
	ts  *testenv.Server
	app string // the app's address through the proxy
	c   *http.Client
}

type answer struct {
	status   int
	location string
	seen     *seen // what the app received, nil when it was not reached
	body     string
}

var forged = map[string]string{"Remote-User": "admin", "Remote-Email": "boss@example.com", "Remote-AAL": "2"}

func (f *flow) get(path string, header map[string]string) answer {
	f.t.Helper()
	req, err := http.NewRequest("GET", f.app+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := f.c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b)}
	if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var s seen
		if json.Unmarshal(b, &s) == nil && s.Path != "" {
			a.seen = &s
		}
	}
	return a
}

func (f *flow) post(path string, body any) int {
	f.t.Helper()
	s, _ := f.postBody(path, body)
	return s
}

func (f *flow) postBody(path string, body any) (int, []byte) {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest("POST", f.ts.BaseURL()+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (f *flow) signinURL(page, path string) string {
	return f.ts.BaseURL() + page + "?rd=" + url.QueryEscape(f.app+path)
}

// wantSentTo: the app was not reached; the answer is status with page
// (and path on the app as rd) in Location.
func (f *flow) wantSentTo(a answer, status int, page, path string) {
	f.t.Helper()
	if want := f.signinURL(page, path); a.status != status || a.location != want {
		f.t.Fatalf("GET %s: %d Location %q, want %d to %q; body %s", path, a.status, a.location, status, want, a.body)
	}
	if a.seen != nil {
		f.t.Fatalf("GET %s: the app was reached: %+v", path, *a.seen)
	}
}

// wantIdentity: the app was reached and saw exactly this identity (each
// header once, or absent when empty), never what the client forged.
func (f *flow) wantIdentity(a answer, user, email, aal string) {
	f.t.Helper()
	if a.status != http.StatusOK || a.seen == nil {
		f.t.Fatalf("%d, app not reached; body %s", a.status, a.body)
	}
	check := func(name string, got []string, want string) {
		f.t.Helper()
		ok := len(got) == 1 && got[0] == want || want == "" && (len(got) == 0 || len(got) == 1 && got[0] == "")
		if !ok {
			f.t.Errorf("%s: the app saw %s %q, want %q", a.seen.Path, name, got, want)
		}
	}
	check("Remote-User", a.seen.User, user)
	check("Remote-Email", a.seen.Email, email)
	check("Remote-AAL", a.seen.AAL, aal)
}

func merge(a, b map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

var (
	browser = map[string]string{"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
	script  = map[string]string{"Accept": "application/json"}
)

// runFlow drives one person through the proxy: signed out, signed up,
// on a two_factor page, signed out, signed in again, then with two-step
// verification on, signed in with both steps. A signed-out browser
// gets 302 from both proxies (Caddy passes twostep's 302 on, nginx turns
// its 401 into one); scriptStatus is what a signed-out script gets (401
// from Caddy, 302 from nginx, whose error_page does not look at Accept).
func runFlow(t *testing.T, ts *testenv.Server, clock *testenv.Clock, app string, scriptStatus int) {
	jar, _ := cookiejar.New(nil)
	f := &flow{t: t, ts: ts, app: app, c: &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	anon := &flow{t: t, ts: ts, app: app, c: &http.Client{Timeout: 30 * time.Second, CheckRedirect: f.c.CheckRedirect}}

	// Signed out: the open page is served with no identity, whatever the
	// client forged; the others send the browser to sign in and back; the
	// blocked page is refused; the app is never reached.
	f.wantIdentity(f.get("/public/", merge(browser, forged)), "", "", "")
	f.wantSentTo(f.get("/orders?id=7&x=%2F", merge(browser, forged)), http.StatusFound, "/signin", "/orders?id=7&x=%2F")
	f.wantSentTo(f.get("/orders", merge(script, forged)), scriptStatus, "/signin", "/orders")
	f.wantSentTo(f.get("/admin/users", browser), http.StatusFound, "/signin", "/admin/users")
	if a := f.get("/blocked", merge(browser, forged)); a.status != http.StatusForbidden || a.seen != nil {
		t.Fatalf("blocked: %d, app reached %v", a.status, a.seen != nil)
	}

	// Signed up (signed in with one step) in the same browser: the
	// session cookie from twostep reaches the proxy; the app sees who,
	// never what was forged.
	if s := f.post("/api/v1/signup", map[string]string{"email": "one@example.com", "password": goodPassword}); s != http.StatusCreated {
		t.Fatalf("signup: %d", s)
	}
	u, err := ts.App.DB.UserByEmail(t.Context(), "one@example.com")
	if err != nil {
		t.Fatal(err)
	}
	id := u.ID
	f.wantIdentity(f.get("/orders?id=7", merge(browser, forged)), id, "one@example.com", "1")
	f.wantIdentity(f.get("/orders", merge(script, forged)), id, "one@example.com", "1")
	f.wantIdentity(f.get("/public/", forged), id, "one@example.com", "1")
	// A two_factor page with one step: sent to the second step, not in.
	f.wantSentTo(f.get("/admin/users", merge(browser, forged)), http.StatusFound, "/signin/second-step", "/admin/users")
	if a := f.get("/blocked", browser); a.status != http.StatusForbidden || a.seen != nil {
		t.Fatalf("blocked, signed in: %d, app reached %v", a.status, a.seen != nil)
	}
	// The session cookie is not what makes a forged header pass: another
	// client with no cookie still gets nothing.
	anon.wantSentTo(anon.get("/orders", merge(browser, forged)), http.StatusFound, "/signin", "/orders")

	// Signed out: the app asks again, also for the old cookie replayed.
	old := jar.Cookies(mustURL(t, ts.BaseURL()))
	if s := f.post("/api/v1/signout", nil); s != http.StatusNoContent {
		t.Fatalf("signout: %d", s)
	}
	f.wantSentTo(f.get("/orders", browser), http.StatusFound, "/signin", "/orders")
	var pairs []string
	for _, c := range old {
		pairs = append(pairs, c.Name+"="+c.Value)
	}
	if len(pairs) == 0 {
		t.Fatal("no cookie was set by the sign-up")
	}
	anon.wantSentTo(anon.get("/orders", merge(browser, map[string]string{"Cookie": strings.Join(pairs, "; ")})), http.StatusFound, "/signin", "/orders")

	// Signed in again with the password: in again.
	if s := f.post("/api/v1/signin", map[string]string{"email": "one@example.com", "password": goodPassword}); s != http.StatusOK {
		t.Fatalf("signin: %d", s)
	}
	f.wantIdentity(f.get("/orders", merge(browser, forged)), id, "one@example.com", "1")

	// With two-step verification on, a fresh sign-in with both steps
	// opens the two_factor page, and the app sees two steps.
	if err := ts.App.DB.MarkEmailVerified(t.Context(), id, "one@example.com", clock.Now()); err != nil {
		t.Fatal(err) // two-step needs a confirmed address; the link is not what this tests
	}
	s, b := f.postBody("/api/v1/factors/totp", map[string]string{"label": "Phone"})
	var totp struct {
		Secret string              `json:"secret"`
		Factor struct{ ID string } `json:"factor"`
	}
	if json.Unmarshal(b, &totp); s != http.StatusCreated || totp.Secret == "" {
		t.Fatalf("add authenticator: %d %s", s, b)
	}
	for _, step := range []struct {
		path   string
		body   any
		status int
	}{
		{"/api/v1/factors/" + totp.Factor.ID + "/confirm", map[string]string{"code": testenv.OathCode(t, totp.Secret, clock.Now())}, http.StatusOK},
		{"/api/v1/factors/recovery-codes", nil, http.StatusCreated},
		{"/api/v1/two-step/enable", nil, http.StatusOK},
		{"/api/v1/signout", nil, http.StatusNoContent},
		{"/api/v1/signin", map[string]string{"email": "one@example.com", "password": goodPassword}, http.StatusOK},
	} {
		if s, b := f.postBody(step.path, step.body); s != step.status {
			t.Fatalf("%s: %d %s, want %d", step.path, s, b, step.status)
		}
	}
	// Between the password and the code the session is not one yet.
	f.wantSentTo(f.get("/orders", browser), http.StatusFound, "/signin", "/orders")
	clock.Advance(30 * time.Second) // a fresh code, not the one just used
	if s, b := f.postBody("/api/v1/signin/verify", map[string]any{"method_id": totp.Factor.ID, "code": testenv.OathCode(t, totp.Secret, clock.Now()), "remember_device": false}); s != http.StatusOK {
		t.Fatalf("second step: %d %s", s, b)
	}
	f.wantIdentity(f.get("/admin/users", merge(browser, forged)), id, "one@example.com", "2")
	f.wantIdentity(f.get("/orders", merge(script, forged)), id, "one@example.com", "2")
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestNginx: nginx's auth_request, configured as the README shows.
func TestNginx(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			ts, clock := startTwostep(t, engine)
			app := startNginx(t, ts.BaseURL(), echoApp(t).URL, nil)
			runFlow(t, ts, clock, app, http.StatusFound)
		})
	}
}

// TestCaddy: Caddy's forward_auth, configured as the README shows.
func TestCaddy(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			ts, clock := startTwostep(t, engine)
			app := startCaddy(t, ts.BaseURL(), echoApp(t).URL, nil)
			runFlow(t, ts, clock, app, http.StatusUnauthorized)
		})
	}
}
