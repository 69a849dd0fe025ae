package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/testenv"
)

const lockPassword = "correct horse battery staple"

// engineSite is a site on engine, its configuration changed by edit.
func engineSite(t *testing.T, engine string, edit func(*config.Config)) *site {
	clock := testenv.NewClock()
	cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
	if edit != nil {
		edit(&cfg)
	}
	srv := testenv.Start(t, cfg, app.Options{Now: clock.Now})
	return &site{t: t, srv: srv, c: srv.Client(), clock: clock}
}

// browser is another browser on the same server: its own cookies.
func (s *site) browser() *site {
	return &site{t: s.t, srv: s.srv, c: s.srv.Client(), clock: s.clock}
}

// twoStepOwner signs up email, adds an authenticator app and recovery
// codes and turns two-step verification on; it returns the app's secret
// and id, and the recovery codes.
func (s *site) twoStepOwner(email string) (string, string, []string) {
	s.t.Helper()
	s.signup(email)
	secret, id := s.addMethods(email)
	s.clock.Advance(time.Minute)
	st, doc := s.api("POST", "/api/v1/factors/recovery-codes", nil)
	if st != 201 {
		s.t.Fatalf("recovery codes: %d %v", st, doc)
	}
	var codes []string
	for _, c := range doc["codes"].([]any) {
		codes = append(codes, c.(string))
	}
	if st, doc := s.api("POST", "/api/v1/two-step/enable", nil); st != 200 {
		s.t.Fatalf("enable: %d %v", st, doc)
	}
	s.do("POST", "/signout", url.Values{})
	return secret, id, codes
}

// password signs in with pw and wants the challenge.
func (s *site) password(email, pw string) {
	s.t.Helper()
	st, loc, body := s.do("POST", "/signin", url.Values{"email": {email}, "password": {pw}})
	s.wantRedirect(st, loc, body, "/signin/verify")
}

// code answers the challenge; it returns status, Location and body.
func (s *site) code(methodID, code string, remember bool) (int, string, string) {
	s.t.Helper()
	f := url.Values{"method_id": {methodID}, "code": {code}}
	if remember {
		f.Set("remember", "1")
	}
	return s.do("POST", "/signin/verify", f)
}

// rightCode is the app's code now, on a step no earlier sign-in used.
func (s *site) rightCode(secret string) string {
	s.clock.Advance(31 * time.Second)
	return testenv.OathCode(s.t, secret, s.clock.Now())
}

// wrongCode is a code that is not the app's now, nor a step either side.
func (s *site) wrongCode(secret string) string {
	now := s.clock.Now()
	near := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		near[testenv.OathCode(s.t, secret, now.Add(d))] = true
	}
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !near[c] {
			return c
		}
	}
	s.t.Fatal("no wrong code")
	return ""
}

// guess spends the account's hourly budget of wrong codes as a thief with
// the password does: two pending sign-ins of five wrong codes each.
func (s *site) guess(email, secret, appID string) {
	s.t.Helper()
	for range 2 {
		s.password(email, lockPassword)
		for i := range 5 {
			st, loc, body := s.code(appID, s.wrongCode(secret), false)
			if i < 4 && st != http.StatusUnauthorized || i == 4 && st != http.StatusSeeOther {
				s.t.Fatalf("wrong code %d: %d %s %.300s", i+1, st, loc, body)
			}
		}
	}
}

// mails are the subjects and bodies of the messages sent to addr.
func (s *site) mails(addr string) map[string][]string {
	s.t.Helper()
	s.srv.App.Account.Flush()
	msgs, err := s.srv.App.Outbox.List(s.t.Context(), addr, 100)
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string][]string{}
	for _, m := range msgs {
		out[m.Subject] = append(out[m.Subject], m.Body)
	}
	return out
}

// resetLink asks for a reset link for addr and returns its token.
func (s *site) resetLink(addr string) string {
	s.t.Helper()
	st, _, body := s.do("POST", "/forgot-password", url.Values{"email": {addr}})
	s.want(200, st, body, "The link works once, for 1 hour.")
	s.srv.App.Account.Flush()
	msgs, _ := s.srv.App.Outbox.List(s.t.Context(), addr, 100)
	for _, m := range msgs {
		if strings.Contains(m.Subject, "Reset your") {
			if strings.Contains(m.Body, "1h0m0s") || !strings.Contains(m.Body, "for 1 hour") {
				s.t.Fatalf("reset e-mail says its time badly:\n%s", m.Body)
			}
			return m.Code
		}
	}
	s.t.Fatalf("no reset e-mail to %s", addr)
	return ""
}

const lockSubject = "Someone is trying to sign in to your account"

// TestPasswordThiefCannotLockOutTheOwner: someone with only the password
// spends the account's budget of wrong codes from their own browser. The
// owner is told once by e-mail; a new browser is refused even the right
// code, and the page says so, until when, and how to end it; the owner's
// browser that passed a second step before signs in with the right code;
// a password reset ends the lockout and keeps the remembered browsers.
func TestPasswordThiefCannotLockOutTheOwner(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			owner := engineSite(t, engine, nil)
			const email = "owner@example.com"
			secret, appID, _ := owner.twoStepOwner(email)
			// A laptop the owner ticked "Don't ask again" on, and the
			// owner's everyday browser, which passed a second step.
			laptop := owner.browser()
			laptop.password(email, lockPassword)
			st, loc, body := laptop.code(appID, laptop.rightCode(secret), true)
			laptop.wantRedirect(st, loc, body, "/account")
			owner.password(email, lockPassword)
			st, loc, body = owner.code(appID, owner.rightCode(secret), false)
			owner.wantRedirect(st, loc, body, "/account")
			owner.do("POST", "/signout", url.Values{})
			laptop.do("POST", "/signout", url.Values{})

			thief := owner.browser()
			thief.guess(email, secret, appID)
			thief.password(email, lockPassword)
			st, _, body = thief.code(appID, thief.wrongCode(secret), false)
			thief.want(http.StatusTooManyRequests, st, body, `class="alert error-box" role="alert" id="locked"`,
				"not even the right one", " UTC (in ", `href="/forgot-password"`, "Changing your password ends this")
			if got := owner.mails(email)[lockSubject]; len(got) != 1 {
				t.Fatalf("%d lockout e-mails, want 1 (once per lockout): %q", len(got), got)
			} else if !strings.Contains(got[0], "Someone who knows your password is trying to get past two-step verification") ||
				!strings.Contains(got[0], "Change your password now: "+owner.srv.BaseURL()+"/forgot-password") {
				t.Fatalf("lockout e-mail:\n%s", got[0])
			}

			// A new browser of the owner's: even the right code waits.
			newer := owner.browser()
			newer.password(email, lockPassword)
			st, _, body = newer.code(appID, newer.rightCode(secret), false)
			newer.want(http.StatusTooManyRequests, st, body, "not even the right one")
			if got := owner.mails(email)[lockSubject]; len(got) != 1 {
				t.Fatalf("%d lockout e-mails after more refusals, want still 1", len(got))
			}
			// The owner's browser is judged by its own budget.
			owner.password(email, lockPassword)
			st, loc, body = owner.code(appID, owner.rightCode(secret), false)
			owner.wantRedirect(st, loc, body, "/account")
			events, err := owner.srv.App.DB.Events(t.Context(), mustUser(t, owner, email), 100)
			if err != nil {
				t.Fatal(err)
			}
			lockouts := 0
			for _, e := range events {
				if e.Kind == "second_factor" && e.Outcome == "lockout" {
					lockouts++
				}
			}
			if lockouts != 1 {
				t.Fatalf("%d lockout events, want 1", lockouts)
			}

			// The reset page: the account named for password managers, its
			// field focused, the browsers kept unless ticked.
			token := newer.resetLink(email)
			st, _, body = newer.do("GET", "/reset-password?token="+url.QueryEscape(token), nil)
			newer.want(200, st, body, `name="username" value="owner@example.com" autocomplete="username"`, `name="password" type="password"`, "autofocus",
				`<input type="checkbox" id="forget_browsers" name="forget_browsers" value="1" aria-describedby="forget_browsers-hint" >`, "Also forget my remembered browsers")
			st, loc, body = newer.do("POST", "/reset-password", url.Values{"token": {token}, "password": {"a brand new passphrase 2027"}})
			newer.wantRedirect(st, loc, body, "/signin?notice=password_reset")
			reset := owner.mails(email)["Your password was reset"]
			if len(reset) != 1 || !strings.Contains(reset[0], "Two-step verification is still on") || !strings.Contains(reset[0], "Remembered browsers stay remembered") {
				t.Fatalf("reset e-mail: %q", reset)
			}
			// The guessing is over: the new browser gets in with the right code.
			newer.password(email, "a brand new passphrase 2027")
			st, loc, body = newer.code(appID, newer.rightCode(secret), false)
			newer.wantRedirect(st, loc, body, "/account")
			// The remembered laptop still skips the code, with the new password.
			st, loc, body = laptop.do("POST", "/signin", url.Values{"email": {email}, "password": {"a brand new passphrase 2027"}})
			laptop.wantRedirect(st, loc, body, "/account")
		})
	}
}

func mustUser(t *testing.T, s *site, email string) string {
	t.Helper()
	u, err := s.srv.App.DB.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestResetForgetsBrowsersOnlyWhenAsked: ticking "Also forget my
// remembered browsers" forgets them, and the e-mail says so.
func TestResetForgetsBrowsersOnlyWhenAsked(t *testing.T) {
	owner := engineSite(t, "sqlite", nil)
	const email = "forget@example.com"
	secret, appID, _ := owner.twoStepOwner(email)
	laptop := owner.browser()
	laptop.password(email, lockPassword)
	st, loc, body := laptop.code(appID, laptop.rightCode(secret), true)
	laptop.wantRedirect(st, loc, body, "/account")
	laptop.do("POST", "/signout", url.Values{})

	token := owner.resetLink(email)
	st, loc, body = owner.do("POST", "/reset-password", url.Values{"token": {token}, "password": {"a brand new passphrase 2027"}, "forget_browsers": {"1"}})
	owner.wantRedirect(st, loc, body, "/signin?notice=password_reset")
	reset := owner.mails(email)["Your password was reset"]
	if len(reset) != 1 || !strings.Contains(reset[0], "Remembered browsers were forgotten") || !strings.Contains(reset[0], "Two-step verification is still on") {
		t.Fatalf("reset e-mail: %q", reset)
	}
	laptop.password(email, "a brand new passphrase 2027")
}

// TestPasswordChangeEndsTheGuessing: the owner, signed in on a browser
// that passed a second step, changes the password while the account is
// locked; a new browser then gets in with the right code.
func TestPasswordChangeEndsTheGuessing(t *testing.T) {
	owner := engineSite(t, "sqlite", nil)
	const email = "change@example.com"
	secret, appID, _ := owner.twoStepOwner(email)
	owner.password(email, lockPassword)
	st, loc, body := owner.code(appID, owner.rightCode(secret), false)
	owner.wantRedirect(st, loc, body, "/account")
	owner.do("POST", "/signout", url.Values{})

	thief := owner.browser()
	thief.guess(email, secret, appID)
	newer := owner.browser()
	newer.password(email, lockPassword)
	st, _, body = newer.code(appID, newer.rightCode(secret), false)
	newer.want(http.StatusTooManyRequests, st, body, "not even the right one")

	owner.password(email, lockPassword)
	st, loc, body = owner.code(appID, owner.rightCode(secret), false)
	owner.wantRedirect(st, loc, body, "/account")
	if st, doc := owner.api("POST", "/api/v1/password", map[string]string{"current_password": lockPassword, "new_password": "a brand new passphrase 2027"}); st != 200 && st != 204 {
		t.Fatalf("change password: %d %v", st, doc)
	}
	newer.password(email, "a brand new passphrase 2027")
	st, loc, body = newer.code(appID, newer.rightCode(secret), false)
	newer.wantRedirect(st, loc, body, "/account")
}

// TestRecoveryCodeSignInSaysWhatIsLeft: a sign-in with a recovery code
// lands on the two-step page, which says how many are left and to replace
// a lost phone; with an app waiting, it goes to the app.
func TestRecoveryCodeSignInSaysWhatIsLeft(t *testing.T) {
	s := returnSite(t, "sqlite")
	const email = "lost@example.com"
	_, _, codes := s.twoStepOwner(email)
	methods, err := s.srv.App.Account.Methods(t.Context(), mustUser(t, s, email))
	if err != nil {
		t.Fatal(err)
	}
	recoveryID := ""
	for _, m := range methods {
		if m.Kind == "recovery_code" {
			recoveryID = m.ID
		}
	}
	s.password(email, lockPassword)
	st, _, body := s.do("GET", "/signin/verify?method="+recoveryID, nil)
	s.want(200, st, body, `autocapitalize="off" spellcheck="false"`, "Use your authenticator app (Phone)")
	if strings.Contains(body, `inputmode="numeric"`) {
		t.Fatalf("recovery code field asks for digits:\n%s", body)
	}
	st, loc, body := s.code(recoveryID, codes[0], false)
	s.wantRedirect(st, loc, body, "/account/two-step?notice=recovery_used_9")
	st, _, body = s.do("GET", loc, nil)
	s.want(200, st, body, "You used a recovery code; 9 are left. Lost your phone? Replace it now")

	// On the way to an app, the app comes first.
	s.do("POST", "/signout", url.Values{})
	const target = "https://app.example.com/orders"
	s.do("GET", "/signin?rd="+url.QueryEscape(target), nil)
	s.password(email, lockPassword)
	st, loc, body = s.code(recoveryID, codes[1], false)
	s.wantRedirect(st, loc, body, target)
}

// TestChallengePageWords: counts and durations in words, the code's
// lifetime as configured, the phone's buttons only when they mean
// something, the hint tied to its checkbox, and a way out for someone who
// can use none of their methods.
func TestChallengePageWords(t *testing.T) {
	s := engineSite(t, "sqlite", func(c *config.Config) { c.Codes.TTL = config.Duration(7 * time.Minute) })
	const email = "words@example.com"
	s.signup(email)
	secret, appID := s.addMethods(email)
	st, doc := s.api("POST", "/api/v1/factors/phone", map[string]string{"phone": "+447400123456", "channel": "sms"})
	if st != 201 && st != 202 {
		t.Fatalf("add phone: %d %v", st, doc)
	}
	phoneID := doc["factor"].(map[string]any)["id"].(string)
	s.srv.App.Account.Flush()
	msgs, _ := s.srv.App.Outbox.List(t.Context(), "+447400123456", 5)
	if st, doc := s.api("POST", "/api/v1/factors/"+phoneID+"/confirm", map[string]string{"code": msgs[0].Code}); st != 200 {
		t.Fatalf("confirm phone: %d %v", st, doc)
	}
	if st, doc := s.api("POST", "/api/v1/two-step/enable", nil); st != 200 {
		t.Fatalf("enable: %d %v", st, doc)
	}
	s.do("POST", "/signout", url.Values{})

	// A new browser: the phone's code was sent during set-up, not in this
	// sign-in, so nothing counts down, and a call is not offered before a
	// text.
	b := s.browser()
	b.password(email, lockPassword)
	st, _, body := b.do("GET", "/signin/verify?method="+phoneID, nil)
	b.want(200, st, body, `data-wait="0">Text me a code</button>`, `aria-describedby="remember-hint"`, `id="remember-hint"`,
		"I can't use any of these", "use one", "turn two-step verification off", "Use your authenticator app (Phone)")
	for _, bad := range []string{"Call me", "Use Phone"} {
		if strings.Contains(body, bad) {
			t.Fatalf("challenge before a text says %q:\n%s", bad, body)
		}
	}
	b.clock.Advance(31 * time.Second) // the set-up text's cool-down
	st, loc, _ := b.do("POST", "/signin/send", url.Values{"method_id": {phoneID}, "channel": {"sms"}})
	if st != http.StatusSeeOther {
		t.Fatalf("send: %d %s", st, loc)
	}
	st, _, body = b.do("GET", loc, nil)
	b.want(200, st, body, "It works for 7 minutes.", `data-wait="30">Text it again</button>`, "Call me instead", `inputmode="numeric"`)

	// Four wrong codes leave one try, said in words.
	st, _, body = b.do("GET", "/signin/verify?method="+appID, nil)
	b.want(200, st, body, "Use your phone &#43;44 •••• •••456")
	var last string
	for range 4 {
		_, _, last = b.code(appID, b.wrongCode(secret), false)
	}
	b.want(http.StatusUnauthorized, http.StatusUnauthorized, last, "1 try left.")
	if strings.Contains(last, "1 tries") {
		t.Fatalf("challenge says 1 tries:\n%s", last)
	}
}
