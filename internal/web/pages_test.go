package web_test

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/testenv"
)

type site struct {
	t     *testing.T
	srv   *testenv.Server
	c     *http.Client
	clock *testenv.Clock
}

func newSite(t *testing.T) *site {
	clock := testenv.NewClock()
	cfg := testenv.Config(t, testenv.DatabaseURL(t, "sqlite"))
	srv := testenv.Start(t, cfg, app.Options{Now: clock.Now})
	return &site{t: t, srv: srv, c: srv.Client(), clock: clock}
}

// do sends a request and returns status, Location and body.
func (s *site) do(method, path string, form url.Values) (int, string, string) {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, s.srv.BaseURL()+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept-Language", "en-GB,en;q=0.8")
	resp, err := s.c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func (s *site) want(status int, gotStatus int, body string, contains ...string) {
	s.t.Helper()
	if gotStatus != status {
		s.t.Fatalf("status = %d, want %d\n%.600s", gotStatus, status, body)
	}
	for _, c := range contains {
		if !strings.Contains(body, c) {
			s.t.Fatalf("page lacks %q:\n%.1500s", c, body)
		}
	}
}

func TestPagesRenderAndRefuseBadInput(t *testing.T) {
	s := newSite(t)
	for _, p := range []string{"/signin", "/signup", "/forgot-password", "/static/style.css", "/dev/outbox"} {
		st, _, body := s.do("GET", p, nil)
		s.want(200, st, body)
	}
	st, loc, _ := s.do("GET", "/account", nil)
	if st != http.StatusSeeOther || loc != "/signin" {
		t.Fatalf("signed-out /account = %d %s, want a redirect to /signin", st, loc)
	}
	st, _, body := s.do("POST", "/signup", url.Values{"email": {"bad"}, "password": {"correct horse battery"}})
	s.want(400, st, body, `id="email-error"`, "not an e-mail address")
	st, _, body = s.do("POST", "/signin", url.Values{"email": {"x\xff@example.com"}, "password": {"y"}})
	s.want(400, st, body, "read that form")
	st, _, body = s.do("GET", "/reset-password?token=forged", nil)
	s.want(400, st, body, "invalid, has expired or was already used")
	st, _, body = s.do("GET", "/nowhere", nil)
	s.want(404, st, body)
}

func TestStepUpWithAPhoneOnThePages(t *testing.T) {
	s := newSite(t)
	st, loc, _ := s.do("POST", "/signup", url.Values{"email": {"pages@example.com"}, "password": {"correct horse battery"}})
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/account") {
		t.Fatalf("sign-up = %d %s", st, loc)
	}
	s.verifyEmail("pages@example.com")
	// The phone form defaults the country from Accept-Language.
	st, _, body := s.do("GET", "/account/two-step/phone?step=1", nil)
	s.want(200, st, body, `<option value="GB" selected>`)
	st, _, body = s.do("POST", "/account/two-step/phone", url.Values{"country": {"GB"}, "phone": {"07400 123456"}, "channel": {"sms"}, "step": {"1"}})
	s.want(200, st, body, "Is this your number?", "44 7400 123456")
	st, loc, _ = s.do("POST", "/account/two-step/phone/send", url.Values{"phone": {"+447400123456"}, "channel": {"sms"}, "step": {"1"}})
	if st != http.StatusSeeOther || !strings.Contains(loc, "factor=") {
		t.Fatalf("send = %d %s", st, loc)
	}
	st, _, body = s.do("GET", loc, nil)
	s.want(200, st, body, "Enter the code", "456", `data-wait="30"`)
	factor := loc[strings.Index(loc, "factor=")+7:]
	s.srv.App.Account.Flush()
	msgs, _ := s.srv.App.Outbox.List(t.Context(), "+447400123456", 5)
	if len(msgs) != 1 {
		t.Fatalf("%d texts in the outbox", len(msgs))
	}
	st, loc, _ = s.do("POST", "/account/two-step/setup/confirm", url.Values{"factor": {factor}, "step": {"1"}, "code": {msgs[0].Code}})
	if st != http.StatusSeeOther || !strings.Contains(loc, "step=2") {
		t.Fatalf("confirm = %d %s", st, loc)
	}
	st, _, body = s.do("POST", "/account/two-step/setup/recovery", url.Values{})
	s.want(200, st, body, "Your recovery codes")
	st, loc, _ = s.do("POST", "/account/two-step/enable", url.Values{})
	if st != http.StatusSeeOther || !strings.Contains(loc, "two_step_on") {
		t.Fatalf("enable = %d %s", st, loc)
	}

	// Later, a sensitive change asks to confirm with a code sent to the phone.
	s.clock.Advance(11 * time.Minute)
	st, loc, _ = s.do("POST", "/account/devices/forget-all", url.Values{})
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/account/confirm?next=") {
		t.Fatalf("stale step-up = %d %s, want the confirm page", st, loc)
	}
	st, _, body = s.do("GET", loc, nil)
	s.want(200, st, body, "Confirm it&#39;s you", "Send a code to")
	st, loc, _ = s.do("POST", "/account/confirm/send", url.Values{"next": {"/account/two-step"}, "method_id": {factor}})
	if st != http.StatusSeeOther || !strings.Contains(loc, "sent=1") {
		t.Fatalf("confirm/send = %d %s", st, loc)
	}
	s.srv.App.Account.Flush()
	msgs, _ = s.srv.App.Outbox.List(t.Context(), "+447400123456", 5)
	st, loc, _ = s.do("POST", "/account/confirm", url.Values{"next": {"/account/two-step"}, "method_id": {factor}, "code": {msgs[0].Code}})
	if st != http.StatusSeeOther || loc != "/account/two-step" {
		t.Fatalf("confirm = %d %s, want back to /account/two-step", st, loc)
	}
	st, loc, _ = s.do("POST", "/account/devices/forget-all", url.Values{})
	if st != http.StatusSeeOther || !strings.Contains(loc, "devices_forgotten") {
		t.Fatalf("after step-up = %d %s", st, loc)
	}
	// A hostile next with the right code: the step-up succeeds and the
	// browser lands on the account page, not off-site.
	s.clock.Advance(31 * time.Second)
	st, loc, _ = s.do("POST", "/account/confirm/send", url.Values{"next": {"//evil.example/account"}, "method_id": {factor}})
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/account/confirm?next=%2Faccount&") {
		t.Fatalf("confirm/send with a hostile next = %d %s, want the confirm page with next=/account", st, loc)
	}
	s.srv.App.Account.Flush()
	msgs, _ = s.srv.App.Outbox.List(t.Context(), "+447400123456", 5)
	st, loc, _ = s.do("POST", "/account/confirm", url.Values{"next": {"https://evil.example/"}, "method_id": {factor}, "code": {msgs[0].Code}})
	if st != http.StatusSeeOther || loc != "/account" {
		t.Fatalf("confirm with the right code and next=https://evil.example/ = %d %q, want a redirect to /account", st, loc)
	}
}

// TestConfirmReturnsOnlyToAccountPages confirms with the right password
// and a next address each time: the page's own addresses are where the
// browser goes; every hostile one lands on /account. The confirm form
// never carries a hostile next either.
func TestConfirmReturnsOnlyToAccountPages(t *testing.T) {
	s := newSite(t)
	const password = "correct horse battery"
	st, loc, _ := s.do("POST", "/signup", url.Values{"email": {"next@example.com"}, "password": {password}})
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/account") {
		t.Fatalf("sign-up = %d %s", st, loc)
	}
	for _, tt := range []struct{ next, want string }{
		{"/account/two-step", "/account/two-step"},
		{"/account/two-step?x=1", "/account/two-step?x=1"},
		{"/account/two-step/phone?step=1", "/account/two-step/phone?step=1"},
		{"/account", "/account"},
		{"https://evil.example/", "/account"},
		{"//evil.example", "/account"},
		{`\\evil.example`, "/account"},
		{`/\evil.example`, "/account"},
		{"javascript:alert(1)", "/account"},
		{"https://app.example.com@evil.example", "/account"},
		{"%2F%2Fevil.example", "/account"},
		{"/account/%2F%2Fevil.example", "/account"},
		{"/%09/evil.example", "/account"},
		{"/account/\t/evil.example", "/account"},
		{"/account\r\nLocation: https://evil.example", "/account"},
		{"/account/../../evil.example", "/account"},
		{"/account/%2e%2e/%2e%2e//evil.example", "/account"},
		{"/account/" + strings.Repeat("a", 4000), "/account"},
	} {
		t.Run(fmt.Sprintf("%.40q", tt.next), func(t *testing.T) {
			s := &site{t: t, srv: s.srv, c: s.c, clock: s.clock}
			st, _, body := s.do("GET", "/account/confirm?next="+url.QueryEscape(tt.next), nil)
			s.want(200, st, body, `name="next" value="`+html.EscapeString(tt.want)+`"`)
			st, loc, body := s.do("POST", "/account/confirm", url.Values{"next": {tt.next}, "password": {password}})
			if st != http.StatusSeeOther || loc != tt.want {
				t.Fatalf("confirm with next=%q = %d %q, want a redirect to %q\n%.300s", tt.next, st, loc, tt.want, body)
			}
			st, _, body = s.do("GET", loc, nil)
			s.want(200, st, body)
		})
	}
}
