package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/delivery"
	"twostep/internal/secret"
	"twostep/internal/testenv"
)

// env is one running twostep and its clock.
type env struct {
	t     *testing.T
	srv   *testenv.Server
	clock *testenv.Clock
}

func start(t *testing.T, engine string, adjust ...func(*app.Options)) *env {
	t.Helper()
	clock := testenv.NewClock()
	cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
	o := app.Options{Now: clock.Now}
	for _, f := range adjust {
		f(&o)
	}
	return &env{t: t, srv: testenv.Start(t, cfg, o), clock: clock}
}

// forEngine runs f as a subtest on SQLite and on PostgreSQL.
func forEngine(t *testing.T, f func(t *testing.T, e *env)) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			f(t, start(t, engine))
		})
	}
}

// reply is a decoded response.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

func (r reply) str(key string) string {
	v, _ := r.JSON[key].(string)
	return v
}

// call sends a JSON request. body may be nil, a string (sent as is) or a
// value to encode.
func (e *env) call(c *http.Client, method, path string, body any) reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.srv.BaseURL()+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if len(raw) > 0 && raw[0] == '{' {
		json.Unmarshal(raw, &r.JSON)
	}
	return r
}

// want fails the test unless the reply has the status (and code, if given).
func (e *env) want(r reply, status int, code string) {
	e.t.Helper()
	if r.Status != status {
		e.t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	if code != "" && r.str("code") != code {
		e.t.Fatalf("code = %q, want %q; body %s", r.str("code"), code, r.Body)
	}
	if status >= 400 {
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
			e.t.Fatalf("error Content-Type = %q, want application/problem+json", ct)
		}
		if r.str("detail") == "" || r.str("title") == "" {
			e.t.Fatalf("problem without title/detail: %s", r.Body)
		}
	}
}

const goodPassword = "correct horse battery staple"

// signup creates an account with a fresh client, confirms its e-mail
// address (two-step verification needs it) and returns the client.
func (e *env) signup(email string) *http.Client {
	e.t.Helper()
	c := e.srv.Client()
	r := e.call(c, "POST", "/api/v1/signup", map[string]string{"email": email, "password": goodPassword})
	e.want(r, http.StatusCreated, "")
	e.verifyEmail(email)
	return c
}

// outbox returns the messages sent to addr, newest first, after waiting
// for background sends.
func (e *env) outbox(addr string) []delivery.Sent {
	e.t.Helper()
	e.srv.App.Account.Flush()
	msgs, err := e.srv.App.Outbox.List(e.t.Context(), addr, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return msgs
}

// tokenFrom extracts the token from the newest message to addr whose
// subject contains subject.
func (e *env) tokenFrom(addr, subject string) string {
	e.t.Helper()
	for _, m := range e.outbox(addr) {
		if strings.Contains(m.Subject, subject) {
			return m.Code
		}
	}
	e.t.Fatalf("no message %q to %s", subject, addr)
	return ""
}

func cookieNamed(c *http.Client, base, name string) *http.Cookie {
	req, _ := http.NewRequest("GET", base, nil)
	for _, ck := range c.Jar.Cookies(req.URL) {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

func (e *env) advance(d time.Duration) { e.clock.Advance(d) }

// wantAMR fails the test unless the stored session of client c records
// that its sign-in used want (RFC 8176 amr values, in order).
func (e *env) wantAMR(c *http.Client, want ...string) {
	e.t.Helper()
	ck := cookieNamed(c, e.srv.BaseURL(), "twostep_session")
	if ck == nil {
		e.t.Fatal("no session cookie")
	}
	sess, _, err := e.srv.App.DB.SessionByTokenHash(e.t.Context(), secret.Hash(ck.Value))
	if err != nil {
		e.t.Fatalf("stored session: %v", err)
	}
	if !slices.Equal(sess.AMR, want) {
		e.t.Fatalf("session amr = %q, want %q", sess.AMR, want)
	}
}
