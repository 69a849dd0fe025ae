// Package session is sessions: starting, finding, listing and ending them
// in the database (Service, over a small Store), and carrying them over
// HTTP — the cookies that hold the session token and the browser id, and
// the client's address and user agent that every session and event
// records.
package session

import (
	"net"
	"net/http"
	"net/netip"
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
	// domain, when set, is the session cookie's Domain: it then reaches
	// every host below it, for the apps behind forward-auth.
	domain  string
	back    string
	browser string
	pending string
	passkey string
	devices string
	life    Lifetimes
}

// Lifetimes are how long the cookies of a sign-in live.
type Lifetimes struct {
	// Session is the session's absolute lifetime; the server enforces
	// the idle timeout.
	Session time.Duration
	// Browser is how long a browser that signed in stays known.
	Browser time.Duration
	// Device is a remembered device's longest life.
	Device time.Duration
}

// NewCookies decides the cookie attributes from the public base URL.
func NewCookies(baseURL string) Cookies {
	secure := true
	if u, err := url.Parse(baseURL); err == nil && u.Scheme == "http" && isLoopback(u.Hostname()) {
		secure = false
	}
	c := Cookies{secure: secure, session: "twostep_session", browser: "twostep_browser", pending: "twostep_pending", devices: "twostep_devices", back: "twostep_return",
		passkey: "twostep_passkey"}
	if secure {
		c.session, c.browser = "__Host-"+c.session, "__Host-"+c.browser
		c.pending, c.devices, c.back = "__Host-"+c.pending, "__Host-"+c.devices, "__Host-"+c.back
		c.passkey = "__Host-" + c.passkey
	}
	return c
}

// WithDomain returns the cookies with the session cookie sent to domain
// and every host below it (session.cookie_domain), so the apps behind
// forward-auth see it. Browsers refuse a Domain on a __Host- cookie, so
// that cookie is "twostep_session", always Secure (config.Validate asks
// for an https public URL). The other cookies stay __Host-: only
// twostep reads them.
func (c Cookies) WithDomain(domain string) Cookies {
	if domain == "" {
		return c
	}
	c.domain, c.session = domain, "twostep_session"
	return c
}

// WithLifetimes returns the cookies with their lifetimes set.
func (c Cookies) WithLifetimes(l Lifetimes) Cookies {
	c.life = l
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
	ck := &http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: true, Secure: c.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge.Seconds()),
	}
	if name == c.session && c.domain != "" {
		ck.Domain, ck.Secure = c.domain, true
	}
	http.SetCookie(w, ck)
}

// Grant is what a finished sign-in hands the browser: the fields of
// signin.Issued that become cookies.
type Grant struct {
	Token       string // the session token
	BrowserID   string // a new browser id (it marks the browser as known to the accounts that sign in with it), or ""
	DeviceToken string // the token of a browser just remembered, or ""
}

// Issue sets the cookies of a new session: the session token, a new
// browser id, a new remembered-device token beside those of other
// accounts; and it drops the pending sign-in the session ends. The pages
// and the API both issue sessions through it.
func (c Cookies) Issue(w http.ResponseWriter, r *http.Request, g Grant) {
	c.set(w, c.session, g.Token, c.life.Session)
	if g.BrowserID != "" {
		c.set(w, c.browser, g.BrowserID, c.life.Browser)
	}
	c.ClearPending(w)
	if g.DeviceToken != "" {
		c.AddDevice(w, r, g.DeviceToken)
	}
}

// SetBrowser gives the browser the id id (its browser cookie) without a
// session: a recovery's link opened in a browser new to twostep binds the
// recovery to it.
func (c Cookies) SetBrowser(w http.ResponseWriter, id string) {
	c.set(w, c.browser, id, c.life.Browser)
}

// ClearSession removes the session cookie.
func (c Cookies) ClearSession(w http.ResponseWriter) {
	c.set(w, c.session, "", -time.Second)
}

// returnLife is how long a return address waits for its sign-in: longer
// than a pending sign-in, as long as the set-up wizard may take.
const returnLife = time.Hour

// SetReturn keeps the address a sign-in started from (rd) while the
// password, the second step and the set-up wizard run; only an address
// signin.ReturnTo kept is ever stored, and it is checked again when read.
// It travels query-escaped: a cookie value cannot hold ";" or ",".
func (c Cookies) SetReturn(w http.ResponseWriter, target string) {
	c.set(w, c.back, url.QueryEscape(target), returnLife)
}

// Return is the return address the browser carries, or "".
func (c Cookies) Return(r *http.Request) string {
	v, err := url.QueryUnescape(value(r, c.back))
	if err != nil {
		return ""
	}
	return v
}

// ClearReturn removes the return address once it is used.
func (c Cookies) ClearReturn(w http.ResponseWriter) { c.set(w, c.back, "", -time.Second) }

// Session returns the session token the request carries, or "".
func (c Cookies) Session(r *http.Request) string { return value(r, c.session) }

// Browser returns the browser id the request carries, or "".
func (c Cookies) Browser(r *http.Request) string { return value(r, c.browser) }

func value(r *http.Request, name string) string {
	ck, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return ck.Value
}

// ClientIP is the address of the client. The peer address, unless the
// peer is one of the trusted proxies: then X-Forwarded-For is walked from
// its right end — across every header line, in order — past each hop that
// is itself a trusted proxy, and the first address that is not is the
// client. Entries to the left of it were written by the client and are
// never believed. "ip:port" and "[v6]:port" entries count as their
// address; an entry that is no address at all stops the walk at the last
// trusted hop, so garbage never moves the answer past a hop we trust.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	peer, ok := parseHop(r.RemoteAddr)
	if !ok {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return r.RemoteAddr
		}
		return host
	}
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	var hops []string
	for _, line := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(line, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break
		}
		client = a
		if !isTrusted(a, trusted) {
			break
		}
	}
	return client.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHop reads one forwarded address: "192.0.2.1", "192.0.2.1:4711",
// "2001:db8::1", "[2001:db8::1]" or "[2001:db8::1]:4711". Zones are
// dropped and IPv4-mapped IPv6 addresses read as IPv4.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone("").Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().WithZone("").Unmap(), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() {
			return a.WithZone("").Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// LimitKey is the address a client's rate limits are counted under: an
// IPv4 address itself, and for IPv6 its /64 (e.g. "2001:db8:1:2::/64"),
// because one subscriber usually holds a whole /64 and could otherwise
// take a fresh budget with every address in it.
func LimitKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
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

// SetPasskey stores the token a signed-out browser's passkey ceremony is
// bound to, for as long as the ceremony lives.
func (c Cookies) SetPasskey(w http.ResponseWriter, token string, maxAge time.Duration) {
	c.set(w, c.passkey, token, maxAge)
}

// Passkey returns the passkey ceremony's token, or "".
func (c Cookies) Passkey(r *http.Request) string { return value(r, c.passkey) }

// ClearPasskey removes the passkey ceremony's cookie.
func (c Cookies) ClearPasskey(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: c.passkey, Value: "", Path: "/", HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
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
// keeps each one's trust. The cookie lives as long as a remembered
// device's longest life.
func (c Cookies) AddDevice(w http.ResponseWriter, r *http.Request, token string) {
	tokens := []string{token}
	for _, t := range c.Devices(r) {
		if t != token && len(tokens) < maxDeviceTokens {
			tokens = append(tokens, t)
		}
	}
	c.set(w, c.devices, strings.Join(tokens, "."), c.life.Device)
}
