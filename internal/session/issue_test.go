package session

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestIssue: a new session gets its token, a new browser id and a new
// device token with their lifetimes, the device token joins those other
// accounts left in the browser, and the pending sign-in is dropped.
func TestIssue(t *testing.T) {
	c := NewCookies("https://id.example").WithLifetimes(Lifetimes{Session: time.Hour, Browser: 2 * time.Hour, Device: 3 * time.Hour})
	r := httptest.NewRequest("POST", "/signin/verify", nil)
	r.AddCookie(&http.Cookie{Name: "__Host-twostep_devices", Value: "other"})
	rec := httptest.NewRecorder()
	c.Issue(rec, r, Grant{Token: "tok", BrowserID: "bid", DeviceToken: "dev"})

	got := map[string]*http.Cookie{}
	for _, ck := range rec.Result().Cookies() {
		got[ck.Name] = ck
	}
	for _, want := range []struct {
		name, value string
		maxAge      int
	}{
		{"__Host-twostep_session", "tok", 3600},
		{"__Host-twostep_browser", "bid", 7200},
		{"__Host-twostep_pending", "", -1},
		{"__Host-twostep_devices", "dev.other", 10800},
	} {
		ck := got[want.name]
		if ck == nil {
			t.Errorf("no %s cookie; got %v", want.name, rec.Header()["Set-Cookie"])
			continue
		}
		if ck.Value != want.value || ck.MaxAge != want.maxAge || !ck.Secure || !ck.HttpOnly || ck.Path != "/" {
			t.Errorf("%s: got %q max-age %d secure %v httponly %v path %q, want %q max-age %d, Secure, HttpOnly, path /",
				want.name, ck.Value, ck.MaxAge, ck.Secure, ck.HttpOnly, ck.Path, want.value, want.maxAge)
		}
	}

	// A sign-in that brings no new browser id or device token sets neither.
	rec = httptest.NewRecorder()
	c.Issue(rec, httptest.NewRequest("POST", "/signin", nil), Grant{Token: "tok"})
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == "__Host-twostep_browser" || ck.Name == "__Host-twostep_devices" {
			t.Errorf("unexpected %s cookie: %q", ck.Name, ck.Value)
		}
	}
}
