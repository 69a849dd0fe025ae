package oidc_test

// A real relying party (github.com/coreos/go-oidc with golang.org/x/oauth2)
// signs people in through twostep, on SQLite and PostgreSQL: discovery,
// the code flow with PKCE, ID-token checks, userinfo, refresh rotation,
// logout, and every way a request can be refused.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"twostep/internal/app"
	"twostep/internal/secret"
	"twostep/internal/store"
	"twostep/internal/testenv"
)

const (
	goodPassword = "correct horse battery staple 42"
	appRedirect  = "https://shop.example.com/callback"
	appLoggedOut = "https://shop.example.com/bye"
)

type env struct {
	t      testing.TB
	srv    *testenv.Server
	clock  *testenv.Clock
	ctx    context.Context
	prov   *gooidc.Provider
	first  oauth2.Config // confidential, first-party
	third  oauth2.Config // public, not first-party: asks for consent
	secret string
}

func forEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			clock := testenv.NewClock()
			srv := testenv.Start(t, testenv.Config(t, testenv.DatabaseURL(t, engine)), app.Options{Now: clock.Now})
			e := &env{t: t, srv: srv, clock: clock}
			e.ctx = gooidc.ClientContext(t.Context(), &http.Client{Timeout: 30 * time.Second})
			e.secret = secret.NewToken()
			e.addClient(store.OIDCClient{ID: "shop-admin", Name: "Shop Admin", SecretHash: secret.Hash(e.secret), FirstParty: true,
				RedirectURIs: []string{appRedirect}, PostLogoutRedirectURIs: []string{appLoggedOut}})
			e.addClient(store.OIDCClient{ID: "loyalty-app", Name: "Loyalty Points", RedirectURIs: []string{appRedirect}})
			prov, err := gooidc.NewProvider(e.ctx, srv.BaseURL())
			if err != nil {
				t.Fatalf("discovery: %v", err)
			}
			e.prov = prov
			ep := prov.Endpoint()
			ep.AuthStyle = oauth2.AuthStyleInHeader
			e.first = oauth2.Config{ClientID: "shop-admin", ClientSecret: e.secret, Endpoint: ep, RedirectURL: appRedirect,
				Scopes: []string{gooidc.ScopeOpenID, "email", gooidc.ScopeOfflineAccess}}
			e.third = oauth2.Config{ClientID: "loyalty-app", Endpoint: prov.Endpoint(), RedirectURL: appRedirect, Scopes: []string{gooidc.ScopeOpenID, "email"}}
			fn(t, e)
		})
	}
}

func (e *env) addClient(c store.OIDCClient) {
	c.CreatedAt = e.clock.Now()
	if err := e.srv.App.DB.CreateOIDCClient(e.t.Context(), c); err != nil {
		e.t.Fatal(err)
	}
}

// browser is a person's cookie jar, not following redirects.
type browser struct{ *http.Client }

func (e *env) browser() browser { return browser{e.srv.Client()} }

type reply struct {
	status int
	loc    string
	body   string
	header http.Header
}

func (e *env) do(b browser, method, path string, form url.Values, body any) reply {
	e.t.Helper()
	var rd io.Reader
	ctype := ""
	switch {
	case form != nil:
		rd, ctype = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	case body != nil:
		raw, _ := json.Marshal(body)
		rd, ctype = strings.NewReader(string(raw)), "application/json"
	}
	target := path
	if strings.HasPrefix(path, "/") {
		target = e.srv.BaseURL() + path
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, target, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := b.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, loc: resp.Header.Get("Location"), body: string(raw), header: resp.Header}
}

func (e *env) must(r reply, status int) reply {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s %s", r.status, status, r.loc, r.body)
	}
	return r
}

// signUp makes an account signed in on b, with a confirmed address.
func (e *env) signUp(b browser, email string) string {
	e.t.Helper()
	r := e.must(e.do(b, "POST", "/api/v1/signup", nil, map[string]string{"email": email, "password": goodPassword}), http.StatusCreated)
	var out struct{ User struct{ ID string } }
	json.Unmarshal([]byte(r.body), &out)
	if err := e.srv.App.DB.MarkEmailVerified(e.t.Context(), out.User.ID, email, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
	return out.User.ID
}

// twoStep turns two-step on for the signed-in b (an authenticator app)
// and signs in again with password and code: a session of two steps.
func (e *env) twoStep(b browser, email string) (totpSecret, methodID string) {
	e.t.Helper()
	r := e.must(e.do(b, "POST", "/api/v1/factors/totp", nil, map[string]string{"label": "Phone"}), http.StatusCreated)
	var f struct {
		Secret string
		Factor struct{ ID string }
	}
	json.Unmarshal([]byte(r.body), &f)
	e.must(e.do(b, "POST", "/api/v1/factors/"+f.Factor.ID+"/confirm", nil, map[string]string{"code": testenv.OathCode(e.t, f.Secret, e.clock.Now())}), http.StatusOK)
	e.must(e.do(b, "POST", "/api/v1/factors/recovery-codes", nil, nil), http.StatusCreated)
	e.must(e.do(b, "POST", "/api/v1/two-step/enable", nil, nil), http.StatusOK)
	e.clock.Advance(30 * time.Second)
	e.signIn(b, email, f.Secret, f.Factor.ID)
	return f.Secret, f.Factor.ID
}

// signIn signs b in with the password and, given a TOTP secret, a code.
func (e *env) signIn(b browser, email, totpSecret, methodID string) {
	e.t.Helper()
	e.must(e.do(b, "POST", "/api/v1/signin", nil, map[string]string{"email": email, "password": goodPassword}), http.StatusOK)
	if totpSecret != "" {
		e.clock.Advance(30 * time.Second)
		e.must(e.do(b, "POST", "/api/v1/signin/verify", nil, map[string]any{"method_id": methodID, "code": testenv.OathCode(e.t, totpSecret, e.clock.Now()), "remember_device": false}), http.StatusOK)
	}
}

// authorize starts an authorization request as the app's page would,
// with PKCE, and follows twostep's redirects on b until it leaves
// twostep (the app's redirect) or shows a page.
type started struct {
	state, nonce, verifier string
	last                   reply // the last answer: a redirect to the app, or a page
	path                   string
}

func (e *env) authorize(b browser, cfg oauth2.Config, extra ...oauth2.AuthCodeOption) started {
	e.t.Helper()
	s := started{state: secret.NewToken()[:20], nonce: secret.NewToken()[:20], verifier: oauth2.GenerateVerifier()}
	opts := append([]oauth2.AuthCodeOption{gooidc.Nonce(s.nonce), oauth2.S256ChallengeOption(s.verifier)}, extra...)
	s.last, s.path = e.follow(b, cfg.AuthCodeURL(s.state, opts...))
	return s
}

// follow follows redirects within twostep; it stops at a page or a
// redirect elsewhere.
func (e *env) follow(b browser, target string) (reply, string) {
	e.t.Helper()
	for range 10 {
		r := e.do(b, "GET", target, nil, nil)
		if r.status < 300 || r.status >= 400 {
			return r, target
		}
		next, err := url.Parse(r.loc)
		if err != nil {
			e.t.Fatal(err)
		}
		base, _ := url.Parse(target)
		next = base.ResolveReference(next)
		if !strings.HasPrefix(next.String(), e.srv.BaseURL()) {
			return r, target
		}
		target = next.String()
	}
	e.t.Fatal("too many redirects")
	return reply{}, ""
}

// code reads the app's redirect: the code, after checking state.
func (e *env) code(s started) string {
	e.t.Helper()
	u := e.appRedirect(s.last)
	if u.Query().Get("state") != s.state {
		e.t.Fatalf("state %q, want %q", u.Query().Get("state"), s.state)
	}
	if c := u.Query().Get("code"); c != "" {
		return c
	}
	e.t.Fatalf("no code in %s", u)
	return ""
}

func (e *env) appRedirect(r reply) *url.URL {
	e.t.Helper()
	if r.status != http.StatusFound && r.status != http.StatusSeeOther {
		e.t.Fatalf("want a redirect to the app, got %d %s", r.status, truncate(r.body))
	}
	u, err := url.Parse(r.loc)
	if err != nil || !strings.HasPrefix(r.loc, appRedirect) {
		e.t.Fatalf("redirect to %q, want the app's %s", r.loc, appRedirect)
	}
	return u
}

// refused checks the app got error code want (with its state).
func (e *env) refused(s started, want string) {
	e.t.Helper()
	u := e.appRedirect(s.last)
	if got := u.Query().Get("error"); got != want {
		e.t.Fatalf("error %q (%s), want %q", got, u.Query().Get("error_description"), want)
	}
	if u.Query().Get("code") != "" {
		e.t.Fatal("a code came with the error")
	}
	if u.Query().Get("state") != s.state {
		e.t.Fatalf("state %q, want %q", u.Query().Get("state"), s.state)
	}
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// exchange trades the code for tokens and verifies the ID token.
func (e *env) exchange(cfg oauth2.Config, s started, code string) (*oauth2.Token, *gooidc.IDToken, claims) {
	e.t.Helper()
	tok, err := cfg.Exchange(e.ctx, code, oauth2.VerifierOption(s.verifier))
	if err != nil {
		e.t.Fatalf("exchange: %v", err)
	}
	id, c := e.verifyID(cfg, tok)
	if id.Nonce != s.nonce {
		e.t.Fatalf("nonce %q, want %q", id.Nonce, s.nonce)
	}
	return tok, id, c
}

type claims struct {
	Sub           string   `json:"sub"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	AMR           []string `json:"amr"`
	ACR           string   `json:"acr"`
	AuthTime      int64    `json:"auth_time"`
}

func (e *env) verifyID(cfg oauth2.Config, tok *oauth2.Token) (*gooidc.IDToken, claims) {
	e.t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		e.t.Fatal("no id_token")
	}
	id, err := e.prov.Verifier(&gooidc.Config{ClientID: cfg.ClientID}).Verify(e.ctx, raw)
	if err != nil {
		e.t.Fatalf("verify id_token: %v", err)
	}
	var c claims
	if err := id.Claims(&c); err != nil {
		e.t.Fatal(err)
	}
	return id, c
}

func wantAMR(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("amr %v, want %v", got, want)
	}
}

func TestAppSignInWithTwoSteps(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		b := e.browser()
		uid := e.signUp(b, "ana@example.com")
		sec, mid := e.twoStep(b, "ana@example.com")

		s := e.authorize(b, e.first)
		tok, id, c := e.exchange(e.first, s, e.code(s))
		if id.Subject != uid || c.Email != "ana@example.com" || !c.EmailVerified {
			t.Fatalf("claims %+v, want sub %s and the confirmed e-mail", c, uid)
		}
		wantAMR(t, c.AMR, "pwd", "otp", "mfa")
		if c.ACR != "aal2" || c.AuthTime == 0 {
			t.Fatalf("acr %q auth_time %d, want aal2 and a time", c.ACR, c.AuthTime)
		}
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token with offline_access")
		}

		// userinfo with the access token.
		info, err := e.prov.UserInfo(e.ctx, oauth2.StaticTokenSource(tok))
		if err != nil || info.Subject != uid || info.Email != "ana@example.com" {
			t.Fatalf("userinfo %+v, %v", info, err)
		}

		// Refresh: a new refresh token each time; the ID token keeps acr.
		fresh, err := e.first.TokenSource(e.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
			t.Fatal("the refresh token was not rotated")
		}
		if _, c2 := e.verifyID(e.first, fresh); c2.ACR != "aal2" || c2.Sub != uid {
			t.Fatalf("refreshed id token %+v", c2)
		}
		// The old one again, within the grace: refused, family kept.
		if _, err := e.first.TokenSource(e.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Fatal("a rotated refresh token worked again")
		}
		if _, err := e.prov.UserInfo(e.ctx, oauth2.StaticTokenSource(fresh)); err != nil {
			t.Fatalf("the family was revoked by a reuse inside the grace: %v", err)
		}
		// Again after the grace: a replay, and the whole family goes.
		e.clock.Advance(time.Minute)
		if _, err := e.first.TokenSource(e.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Fatal("a rotated refresh token worked again")
		}
		if _, err := e.prov.UserInfo(e.ctx, oauth2.StaticTokenSource(fresh)); err == nil {
			t.Fatal("the access token of a replayed family still works")
		}
		if _, err := e.first.TokenSource(e.ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token(); err == nil {
			t.Fatal("the newest refresh token of a replayed family still works")
		}

		// Sign in again for logout.
		s = e.authorize(b, e.first)
		tok, _, _ = e.exchange(e.first, s, e.code(s))
		var meta struct {
			EndSession string `json:"end_session_endpoint"`
		}
		e.prov.Claims(&meta)
		// A post-logout redirect that is not registered is refused.
		q := url.Values{"id_token_hint": {tok.Extra("id_token").(string)}, "post_logout_redirect_uri": {"https://evil.example/"}}
		if r := e.do(b, "GET", meta.EndSession+"?"+q.Encode(), nil, nil); r.status != http.StatusBadRequest {
			t.Fatalf("unregistered post_logout_redirect_uri: %d %s", r.status, r.loc)
		}
		q.Set("post_logout_redirect_uri", appLoggedOut)
		q.Set("state", "bye1")
		r := e.do(b, "GET", meta.EndSession+"?"+q.Encode(), nil, nil)
		if r.status != http.StatusFound || r.loc != appLoggedOut+"?state=bye1" {
			t.Fatalf("logout: %d %q", r.status, r.loc)
		}
		e.must(e.do(b, "GET", "/api/v1/me", nil, nil), http.StatusUnauthorized)
		if _, err := e.prov.UserInfo(e.ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Fatal("the app's access token survived its logout")
		}
		// Signed out: the next request goes to the sign-in page.
		s = e.authorize(b, e.first)
		if s.last.status != http.StatusOK || !strings.Contains(s.last.body, "Sign in to continue to <strong>Shop Admin</strong>") {
			t.Fatalf("after logout: %d %s", s.last.status, truncate(s.last.body))
		}
		_ = sec
		_ = mid
	})
}

func TestAppRequestsRefused(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		b := e.browser()
		e.signUp(b, "ben@example.com")

		// No PKCE: refused back to the app.
		s := started{state: "st-1"}
		s.last, _ = e.follow(b, e.first.AuthCodeURL(s.state))
		e.refused(s, "invalid_request")
		// PKCE plain: refused too.
		s.last, _ = e.follow(b, e.first.AuthCodeURL(s.state, oauth2.SetAuthURLParam("code_challenge", "abcdefghijabcdefghijabcdefghijabcdefghij123"), oauth2.SetAuthURLParam("code_challenge_method", "plain")))
		if u := e.appRedirect(s.last); u.Query().Get("error") == "" {
			t.Fatalf("plain PKCE accepted: %s", u)
		}
		// A redirect URI that is not registered exactly: no redirect at all.
		for _, bad := range []string{"https://shop.example.com/callback/", "https://shop.example.com/callback?x=1", "https://evil.example/callback", "https://shop.example.com@evil.example/callback"} {
			cfg := e.first
			cfg.RedirectURL = bad
			st := e.authorize(b, cfg)
			if st.last.status != http.StatusBadRequest || st.last.loc != "" {
				t.Fatalf("redirect %q: %d %q", bad, st.last.status, st.last.loc)
			}
		}
		// An unknown client: no redirect.
		cfg := e.first
		cfg.ClientID = "nobody"
		if st := e.authorize(b, cfg); st.last.status != http.StatusBadRequest || st.last.loc != "" {
			t.Fatalf("unknown client: %d %q", st.last.status, st.last.loc)
		}

		// The code: single use; a second exchange fails and revokes
		// what the first issued.
		s = e.authorize(b, e.first)
		code := e.code(s)
		tok, _, _ := e.exchange(e.first, s, code)
		if _, err := e.first.Exchange(e.ctx, code, oauth2.VerifierOption(s.verifier)); err == nil {
			t.Fatal("a code was exchanged twice")
		}
		if _, err := e.prov.UserInfo(e.ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Fatal("tokens from a reused code still work")
		}
		if _, err := e.first.TokenSource(e.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Fatal("the refresh token from a reused code still works")
		}
		// A wrong verifier.
		s = e.authorize(b, e.first)
		if _, err := e.first.Exchange(e.ctx, e.code(s), oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
			t.Fatal("a wrong code_verifier was accepted")
		}
		// The secret in the form body (client_secret_post) works too.
		post := e.first
		post.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		s = e.authorize(b, post)
		if _, err := post.Exchange(e.ctx, e.code(s), oauth2.VerifierOption(s.verifier)); err != nil {
			t.Fatalf("client_secret_post: %v", err)
		}
		// A wrong secret.
		s = e.authorize(b, e.first)
		wrong := e.first
		wrong.ClientSecret = "not-the-secret"
		if _, err := wrong.Exchange(e.ctx, e.code(s), oauth2.VerifierOption(s.verifier)); err == nil {
			t.Fatal("a wrong client secret was accepted")
		}
	})
}

// TestTokenEndpointBadInput: junk gets the RFC 6749 error JSON and a 4xx,
// never a 500.
func TestTokenEndpointBadInput(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		tokenURL := e.prov.Endpoint().TokenURL
		cases := []struct {
			name string
			form url.Values
			want string
		}{
			{"no grant", url.Values{}, "invalid_request"},
			{"unknown grant", url.Values{"grant_type": {"password"}, "username": {"a"}, "password": {"b"}}, "unsupported_grant_type"},
			{"no code", url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {appRedirect}}, "invalid_request"},
			{"forged code", url.Values{"grant_type": {"authorization_code"}, "code": {"Zm9yZ2Vk"}, "redirect_uri": {appRedirect}, "code_verifier": {oauth2.GenerateVerifier()}}, "invalid_grant"},
			{"forged refresh", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"abc\xff"}}, "invalid_grant"},
			{"huge", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {strings.Repeat("a", 70000)}}, "invalid_grant"},
		}
		for _, c := range cases {
			req, _ := http.NewRequest("POST", tokenURL, strings.NewReader(c.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("shop-admin", e.secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Error string `json:"error"`
			}
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode >= 500 || err != nil || body.Error != c.want {
				t.Errorf("%s: %d %q (%v), want 4xx %q", c.name, resp.StatusCode, body.Error, err, c.want)
			}
		}
	})
}

// TestClientSecretGuessing: wrong client secrets are throttled like
// passwords; while throttled even the right one is not evaluated.
func TestClientSecretGuessing(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		b := e.browser()
		e.signUp(b, "cy@example.com")
		wrong := e.first
		wrong.ClientSecret = "guess"
		for range 6 {
			s := e.authorize(b, e.first)
			if _, err := wrong.Exchange(e.ctx, e.code(s), oauth2.VerifierOption(s.verifier)); err == nil {
				t.Fatal("a wrong secret was accepted")
			}
		}
		s := e.authorize(b, e.first)
		_, err := e.first.Exchange(e.ctx, e.code(s), oauth2.VerifierOption(s.verifier))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
			t.Fatalf("right secret while throttled: %v, want invalid_client", err)
		}
		e.clock.Advance(time.Hour)
		s = e.authorize(b, e.first)
		e.exchange(e.first, s, e.code(s))
	})
}

// TestStepUpAndFreshSignIn: acr_values=aal2, max_age and prompt=login get
// the second step or a fresh password before any code; prompt=none
// answers with an error instead of a page.
func TestStepUpAndFreshSignIn(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		// Nobody signed in: prompt=none answers login_required.
		anon := e.browser()
		s := e.authorize(anon, e.first, oauth2.SetAuthURLParam("prompt", "none"))
		e.refused(s, "login_required")

		b := e.browser()
		e.signUp(b, "dee@example.com")
		// One step: aal1, amr pwd.
		s = e.authorize(b, e.first)
		_, _, c := e.exchange(e.first, s, e.code(s))
		wantAMR(t, c.AMR, "pwd")
		if c.ACR != "aal1" {
			t.Fatalf("acr %q, want aal1", c.ACR)
		}
		// acr_values=aal2 with one step: the second step, not a code.
		s = e.authorize(b, e.first, oauth2.SetAuthURLParam("acr_values", "aal2"))
		if s.last.status != http.StatusOK || !strings.Contains(s.path, "/account/two-step/setup") {
			t.Fatalf("aal2 asked of a one-step session ended at %s (%d)", s.path, s.last.status)
		}
		s = e.authorize(b, e.first, oauth2.SetAuthURLParam("acr_values", "aal2"), oauth2.SetAuthURLParam("prompt", "none"))
		e.refused(s, "interaction_required")

		// Two steps now; acr_values=aal2 is met without a page.
		sec, mid := e.twoStep(b, "dee@example.com")
		s = e.authorize(b, e.first, oauth2.SetAuthURLParam("acr_values", "aal2"))
		_, _, c = e.exchange(e.first, s, e.code(s))
		if c.ACR != "aal2" {
			t.Fatalf("acr %q, want aal2", c.ACR)
		}
		signedAt := c.AuthTime

		// max_age: a sign-in older than it asks for the password again.
		e.clock.Advance(10 * time.Minute)
		s = e.authorize(b, e.first, oauth2.SetAuthURLParam("max_age", "300"))
		if !strings.Contains(s.path, "/signin?prompt=login") {
			t.Fatalf("max_age=300 after 10 minutes ended at %s", s.path)
		}
		s = e.authorize(b, e.first, oauth2.SetAuthURLParam("max_age", "3600"))
		e.code(s)
		// prompt=login: always a fresh password, even just signed in.
		s = e.authorize(b, e.first, oauth2.SetAuthURLParam("prompt", "login"))
		if !strings.Contains(s.path, "/signin?prompt=login") || !strings.Contains(s.last.body, "Shop Admin") {
			t.Fatalf("prompt=login ended at %s", s.path)
		}
		e.signIn(b, "dee@example.com", sec, mid)
		r, _ := e.follow(b, e.srv.BaseURL()+"/oidc/continue?"+url.Values{"id": {continueID(t, s.path, b, e)}}.Encode())
		s.last = r
		_, _, c = e.exchange(e.first, s, e.code(s))
		if c.AuthTime <= signedAt {
			t.Fatalf("auth_time %d after a fresh sign-in, was %d", c.AuthTime, signedAt)
		}
	})
}

// continueID finds the authorization request a sign-in page is for, from
// the return cookie the continue page left.
func continueID(t *testing.T, _ string, b browser, e *env) string {
	t.Helper()
	u, _ := url.Parse(e.srv.BaseURL())
	for _, c := range b.Jar.Cookies(u) {
		if v, err := url.QueryUnescape(c.Value); err == nil && strings.HasPrefix(v, "/oidc/continue?id=") {
			return strings.TrimPrefix(v, "/oidc/continue?id=")
		}
	}
	t.Fatal("no return cookie for the app's request")
	return ""
}

// TestConsent: an app that is not first-party asks once; the answer is
// remembered, listed on the account page and can be taken back.
func TestConsent(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		b := e.browser()
		uid := e.signUp(b, "eve@example.com")
		s := e.authorize(b, e.third, oauth2.SetAuthURLParam("prompt", "none"))
		e.refused(s, "consent_required")

		s = e.authorize(b, e.third)
		if s.last.status != http.StatusOK || !strings.Contains(s.last.body, "Allow Loyalty Points?") {
			t.Fatalf("no consent page: %d %s", s.last.status, truncate(s.last.body))
		}
		id := strings.TrimPrefix(s.path, e.srv.BaseURL()+"/oidc/continue?id=")
		// Saying no: access_denied to the app.
		r := e.do(b, "POST", "/oidc/consent", url.Values{"id": {id}, "answer": {"deny"}}, nil)
		s.last = r
		e.refused(s, "access_denied")

		s = e.authorize(b, e.third)
		id = strings.TrimPrefix(s.path, e.srv.BaseURL()+"/oidc/continue?id=")
		r = e.must(e.do(b, "POST", "/oidc/consent", url.Values{"id": {id}, "answer": {"allow"}}, nil), http.StatusSeeOther)
		s.last, _ = e.follow(b, e.srv.BaseURL()+r.loc)
		tok, _, c := e.exchange(e.third, s, e.code(s))
		if c.Sub != uid {
			t.Fatalf("sub %q", c.Sub)
		}
		// Remembered: no page the second time.
		s2 := e.authorize(b, e.third)
		e.code(s2)

		page := e.must(e.do(b, "GET", "/account", nil, nil), http.StatusOK)
		if !strings.Contains(page.body, "Apps with access") || !strings.Contains(page.body, "Loyalty Points") {
			t.Fatal("the account page does not list the app")
		}
		e.must(e.do(b, "POST", "/account/apps/loyalty-app/revoke", nil, nil), http.StatusSeeOther)
		if _, err := e.prov.UserInfo(e.ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Fatal("the app's token survived removing its access")
		}
		s = e.authorize(b, e.third)
		if !strings.Contains(s.last.body, "Allow Loyalty Points?") {
			t.Fatal("no consent page after access was removed")
		}
	})
}

// TestSignOutEverywhereRevokesAppTokens: all sessions ending ends the
// apps' tokens too.
func TestSignOutEverywhereRevokesAppTokens(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		b := e.browser()
		e.signUp(b, "fay@example.com")
		s := e.authorize(b, e.first)
		tok, _, _ := e.exchange(e.first, s, e.code(s))
		e.must(e.do(b, "POST", "/api/v1/signout/everywhere", nil, nil), http.StatusNoContent)
		if _, err := e.first.TokenSource(e.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Fatal("a refresh token survived signing out everywhere")
		}
		if _, err := e.prov.UserInfo(e.ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Fatal("an access token survived signing out everywhere")
		}
	})
}

// TestKeys: JWKS publishes an RS256 and an ES256 key.
func TestKeys(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		var meta struct {
			JWKS   string   `json:"jwks_uri"`
			Algs   []string `json:"id_token_signing_alg_values_supported"`
			PKCE   []string `json:"code_challenge_methods_supported"`
			Grants []string `json:"grant_types_supported"`
			Types  []string `json:"response_types_supported"`
			Device string   `json:"device_authorization_endpoint"`
		}
		e.prov.Claims(&meta)
		if !slices.Contains(meta.Algs, "RS256") || !slices.Contains(meta.PKCE, "S256") {
			t.Fatalf("discovery: %+v", meta)
		}
		// Only what twostep offers is advertised.
		if !slices.Equal(meta.Grants, []string{"authorization_code", "refresh_token"}) || !slices.Equal(meta.Types, []string{"code"}) || meta.Device != "" {
			t.Fatalf("discovery advertises more than the code flow: %+v", meta)
		}
		r := e.must(e.do(e.browser(), "GET", meta.JWKS, nil, nil), http.StatusOK)
		var set struct {
			Keys []struct {
				Alg, Kid, Kty string
				D             string `json:"d"`
			}
		}
		json.Unmarshal([]byte(r.body), &set)
		var algs []string
		for _, k := range set.Keys {
			if k.D != "" {
				t.Fatal("a private key is published")
			}
			algs = append(algs, k.Alg)
		}
		slices.Sort(algs)
		if !slices.Equal(algs, []string{"ES256", "RS256"}) {
			t.Fatalf("published %v, want ES256 and RS256", algs)
		}
	})
}

// TestIntrospectAndRevoke: a confidential app asks about a token
// (RFC 7662) and revokes tokens (RFC 7009); a public app may not
// introspect.
func TestIntrospectAndRevoke(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		b := e.browser()
		uid := e.signUp(b, "gil@example.com")
		s := e.authorize(b, e.first)
		tok, _, _ := e.exchange(e.first, s, e.code(s))
		var meta struct {
			Introspect string `json:"introspection_endpoint"`
			Revoke     string `json:"revocation_endpoint"`
		}
		e.prov.Claims(&meta)
		post := func(endpoint, user, pass string, form url.Values) (int, map[string]any) {
			req, _ := http.NewRequest("POST", endpoint, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if user != "" {
				req.SetBasicAuth(user, pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			out := map[string]any{}
			json.NewDecoder(resp.Body).Decode(&out)
			return resp.StatusCode, out
		}
		st, out := post(meta.Introspect, "shop-admin", e.secret, url.Values{"token": {tok.AccessToken}})
		if st != http.StatusOK || out["active"] != true || out["sub"] != uid || out["client_id"] != "shop-admin" {
			t.Fatalf("introspect: %d %v", st, out)
		}
		if st, _ := post(meta.Introspect, "shop-admin", "wrong", url.Values{"token": {tok.AccessToken}}); st != http.StatusUnauthorized {
			t.Fatalf("introspect with a wrong secret: %d", st)
		}
		if st, out := post(meta.Introspect, "loyalty-app", "", url.Values{"token": {tok.AccessToken}}); st == http.StatusOK && out["active"] == true {
			t.Fatal("a public app introspected a token")
		}
		// Revoking the refresh token ends its family, access token too.
		if st, _ := post(meta.Revoke, "shop-admin", e.secret, url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}); st != http.StatusOK {
			t.Fatalf("revoke: %d", st)
		}
		if _, out := post(meta.Introspect, "shop-admin", e.secret, url.Values{"token": {tok.AccessToken}}); out["active"] != false {
			t.Fatalf("introspect after revocation: %v", out)
		}
		if _, err := e.first.TokenSource(e.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Fatal("a revoked refresh token worked")
		}
		// An unknown token: 200, as RFC 7009 says.
		if st, _ := post(meta.Revoke, "shop-admin", e.secret, url.Values{"token": {"nothing-like-a-token"}}); st != http.StatusOK {
			t.Fatalf("revoke unknown: %d", st)
		}
	})
}

// TestES256App: an app registered for ES256 gets ES256-signed ID tokens,
// verified against the published key; others stay on RS256.
func TestES256App(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		sec := secret.NewToken()
		e.addClient(store.OIDCClient{ID: "es-app", Name: "Warehouse", SecretHash: secret.Hash(sec), FirstParty: true, IDTokenAlg: "ES256", RedirectURIs: []string{appRedirect}})
		cfg := e.first
		cfg.ClientID, cfg.ClientSecret = "es-app", sec
		b := e.browser()
		e.signUp(b, "hal@example.com")
		for _, c := range []struct {
			cfg oauth2.Config
			alg string
		}{{cfg, "ES256"}, {e.first, "RS256"}} {
			s := e.authorize(b, c.cfg)
			tok, err := c.cfg.Exchange(e.ctx, e.code(s), oauth2.VerifierOption(s.verifier))
			if err != nil {
				t.Fatal(err)
			}
			raw := tok.Extra("id_token").(string)
			v := e.prov.Verifier(&gooidc.Config{ClientID: c.cfg.ClientID, SupportedSigningAlgs: []string{c.alg}})
			if _, err := v.Verify(e.ctx, raw); err != nil {
				t.Fatalf("%s app: %v", c.alg, err)
			}
		}
	})
}

// TestFormPostResponse: response_mode=form_post answers with a page
// whose policy lets its one script post the code to the app's redirect,
// and nowhere else.
func TestFormPostResponse(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		b := e.browser()
		e.signUp(b, "ivy@example.com")
		s := e.authorize(b, e.first, oauth2.SetAuthURLParam("response_mode", "form_post"))
		if s.last.status != http.StatusOK || !strings.Contains(s.last.body, `action="`+appRedirect+`"`) || !strings.Contains(s.last.body, `name="state" value="`+s.state+`"`) {
			t.Fatalf("form_post page: %d %s", s.last.status, truncate(s.last.body))
		}
		csp := s.last.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "form-action https://shop.example.com;") || !strings.Contains(csp, "script-src 'unsafe-hashes' 'sha256-") {
			t.Fatalf("form_post page policy: %q", csp)
		}
	})
}
