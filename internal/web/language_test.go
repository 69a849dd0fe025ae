package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/testenv"
)

// germanSite is a site whose catalogues are English and a German one of a
// few messages (the shipped German may not exist yet): enough to tell
// which language a page is in, and that the rest falls back to English.
func germanSite(t *testing.T, edit func(*config.Config)) *site {
	t.Helper()
	en, err := os.ReadFile("../i18n/locales/active.en.toml")
	if err != nil {
		t.Fatal(err)
	}
	de := `[language]
name = "Deutsch"
[signin]
heading = "Anmelden"
[account]
heading = "Ihr Konto"
[problem.invalid_credentials]
title = "Anmeldung fehlgeschlagen"
detail = "Die E-Mail-Adresse oder das Passwort ist falsch."
[code]
text = "Ihr {{.Site}}-Code lautet {{.Code}}."
subject = "Ihr {{.Site}}-Code"
voice = "Ihr {{.Site}}-Code lautet"
[mail]
two_step_on = "Die Bestätigung in zwei Schritten ist für {{.Email}} jetzt eingeschaltet."
not_you = "Waren Sie das nicht? Setzen Sie jetzt Ihr Passwort zurück: {{.Link}}"
[mail.subject]
two_step_enabled = "Die Bestätigung in zwei Schritten ist eingeschaltet"
`
	locales := fstest.MapFS{"locales/active.en.toml": {Data: en}, "locales/active.de.toml": {Data: []byte(de)}}
	clock := testenv.NewClock()
	cfg := testenv.Config(t, testenv.DatabaseURL(t, "sqlite"))
	if edit != nil {
		edit(&cfg)
	}
	srv := testenv.Start(t, cfg, app.Options{Now: clock.Now, Locales: locales})
	return &site{t: t, srv: srv, c: srv.Client(), clock: clock}
}

// get fetches path with the given headers; it returns status, Location
// and body.
func (s *site) get(path string, header ...string) (int, string, string) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.srv.BaseURL()+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// choose uses the footer's menu from page, the way a browser posts it
// (with the page as Referer).
func (s *site) choose(lang, page string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequest("POST", s.srv.BaseURL()+"/language", strings.NewReader(url.Values{"lang": {lang}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.srv.BaseURL())
	req.Header.Set("Referer", s.srv.BaseURL()+page)
	resp, err := s.c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// TestPagesSpeakTheReadersLanguage: the browser's Accept-Language picks
// the page's language, matched with x/text/language (de-CH is German);
// one the site lacks, or a malformed header, is the default; a message
// the catalogue lacks is English, never an id; the menu lists the
// languages in their own names.
func TestPagesSpeakTheReadersLanguage(t *testing.T) {
	s := germanSite(t, nil)
	for _, tt := range []struct{ accept, lang, heading string }{
		{"de-CH,de;q=0.9,en;q=0.5", "de", "Anmelden"},
		{"fr-FR,de;q=0.3", "de", "Anmelden"},
		{"fr-FR", "en", "Sign in"},
		{"", "en", "Sign in"},
		{";;;,,q=x, en-GB;q=abc", "en", "Sign in"},
		{strings.Repeat("de-", 900), "en", "Sign in"},
	} {
		st, _, body := s.get("/signin", "Accept-Language", tt.accept)
		s.want(200, st, body, `<html lang="`+tt.lang+`" dir="ltr">`, `<h1 id="h">`+tt.heading+`</h1>`,
			`<option value="de" lang="de"`, ">Deutsch</option>", ">English</option>", "Forgot your password?")
		if strings.Contains(body, "signin.") || strings.Contains(body, "layout.") {
			t.Errorf("Accept-Language %q: a message id shows:\n%.2000s", tt.accept, body)
		}
	}
}

// TestLanguageMenuAndPreference: the menu's choice goes in a cookie that
// beats Accept-Language, returns to the page it was made on, and for the
// signed-in is saved with the account: a new browser asking for English
// gets German once signed in. An unknown choice clears it quietly.
func TestLanguageMenuAndPreference(t *testing.T) {
	s := germanSite(t, nil)
	st, loc := s.choose("de", "/signup?rd=x")
	if st != http.StatusSeeOther || loc != "/signup?rd=x" {
		t.Fatalf("menu: %d %q, want 303 back to /signup?rd=x", st, loc)
	}
	_, _, body := s.get("/signin", "Accept-Language", "en")
	s.want(200, 200, body, `<html lang="de"`, "Anmelden")
	if st, loc := s.choose("xx-!!", "/signin"); st != http.StatusSeeOther || loc != "/signin" {
		t.Fatalf("bad choice: %d %q", st, loc)
	}
	_, _, body = s.get("/signin", "Accept-Language", "en")
	s.want(200, 200, body, `<html lang="en"`)

	// Signed in: the choice is the account's.
	s.signup("lang@example.com")
	if st, _ := s.choose("de", "https://elsewhere.example/account"); st != http.StatusSeeOther {
		t.Fatalf("menu signed in: %d", st)
	}
	u, err := s.srv.App.DB.UserByEmail(t.Context(), "lang@example.com")
	if err != nil || u.Language != "de" {
		t.Fatalf("saved language = %q (%v), want de", u.Language, err)
	}
	other := s.browser()
	st, loc, body = other.do("POST", "/signin", url.Values{"email": {"lang@example.com"}, "password": {"correct horse battery staple"}})
	if st != http.StatusSeeOther {
		t.Fatalf("sign in: %d %s %.300s", st, loc, body)
	}
	_, _, body = other.get("/account", "Accept-Language", "en-GB,en;q=0.8")
	s.want(200, 200, body, `<html lang="de"`, "<h1>Ihr Konto</h1>")
}

// TestDefaultLanguageAndProblems: server.default_language speaks to a
// browser that asks for nothing the site has; the API's problems follow
// Accept-Language, with the code unchanged.
func TestDefaultLanguageAndProblems(t *testing.T) {
	s := germanSite(t, func(c *config.Config) { c.Server.DefaultLanguage = "de" })
	_, _, body := s.get("/signin", "Accept-Language", "ja")
	s.want(200, 200, body, `<html lang="de"`, "Anmelden")

	for _, tt := range []struct{ accept, detail string }{
		{"de", "Die E-Mail-Adresse oder das Passwort ist falsch."},
		{"en", "The e-mail address or password is wrong."},
		{"xx;;", "Die E-Mail-Adresse oder das Passwort ist falsch."},
	} {
		req, _ := http.NewRequest("POST", s.srv.BaseURL()+"/api/v1/signin", strings.NewReader(`{"email":"nobody@example.com","password":"wrong password here"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept-Language", tt.accept)
		resp, err := s.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if doc["code"] != "invalid_credentials" || doc["detail"] != tt.detail {
			t.Errorf("Accept-Language %q: %v, want invalid_credentials saying %q", tt.accept, doc, tt.detail)
		}
	}
}

// TestGermanTextsCallsAndEMails: a person who chose German gets the
// code's text message in German with the origin-bound last line as it
// is, the notice e-mail in German, and the call in German with Twilio's
// German voice (<Say language="de-DE">).
func TestGermanTextsCallsAndEMails(t *testing.T) {
	var mu sync.Mutex
	var twiml []string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		twiml = append(twiml, r.PostForm.Get("Twiml"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"sid": "CA0123456789abcdef0123456789abcdef", "status": "queued"})
	}))
	defer fake.Close()
	s := germanSite(t, func(c *config.Config) {
		c.Server.SiteName = "Acme"
		c.Delivery.Voice = "twilio"
		c.Delivery.Twilio = config.Twilio{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "token", From: "+15005550006",
			BaseURL: fake.URL, VoiceLanguage: "en-GB"}
	})
	const email = "deutsch@example.com"
	s.signup(email)
	if st, _ := s.choose("de", "/account"); st != http.StatusSeeOther {
		t.Fatalf("menu: %d", st)
	}
	s.addMethods(email)

	st, doc := s.api("POST", "/api/v1/factors/phone", map[string]string{"phone": "+447400123456", "channel": "sms"})
	if st != 201 {
		t.Fatalf("add phone: %d %v", st, doc)
	}
	s.srv.App.Account.Flush()
	msgs, _ := s.srv.App.Outbox.List(t.Context(), "+447400123456", 5)
	if len(msgs) != 1 {
		t.Fatalf("texts: %d", len(msgs))
	}
	code := msgs[0].Code
	host := strings.TrimPrefix(strings.TrimPrefix(s.srv.BaseURL(), "http://"), "https://")
	host = host[:strings.LastIndex(host, ":")]
	if want := "Ihr Acme-Code lautet " + code + ".\n\n@" + host + " #" + code; msgs[0].Body != want {
		t.Errorf("text = %q, want %q", msgs[0].Body, want)
	}
	phoneID := doc["factor"].(map[string]any)["id"].(string)
	if st, doc := s.api("POST", "/api/v1/factors/"+phoneID+"/confirm", map[string]string{"code": code}); st != 200 {
		t.Fatalf("confirm phone: %d %v", st, doc)
	}
	// A phone for calls, added before two-step is on (no step-up).
	st, doc = s.api("POST", "/api/v1/factors/phone", map[string]string{"phone": "+447400123457", "channel": "voice"})
	if st != 201 {
		t.Fatalf("add a phone for calls: %d %v", st, doc)
	}
	if st, doc := s.api("POST", "/api/v1/two-step/enable", nil); st != 200 {
		t.Fatalf("enable: %d %v", st, doc)
	}
	s.srv.App.Account.Flush()
	mails, _ := s.srv.App.Outbox.List(t.Context(), email, 20)
	var notice string
	for _, m := range mails {
		if m.Subject == "Die Bestätigung in zwei Schritten ist eingeschaltet" {
			notice = m.Body
		}
	}
	if !strings.HasPrefix(notice, "Die Bestätigung in zwei Schritten ist für "+email+" jetzt eingeschaltet.\n\nWaren Sie das nicht?") {
		t.Errorf("the notice of the added phone is not German:\n%q\nall: %v", notice, mails)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(twiml) != 1 || !strings.HasPrefix(twiml[0], `<Response><Say language="de-DE">Ihr Acme-Code lautet `) {
		t.Errorf("call = %q, want German words in the German voice", twiml)
	}
}
