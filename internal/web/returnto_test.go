package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/testenv"
)

// returnSite is a site with access rules naming the apps a sign-in may
// return to.
func returnSite(t *testing.T, engine string) *site {
	clock := testenv.NewClock()
	cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
	cfg.AccessControl = config.AccessControl{DefaultPolicy: "deny", Rules: []config.AccessRule{
		{Domain: []string{"app.example.com", "*.apps.example.com"}, Policy: "one_factor"},
		{Domain: []string{"app.example.com"}, Resources: []string{"^/admin"}, Policy: "two_factor"},
	}}
	srv := testenv.Start(t, cfg, app.Options{Now: clock.Now})
	return &site{t: t, srv: srv, c: srv.Client(), clock: clock}
}

func (s *site) api(method, path string, body any) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, s.srv.BaseURL()+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc)
	return resp.StatusCode, doc
}

// enableTwoStep gives the signed-in account an authenticator app and
// recovery codes over the API, the wizard's first two steps; it returns
// the app's secret and id.
func (s *site) addMethods(email string) (string, string) {
	s.t.Helper()
	st, _ := s.api("GET", "/api/v1/me", nil)
	if st != 200 {
		s.t.Fatalf("me: %d", st)
	}
	u, err := s.srv.App.DB.UserByEmail(s.t.Context(), email)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.srv.App.DB.MarkEmailVerified(s.t.Context(), u.ID, u.Email, s.clock.Now()); err != nil {
		s.t.Fatal(err)
	}
	st, f := s.api("POST", "/api/v1/factors/totp", map[string]string{"label": "Phone"})
	if st != 201 {
		s.t.Fatalf("add app: %d %v", st, f)
	}
	secret, id := f["secret"].(string), f["factor"].(map[string]any)["id"].(string)
	if st, doc := s.api("POST", "/api/v1/factors/"+id+"/confirm", map[string]string{"code": testenv.OathCode(s.t, secret, s.clock.Now())}); st != 200 {
		s.t.Fatalf("confirm: %d %v", st, doc)
	}
	if st, doc := s.api("POST", "/api/v1/factors/recovery-codes", nil); st != 201 {
		s.t.Fatalf("recovery codes: %d %v", st, doc)
	}
	return secret, id
}

func (s *site) signup(email string) {
	s.t.Helper()
	st, loc, body := s.do("POST", "/signup", url.Values{"email": {email}, "password": {"correct horse battery staple"}})
	if st != http.StatusSeeOther {
		s.t.Fatalf("signup: %d %s %.300s", st, loc, body)
	}
}

func (s *site) wantRedirect(st int, loc, body, want string) {
	s.t.Helper()
	if st != http.StatusSeeOther || loc != want {
		s.t.Fatalf("got %d Location %q, want 303 to %q\n%.300s", st, loc, want, body)
	}
}

// TestSignInReturnsToTarget: the sign-in page takes rd and, through the
// password, the challenge and the set-up wizard, lands back on it; rd that
// leads anywhere but twostep or the apps the rules name is dropped.
func TestSignInReturnsToTarget(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			s := returnSite(t, engine)
			const target = "https://app.example.com/orders?id=7&back=%2Fx"
			s.signup("one@example.com")
			s.do("POST", "/signout", url.Values{})

			// Password only.
			st, _, body := s.do("GET", "/signin?rd="+url.QueryEscape(target), nil)
			s.want(200, st, body)
			st, loc, body := s.do("POST", "/signin", url.Values{"email": {"one@example.com"}, "password": {"correct horse battery staple"}})
			s.wantRedirect(st, loc, body, target)
			// Already signed in: straight there; used once, then forgotten.
			st, loc, body = s.do("GET", "/signin?rd="+url.QueryEscape("https://shop.apps.example.com/"), nil)
			s.wantRedirect(st, loc, body, "https://shop.apps.example.com/")
			st, loc, body = s.do("GET", "/signin", nil)
			s.wantRedirect(st, loc, body, "/account")

			// A one-step session on a two_factor page: the wizard, then back.
			const admin = "https://app.example.com/admin/users"
			st, loc, body = s.do("GET", "/signin/second-step?rd="+url.QueryEscape(admin), nil)
			s.wantRedirect(st, loc, body, "/account/two-step/setup")
			secret, appID := s.addMethods("one@example.com")
			st, loc, body = s.do("POST", "/account/two-step/enable", url.Values{})
			s.wantRedirect(st, loc, body, admin)

			// Two-step is on now, the session still of one step: "Confirm
			// it's you" with a code raises it, then back.
			st, loc, body = s.do("GET", "/signin/second-step?rd="+url.QueryEscape(admin), nil)
			s.wantRedirect(st, loc, body, "/account/confirm?next="+url.QueryEscape(admin))
			st, _, body = s.do("GET", loc, nil)
			s.want(200, st, body, `name="next" value="`+admin+`"`)
			s.clock.Advance(30 * time.Second)
			st, loc, body = s.do("POST", "/account/confirm", url.Values{"next": {admin}, "method_id": {appID}, "code": {testenv.OathCode(t, secret, s.clock.Now())}})
			s.wantRedirect(st, loc, body, admin)
			st, loc, body = s.do("GET", "/signin/second-step?rd="+url.QueryEscape(admin), nil)
			s.wantRedirect(st, loc, body, admin)

			// Signed in with two-step on: password, challenge, back.
			s.do("POST", "/signout", url.Values{})
			s.clock.Advance(30 * time.Second)
			s.do("GET", "/signin?rd="+url.QueryEscape(admin), nil)
			st, loc, body = s.do("POST", "/signin", url.Values{"email": {"one@example.com"}, "password": {"correct horse battery staple"}})
			s.wantRedirect(st, loc, body, "/signin/verify")
			st, loc, body = s.do("POST", "/signin/verify", url.Values{"method_id": {appID}, "code": {testenv.OathCode(t, secret, s.clock.Now())}})
			s.wantRedirect(st, loc, body, admin)
			// Signed in with two steps: the second-step page sends straight back.
			st, loc, body = s.do("GET", "/signin/second-step?rd="+url.QueryEscape(admin), nil)
			s.wantRedirect(st, loc, body, admin)

			// Signed out, the second-step page is the sign-in.
			s.do("POST", "/signout", url.Values{})
			st, loc, body = s.do("GET", "/signin/second-step?rd="+url.QueryEscape(admin), nil)
			s.wantRedirect(st, loc, body, "/signin")
		})
	}
}

// TestSignUpReturnsToTarget: someone sent to sign in who creates an
// account instead lands on the app too.
func TestSignUpReturnsToTarget(t *testing.T) {
	s := returnSite(t, "sqlite")
	const target = "https://app.example.com/welcome"
	s.do("GET", "/signin?rd="+url.QueryEscape(target), nil)
	st, loc, body := s.do("POST", "/signup", url.Values{"email": {"new@example.com"}, "password": {"correct horse battery staple"}})
	s.wantRedirect(st, loc, body, target)
	s.c = s.srv.Client()
	s.do("GET", "/signup?rd="+url.QueryEscape("https://evil.example/"), nil)
	st, loc, body = s.do("POST", "/signup", url.Values{"email": {"other@example.com"}, "password": {"correct horse battery staple"}})
	s.wantRedirect(st, loc, body, "/account?notice=welcome")
}

// TestSignInDropsHostileReturn: every hostile rd ends on the account page.
func TestSignInDropsHostileReturn(t *testing.T) {
	s := returnSite(t, "sqlite")
	s.signup("one@example.com")
	s.do("POST", "/signout", url.Values{})
	for _, rd := range []string{
		"https://evil.example/",
		"http://app.example.com/",
		"//evil.example/",
		`\\evil.example`,
		`/\evil.example`,
		"javascript:alert(1)",
		"JAVASCRIPT:alert(document.cookie)",
		"https://app.example.com@evil.example/",
		"https://app.example.com%40evil.example/",
		"https://app.example.com.evil.example/",
		"https:%2F%2Fevil.example",
		"%2F%2Fevil.example",
		"https://apps.example.com/",
		"https://app.example.com\t.evil.example/",
		"/account/../../evil",
	} {
		s.clock.Advance(time.Minute)
		s.c = s.srv.Client()
		st, loc, body := s.do("GET", "/signin?rd="+url.QueryEscape(rd), nil)
		s.want(200, st, body)
		st, loc, body = s.do("POST", "/signin", url.Values{"email": {"one@example.com"}, "password": {"correct horse battery staple"}})
		if st != http.StatusSeeOther || loc != "/account" {
			t.Errorf("rd %q: landed on %d %q, want /account", rd, st, loc)
		}
		_ = body
	}
	// A hostile rd also forgets a good one kept before.
	s.c = s.srv.Client()
	s.do("GET", "/signin?rd="+url.QueryEscape("https://app.example.com/"), nil)
	s.do("GET", "/signin?rd="+url.QueryEscape("https://evil.example/"), nil)
	st, loc, body := s.do("POST", "/signin", url.Values{"email": {"one@example.com"}, "password": {"correct horse battery staple"}})
	s.wantRedirect(st, loc, body, "/account")
}

// TestResetReturnsToTarget: someone sent to sign in who has forgotten
// the password resets it and, signing in with the new one, lands on the
// app; every page on the way lets its form end there (form-action).
func TestResetReturnsToTarget(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			s := returnSite(t, engine)
			const target = "https://app.example.com/orders?id=9"
			s.signup("lost@example.com")
			s.do("POST", "/signout", url.Values{})

			req, _ := http.NewRequest("GET", s.srv.BaseURL()+"/signin?rd="+url.QueryEscape(target), nil)
			resp, err := s.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.example.com;") {
				t.Fatalf("the sign-in page's forms may not end at the app: %q", csp)
			}
			st, loc, body := s.do("POST", "/forgot-password", url.Values{"email": {"lost@example.com"}})
			if st != http.StatusSeeOther && st != http.StatusOK {
				t.Fatalf("forgot: %d %s %.200s", st, loc, body)
			}
			s.srv.App.Account.Flush()
			msgs, _ := s.srv.App.Outbox.List(t.Context(), "lost@example.com", 5)
			token := ""
			for _, m := range msgs {
				if strings.Contains(m.Subject, "Reset your") {
					token = m.Code
				}
			}
			if token == "" {
				t.Fatal("no reset e-mail")
			}
			st, _, body = s.do("GET", "/reset-password?token="+url.QueryEscape(token), nil)
			s.want(200, st, body)
			st, loc, body = s.do("POST", "/reset-password", url.Values{"token": {token}, "password": {"a brand new passphrase 2027"}})
			if st != http.StatusSeeOther {
				t.Fatalf("reset: %d %s %.300s", st, loc, body)
			}
			st, loc, body = s.do("POST", "/signin", url.Values{"email": {"lost@example.com"}, "password": {"a brand new passphrase 2027"}})
			s.wantRedirect(st, loc, body, target)
		})
	}
}
