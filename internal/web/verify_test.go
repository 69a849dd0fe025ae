package web_test

import (
	"net/url"
	"strings"
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
