package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestVerifyPageShowsTheSignedInHeader: the confirmation link opened in
// the browser that is signed in shows that account in the header, with
// Sign out, before and after the press, as every other account page does;
// signed out, the header offers to sign in.
func TestVerifyPageShowsTheSignedInHeader(t *testing.T) {
	s := newSite(t)
	const addr = "header@example.com"
	st, _, _ := s.do("POST", "/signup", url.Values{"email": {addr}, "password": {"correct horse battery"}})
	if st != http.StatusSeeOther {
		t.Fatalf("sign-up = %d", st)
	}
	s.srv.App.Account.Flush()
	msgs, err := s.srv.App.Outbox.List(t.Context(), addr, 5)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("no confirmation link: %v", err)
	}
	token := msgs[0].Code
	signedIn := []string{`<a href="/account">` + addr + `</a>`, `action="/signout"`}

	st, _, body := s.do("GET", "/verify-email?token="+url.QueryEscape(token), nil)
	s.want(200, st, body, signedIn...)
	st, _, body = s.do("POST", "/verify-email", url.Values{"token": {token}})
	s.want(200, st, body, append(signedIn, "is confirmed", "Go to your account")...)
	st, _, body = s.do("POST", "/verify-email", url.Values{"token": {token}})
	s.want(400, st, body, append(signedIn, "already used")...)

	st, _, _ = s.do("POST", "/signout", url.Values{})
	if st != http.StatusSeeOther {
		t.Fatalf("sign-out = %d", st)
	}
	st, _, body = s.do("GET", "/verify-email?token="+url.QueryEscape(token), nil)
	s.want(200, st, body, `<a href="/signin">Sign in</a>`)
	if strings.Contains(body, addr) {
		t.Fatal("signed out, the header still names the account")
	}
}
