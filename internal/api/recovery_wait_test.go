package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/secret"
	"twostep/internal/testenv"
	"twostep/internal/text"
)

// recoveryDelay is the waiting period of these tests: short, on the
// injected clock.
const recoveryDelay = 4 * time.Hour

const recoveryPhone = "+447400123456"

// startRecovery is a server whose recovery waits recoveryDelay.
func startRecovery(t *testing.T, engine string) *env {
	t.Helper()
	clock := testenv.NewClock()
	cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
	cfg.Recovery.Delay.UnmarshalText([]byte(recoveryDelay.String()))
	return &env{t: t, srv: testenv.Start(t, cfg, app.Options{Now: clock.Now}), clock: clock}
}

// phoneAccount is an account with a phone (texts) as its method,
// recovery codes as its backup, and two-step verification on.
func (e *env) phoneAccount(email string) (c *http.Client, codes []string) {
	e.t.Helper()
	c = e.signup(email)
	r := e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": recoveryPhone, "channel": "sms"})
	e.want(r, http.StatusCreated, "")
	id := r.JSON["factor"].(map[string]any)["id"].(string)
	code := e.outbox(recoveryPhone)[0].Code
	e.want(e.call(c, "POST", "/api/v1/factors/"+id+"/confirm", map[string]string{"code": code}), 200, "")
	rc := e.call(c, "POST", "/api/v1/factors/recovery-codes", nil)
	e.want(rc, 201, "")
	for _, x := range rc.JSON["codes"].([]any) {
		codes = append(codes, x.(string))
	}
	e.want(e.call(c, "POST", "/api/v1/two-step/enable", nil), 200, "")
	return c, codes
}

// messages counts the messages to addr whose subject or body holds s.
func (e *env) messages(addr, s string) int {
	n := 0
	for _, m := range e.outbox(addr) {
		if strings.Contains(m.Subject, s) || strings.Contains(m.Body, s) {
			n++
		}
	}
	return n
}

// newestCode is the code (a link's token) of the newest message to addr
// holding s.
func (e *env) newestCode(addr, s string) string {
	e.t.Helper()
	for _, m := range e.outbox(addr) {
		if strings.Contains(m.Subject, s) || strings.Contains(m.Body, s) {
			return m.Code
		}
	}
	e.t.Fatalf("no message holding %q to %s", s, addr)
	return ""
}

// askRecovery signs b in with the password (the challenge) and asks for
// a recovery; it returns the e-mailed link's token.
func (e *env) askRecovery(b *http.Client, email string) string {
	e.t.Helper()
	if r := e.password(b, email); r.str("status") != "second_factor_required" {
		e.t.Fatalf("sign-in = %s, want the challenge", r.Body)
	}
	seen := map[string]bool{}
	for _, m := range e.outbox(email) {
		seen[m.Code] = true
	}
	r := e.call(b, "POST", "/api/v1/signin/recover", nil)
	e.want(r, http.StatusAccepted, "")
	if string(r.Body) != "{}\n" {
		e.t.Fatalf("recover body = %q, want {}", r.Body)
	}
	return e.newCode(email, "Recover your", seen)
}

// newCode is the code of the message to addr holding s that is not in
// seen (messages sent at the same instant come in any order).
func (e *env) newCode(addr, s string, seen map[string]bool) string {
	e.t.Helper()
	for _, m := range e.outbox(addr) {
		if (strings.Contains(m.Subject, s) || strings.Contains(m.Body, s)) && !seen[m.Code] {
			return m.Code
		}
	}
	e.t.Fatalf("no new message holding %q to %s", s, addr)
	return ""
}

// TestRecoveryWithWaitingPeriod runs the recovery end to end on both
// engines: the request from the challenge, the e-mailed link, notices to
// every address and phone at once and halfway (once, of every sender
// round), a cancel link that works once, a second request refused during
// a wait, a different browser that cannot finish, and the confirming
// browser finishing after the wait: two-step off, sessions gone, told.
func TestRecoveryWithWaitingPeriod(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			e := startRecovery(t, engine)
			const email = "lost@example.com"
			owner, _ := e.phoneAccount(email)
			b := e.srv.Client() // the person who lost their phone

			// Without a pending sign-in (no password yet): refused.
			e.want(e.call(e.srv.Client(), "POST", "/api/v1/signin/recover", nil), 401, "signin_expired")

			first := e.askRecovery(b, email)
			// Asking again replaces the link not opened yet.
			token := e.askRecovery(b, email)
			if token == first {
				t.Fatal("the second request sent the same link")
			}
			if n := e.messages(email, "/recover?token="+token); n != 1 {
				t.Fatalf("%d e-mails with the /recover?token= link, want 1", n)
			}
			e.want(e.call(b, "POST", "/api/v1/recovery/confirm", map[string]string{"token": first}), 409, "recovery_ended")

			// Forged and malformed tokens: 4xx with words, never 500.
			for _, bad := range []any{map[string]string{"token": "nope"}, map[string]string{"token": secret.NewToken()}, map[string]string{"token": ""}} {
				e.want(e.call(b, "POST", "/api/v1/recovery/confirm", bad), 400, "invalid_token")
				e.want(e.call(b, "POST", "/api/v1/recovery/cancel", bad), 400, "invalid_token")
			}
			e.want(e.call(b, "POST", "/api/v1/recovery/confirm", `{"token": 5}`), 400, "invalid_json")
			e.want(e.call(b, "POST", "/api/v1/recovery/cancel", `{"tok": "x"}`), 400, "unknown_field")

			// The link starts the wait, once.
			start := e.clock.Now()
			r := e.call(b, "POST", "/api/v1/recovery/confirm", map[string]string{"token": token})
			e.want(r, 200, "")
			if ready, err := time.Parse(time.RFC3339, r.str("ready_at")); err != nil || !ready.Equal(start.Add(recoveryDelay)) {
				t.Fatalf("ready_at = %q, want %v", r.str("ready_at"), start.Add(recoveryDelay))
			}
			e.want(e.call(b, "POST", "/api/v1/recovery/confirm", map[string]string{"token": token}), 409, "recovery_ended")

			// Every address and phone is told at once, with a cancel link.
			if n := e.messages(email, "/cancel-recovery?token="); n != 1 {
				t.Fatalf("%d notices to the address, want 1", n)
			}
			if n := e.messages(recoveryPhone, "/cancel-recovery?token="); n != 1 {
				t.Fatalf("%d texts to the phone, want 1", n)
			}
			if want := "At " + text.At(start.Add(recoveryDelay), start); e.messages(email, want) != 1 {
				t.Fatalf("no notice says %q", want)
			}
			// One open recovery per account.
			e.password(b, email)
			e.want(e.call(b, "POST", "/api/v1/signin/recover", nil), 409, "recovery_under_way")

			// Before the wait is over, the right password gets the challenge.
			e.advance(recoveryDelay / 4)
			if r := e.password(b, email); r.str("status") != "second_factor_required" || r.JSON["recovered"] != nil {
				t.Fatalf("sign-in before ready_at = %s", r.Body)
			}

			// Halfway, a reminder to everyone, once however often the
			// sender looks.
			e.advance(recoveryDelay / 4)
			e.outbox(email)
			e.outbox(email)
			if n := e.messages(email, "Reminder: a recovery"); n != 1 {
				t.Fatalf("%d reminders to the address, want 1", n)
			}
			if n := e.messages(recoveryPhone, "Reminder: someone is recovering"); n != 1 {
				t.Fatalf("%d reminders to the phone, want 1", n)
			}

			// The reminder's cancel link (one click) ends it, once.
			cancel := e.newestCode(recoveryPhone, "Reminder")
			e.want(e.call(e.srv.Client(), "POST", "/api/v1/recovery/cancel", map[string]string{"token": cancel}), 204, "")
			e.want(e.call(e.srv.Client(), "POST", "/api/v1/recovery/cancel", map[string]string{"token": cancel}), 409, "recovery_ended")
			if n := e.messages(email, "was cancelled with the cancel link"); n != 1 {
				t.Fatalf("%d cancel notices, want 1", n)
			}
			e.advance(recoveryDelay)
			if r := e.password(b, email); r.str("status") != "second_factor_required" {
				t.Fatalf("sign-in after a cancelled recovery = %s", r.Body)
			}

			// Again, to the end: a different browser with the password gets
			// the challenge; the one that opened the link finishes it.
			token = e.askRecovery(b, email)
			e.want(e.call(b, "POST", "/api/v1/recovery/confirm", map[string]string{"token": token}), 200, "")
			e.advance(recoveryDelay + time.Minute)
			other := e.srv.Client()
			if r := e.password(other, email); r.str("status") != "second_factor_required" {
				t.Fatalf("another browser after ready_at = %s, want the challenge", r.Body)
			}
			done := e.password(b, email)
			if done.str("status") != "signed_in" || done.JSON["recovered"] != true {
				t.Fatalf("the confirming browser after ready_at = %s, want signed_in, recovered", done.Body)
			}
			me := e.call(b, "GET", "/api/v1/me", nil)
			e.want(me, 200, "")
			ts := me.JSON["two_step"].(map[string]any)
			if ts["enabled"] != false || len(ts["methods"].([]any)) != 0 {
				t.Fatalf("two_step after recovery = %v, want off with no methods", ts)
			}
			e.want(e.call(owner, "GET", "/api/v1/me", nil), 401, "unauthenticated")
			if n := e.messages(email, "The recovery of "+email+" is complete"); n != 1 {
				t.Fatalf("%d completion notices to the address, want 1", n)
			}
			if n := e.messages(recoveryPhone, "is complete"); n != 1 {
				t.Fatalf("%d completion texts, want 1", n)
			}
			// Finished: its links do nothing more.
			e.want(e.call(b, "POST", "/api/v1/recovery/confirm", map[string]string{"token": token}), 409, "recovery_ended")
			ev := e.call(b, "GET", "/api/v1/events", nil)
			for _, k := range []string{"recovery_requested", "recovery_started", "recovery_cancelled", "recovery_completed"} {
				if !strings.Contains(string(ev.Body), `"`+k+`"`) {
					t.Errorf("events lack %s: %s", k, ev.Body)
				}
			}
		})
	}
}

// TestRecoveryCancelledBySecondStep: a sign-in that completes a second
// step during the wait cancels the recovery and says so; the confirming
// browser then gets the challenge after the wait. Requests are budgeted
// per account.
func TestRecoveryCancelledBySecondStep(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			e := startRecovery(t, engine)
			const email = "found@example.com"
			_, codes := e.phoneAccount(email)
			b := e.srv.Client()
			token := e.askRecovery(b, email)
			// Opened in a browser new to twostep: it is given an id.
			fresh := e.srv.Client()
			e.want(e.call(fresh, "POST", "/api/v1/recovery/confirm", map[string]string{"token": token}), 200, "")
			if cookieNamed(fresh, e.srv.BaseURL(), "twostep_browser") == nil {
				t.Fatal("the confirming browser got no browser cookie")
			}

			// The owner signs in with a recovery code: the recovery ends.
			owner := e.srv.Client()
			r := e.password(owner, email)
			var recID string
			for _, m := range r.JSON["methods"].([]any) {
				if m.(map[string]any)["kind"] == "recovery_code" {
					recID = m.(map[string]any)["id"].(string)
				}
			}
			e.want(e.call(owner, "POST", "/api/v1/signin/verify", map[string]any{"method_id": recID, "code": codes[0]}), 200, "")
			if n := e.messages(email, "because someone signed in with a two-step method"); n != 1 {
				t.Fatalf("%d notices of the cancel by sign-in, want 1", n)
			}
			e.advance(recoveryDelay + time.Minute)
			if r := e.password(fresh, email); r.str("status") != "second_factor_required" {
				t.Fatalf("the confirming browser after a cancelled recovery = %s", r.Body)
			}

			// Per-account budget: the first request and two more, then 429.
			e.askRecovery(b, email)
			e.askRecovery(b, email)
			e.password(b, email)
			r = e.call(b, "POST", "/api/v1/signin/recover", nil)
			e.want(r, 429, "rate_limited")
		})
	}
}
