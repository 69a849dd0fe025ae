package session

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestCookieDomain: with a cookie domain the session cookie drops the
// __Host- prefix (browsers refuse a Domain on it), carries the Domain and
// stays Secure, also when it is cleared; the other cookies keep __Host-.
func TestCookieDomain(t *testing.T) {
	c := NewCookies("https://login.example.com").WithLifetimes(Lifetimes{Session: time.Hour, Browser: time.Hour, Device: time.Hour}).WithDomain("example.com")
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "https://login.example.com/", nil)
	c.Issue(rec, req, Grant{Token: "tok", BrowserID: "bro"})
	c.ClearSession(rec)
	c.SetReturn(rec, "https://app.example.com/a?b=1;c,d")
	got := map[string][]*http.Cookie{}
	for _, ck := range rec.Result().Cookies() {
		got[ck.Name] = append(got[ck.Name], ck)
	}
	sess := got["twostep_session"]
	if len(sess) != 2 || got["__Host-twostep_session"] != nil {
		t.Fatalf("cookies = %v, want twostep_session set then cleared, no __Host- session", got)
	}
	for _, ck := range sess {
		if ck.Domain != "example.com" || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
			t.Errorf("session cookie %s", ck)
		}
	}
	if sess[1].MaxAge >= 0 {
		t.Errorf("cleared session cookie MaxAge = %d", sess[1].MaxAge)
	}
	for _, name := range []string{"__Host-twostep_browser", "__Host-twostep_pending", "__Host-twostep_return"} {
		for _, ck := range got[name] {
			if ck.Domain != "" || !ck.Secure {
				t.Errorf("%s = %s, want Secure without Domain", name, ck)
			}
		}
		if got[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	// The return address survives the cookie's character rules.
	back := httptest.NewRequest("GET", "https://login.example.com/", nil)
	back.AddCookie(got["__Host-twostep_return"][0])
	if v := c.Return(back); v != "https://app.example.com/a?b=1;c,d" {
		t.Errorf("Return = %q", v)
	}
	// Without a domain nothing changes.
	plain := NewCookies("https://login.example.com").WithDomain("")
	if plain.SessionName() != "__Host-twostep_session" {
		t.Errorf("session cookie without a domain = %q", plain.SessionName())
	}
}
