package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// verifyEmail opens the newest verification link sent to addr, as its
// owner does before turning two-step verification on.
func (s *site) verifyEmail(addr string) {
	s.t.Helper()
	s.srv.App.Account.Flush()
	msgs, err := s.srv.App.Outbox.List(s.t.Context(), addr, 20)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, m := range msgs {
		if strings.Contains(m.Subject, "Confirm your e-mail") {
			st, _, body := s.do("POST", "/verify-email", url.Values{"token": {m.Code}})
			s.want(200, st, body)
			return
		}
	}
	s.t.Fatalf("no verification link to %s", addr)
}

// TestTwoStepPageAsksForAConfirmedAddressFirst: before the e-mail address
// is confirmed, the two-step page says so and offers the link again
// instead of a wizard that could not finish.
func TestTwoStepPageAsksForAConfirmedAddressFirst(t *testing.T) {
	s := newSite(t)
	st, _, _ := s.do("POST", "/signup", url.Values{"email": {"unconfirmed@example.com"}, "password": {"correct horse battery"}})
	if st != http.StatusSeeOther {
		t.Fatalf("sign-up = %d", st)
	}
	st, _, body := s.do("GET", "/account/two-step", nil)
	s.want(200, st, body, "First confirm your e-mail address", `action="/account/verify-email/resend"`)
	if strings.Contains(body, `href="/account/two-step/setup"`) {
		t.Fatal("the wizard is offered before the address is confirmed")
	}
	s.verifyEmail("unconfirmed@example.com")
	st, _, body = s.do("GET", "/account/two-step", nil)
	s.want(200, st, body, `href="/account/two-step/setup"`)
	if strings.Contains(body, "First confirm your e-mail address") {
		t.Fatal("still asks to confirm a confirmed address")
	}
}
