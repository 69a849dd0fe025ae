// Package session carries sessions over HTTP: the cookies that hold the
// session token and the browser id, and the client's address and user
// agent that every session and event records. The sessions themselves are
// kept by package account in the database.
package session

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Cookies sets and reads twostep's cookies. They are HttpOnly and
// SameSite=Lax; Secure with the __Host- prefix unless twostep is served
// over plain HTTP on a loopback address, where browsers would drop them.
type Cookies struct {
	secure  bool
	session string
	browser string
	pending string
	devices string
}

// NewCookies decides the cookie attributes from the public base URL.
func NewCookies(baseURL string) Cookies {
	secure := true
	if u, err := url.Parse(baseURL); err == nil && u.Scheme == "http" && isLoopback(u.Hostname()) {
		secure = false
	}
	c := Cookies{secure: secure, session: "twostep_session", browser: "twostep_browser", pending: "twostep_pending", devices: "twostep_devices"}
	if secure {
		c.session, c.browser = "__Host-"+c.session, "__Host-"+c.browser
		c.pending, c.devices = "__Host-"+c.pending, "__Host-"+c.devices
	}
	return c
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Secure reports whether cookies carry the Secure attribute.
func (c Cookies) Secure() bool { return c.secure }

// SessionName is the session cookie's name.
func (c Cookies) SessionName() string { return c.session }

// BrowserName is the browser-id cookie's name.
func (c Cookies) BrowserName() string { return c.browser }

func (c Cookies) set(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: true, Secure: c.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge.Seconds()),
	})
}

// SetSession stores the session token; the cookie lives as long as the
// session's absolute lifetime (the server enforces the idle timeout).
func (c Cookies) SetSession(w http.ResponseWriter, token string, maxAge time.Duration) {
	c.set(w, c.session, token, maxAge)
}

// ClearSession removes the session cookie.
func (c Cookies) ClearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: c.session, Value: "", Path: "/", HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// Session returns the session token the request carries, or "".
func (c Cookies) Session(r *http.Request) string { return value(r, c.session) }

// SetBrowser stores the browser id that marks a browser as known to the
// accounts that signed in with it.
func (c Cookies) SetBrowser(w http.ResponseWriter, id string, maxAge time.Duration) {
	c.set(w, c.browser, id, maxAge)
}

// Browser returns the browser id the request carries, or "".
func (c Cookies) Browser(r *http.Request) string { return value(r, c.browser) }

func value(r *http.Request, name string) string {
	ck, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return ck.Value
}

// ClientIP is the address of the client: the peer address, or with
// trustProxy the last address in X-Forwarded-For (the one the proxy added).
func ClientIP(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if ip := net.ParseIP(strings.TrimSpace(parts[len(parts)-1])); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// SetPending stores the token of a sign-in waiting for its second factor.
func (c Cookies) SetPending(w http.ResponseWriter, token string, maxAge time.Duration) {
	c.set(w, c.pending, token, maxAge)
}

// Pending returns the pending sign-in token, or "".
func (c Cookies) Pending(r *http.Request) string { return value(r, c.pending) }

// ClearPending removes the pending sign-in cookie.
func (c Cookies) ClearPending(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: c.pending, Value: "", Path: "/", HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// maxDeviceTokens bounds the device cookie: one token per account that
// trusted this browser, newest first.
const maxDeviceTokens = 10

// Devices returns the remembered-device tokens the browser holds.
func (c Cookies) Devices(r *http.Request) []string {
	v := value(r, c.devices)
	if v == "" {
		return nil
	}
	parts := strings.Split(v, ".")
	if len(parts) > maxDeviceTokens {
		parts = parts[:maxDeviceTokens]
	}
	return parts
}

// AddDevice adds a device token to the browser's cookie, keeping the
// tokens other accounts put there: a browser shared by several people
// keeps each one's trust.
func (c Cookies) AddDevice(w http.ResponseWriter, r *http.Request, token string, maxAge time.Duration) {
	tokens := []string{token}
	for _, t := range c.Devices(r) {
		if t != token && len(tokens) < maxDeviceTokens {
			tokens = append(tokens, t)
		}
	}
	c.set(w, c.devices, strings.Join(tokens, "."), maxAge)
}
