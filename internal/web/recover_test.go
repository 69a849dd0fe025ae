package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"twostep/internal/config"
	"twostep/internal/testenv"
	"twostep/internal/text"
)

// pageRecoveryDelay is the waiting period of the page tests.
const pageRecoveryDelay = 2 * time.Hour

// mailCode is the code (a link's token) of a message to addr whose
// subject holds subject and that is not in seen.
func (s *site) mailCode(addr, subject string, seen map[string]bool) string {
	s.t.Helper()
	s.srv.App.Account.Flush()
	msgs, err := s.srv.App.Outbox.List(s.t.Context(), addr, 100)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, m := range msgs {
		if strings.Contains(m.Subject, subject) && !seen[m.Code] {
			return m.Code
		}
	}
	s.t.Fatalf("no message %q to %s", subject, addr)
	return ""
}

// askRecoveryPage goes from the challenge to the request page and asks
// for the link; it returns the link's token.
func (s *site) askRecoveryPage(email string) string {
	s.t.Helper()
	s.password(email, lockPassword)
	st, _, body := s.do("GET", "/signin/verify", nil)
	s.want(200, st, body, "I can't use any of these", `href="/signin/recover"`)
	st, _, body = s.do("GET", "/signin/recover", nil)
	s.want(200, st, body, "Lost every way to sign in?", email, "E-mail me a recovery link", "2 hours")
	st, _, body = s.do("POST", "/signin/recover", url.Values{})
	s.want(200, st, body, "Check your e-mail", "It works once, for 1 hour.")
	return s.mailCode(email, "Recover your", nil)
}

// TestRecoveryPages walks every page of the recovery on both engines:
// the request from the challenge, "check your e-mail", the link's page
// and its button, "ready at" in words in a <time>, the cancel link's page
// and its confirmation, links that no longer work, and the completion
// page from the browser that opened the link (another gets the
// challenge).
func TestRecoveryPages(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			s := engineSite(t, engine, func(c *config.Config) { c.Recovery.Delay = config.Duration(pageRecoveryDelay) })
			const email = "pages@example.com"
			s.twoStepOwner(email)

			// Without a pending sign-in, the request page sends to sign in.
			st, loc, body := s.browser().do("GET", "/signin/recover", nil)
			s.wantRedirect(st, loc, body, "/signin?notice=signin_expired")

			token := s.askRecoveryPage(email)
			// The link's page starts nothing by itself (mail scanners open links).
			st, _, body = s.do("GET", "/recover?token="+token, nil)
			s.want(200, st, body, "Start the waiting period", email)
			st, _, body = s.do("GET", "/recover?token="+token, nil)
			s.want(200, st, body, "Start the waiting period")
			start := s.clock.Now()
			st, _, body = s.do("POST", "/recover", url.Values{"token": {token}})
			ready := start.Add(pageRecoveryDelay)
			s.want(200, st, body, "Your recovery will be ready at <time datetime=\""+ready.UTC().Format(time.RFC3339)+"\">"+text.At(ready, start)+"</time>")
			st, _, body = s.do("GET", "/recover?token="+token, nil)
			s.want(http.StatusConflict, st, body, "already ended")
			st, _, body = s.do("POST", "/recover", url.Values{"token": {token}})
			s.want(http.StatusConflict, st, body, "already ended")
			for _, bad := range []string{"forged", "", strings.Repeat("A", 43)} {
				st, _, body = s.do("GET", "/recover?token="+bad, nil)
				s.want(400, st, body, "Link not valid")
				st, _, body = s.do("GET", "/cancel-recovery?token="+bad, nil)
				s.want(400, st, body, "Link not valid")
				st, _, body = s.do("POST", "/cancel-recovery", url.Values{"token": {bad}})
				s.want(400, st, body, "Link not valid")
			}

			// The cancel link: a page with one button, then the confirmation.
			cancel := s.mailCode(email, "Someone is recovering", nil)
			other := s.browser()
			st, _, body = other.do("GET", "/cancel-recovery?token="+cancel, nil)
			s.want(200, st, body, "Cancel the recovery?", email, "<time datetime=")
			st, _, body = other.do("POST", "/cancel-recovery", url.Values{"token": {cancel}})
			s.want(200, st, body, "Recovery cancelled", "Two-step verification stays on")
			st, _, body = other.do("POST", "/cancel-recovery", url.Values{"token": {cancel}})
			s.want(http.StatusConflict, st, body, "already ended")

			// Once more, to the end.
			s.clock.Advance(time.Minute)
			token = s.askRecoveryPage(email)
			st, _, body = s.do("POST", "/recover", url.Values{"token": {token}})
			s.want(200, st, body, "Your recovery will be ready at")
			s.clock.Advance(pageRecoveryDelay)
			other.password(email, lockPassword) // another browser: the challenge
			st, loc, body = s.do("POST", "/signin", url.Values{"email": {email}, "password": {lockPassword}})
			s.wantRedirect(st, loc, body, "/recover/done")
			st, _, body = s.do("GET", "/recover/done", nil)
			s.want(200, st, body, "Your account is recovered", "Two-step verification is off", `href="/account/two-step/setup"`)
			if _, ok := s.mails(email)["Your account was recovered"]; !ok {
				t.Fatal("no completion notice")
			}
		})
	}
}
