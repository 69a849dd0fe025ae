// Package forwardauth answers reverse proxies that ask, before passing a
// request on to an app, whether the person behind it may through: Caddy's
// forward_auth and Traefik's ForwardAuth (GET /api/v1/authz/forward-auth)
// and nginx's auth_request (GET /api/v1/authz/auth-request). The access
// rules (rules.go) give the request a policy; the session cookie the
// browser sent says who is asking and with how many steps.
//
// It is a surface beside web and api: it imports neither, and it is the
// hottest path of the product (every request of every protected app), so
// a check is one session lookup and no writes beyond the sessions'
// once-a-minute last-seen.
package forwardauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"twostep/internal/session"
	"twostep/internal/store"
)

// Sessions finds the live session behind a session cookie's token, with
// its user; session.ErrNoSession when there is none.
type Sessions interface {
	Authenticate(ctx context.Context, token string) (store.Session, store.User, error)
}

// Options wire a Handler.
type Options struct {
	Sessions Sessions
	Cookies  session.Cookies
	Rules    Rules
	// TrustProxy lists the proxies whose X-Forwarded-For is believed: the
	// client address a rule's networks see.
	TrustProxy []netip.Prefix
	// BaseURL is twostep's public URL, where people are sent to sign in.
	BaseURL string
	Log     *slog.Logger
}

// Handler serves the two forward-auth endpoints.
type Handler struct {
	o Options
}

// New returns the forward-auth surface.
func New(o Options) *Handler {
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	return &Handler{o: o}
}

// Routes registers the endpoints.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/authz/forward-auth", h.forwardAuth)
	mux.HandleFunc("GET /api/v1/authz/auth-request", h.authRequest)
}

// forwardAuth reads the target from X-Forwarded-Method/Proto/Host/Uri, as
// Caddy and Traefik send it. A browser navigation that must sign in is
// redirected (the proxy passes the 302 on); anything else gets 401.
func (h *Handler) forwardAuth(w http.ResponseWriter, r *http.Request) {
	proto := r.Header.Get("X-Forwarded-Proto")
	if proto == "" {
		proto = "https"
	}
	uri := r.Header.Get("X-Forwarded-Uri")
	if uri == "" {
		uri = "/"
	}
	t, target, ok := h.target(r, r.Header.Get("X-Forwarded-Method"), proto, r.Header.Get("X-Forwarded-Host"), uri)
	if !ok {
		badTarget(w, "X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-Uri")
		return
	}
	h.check(w, r, t, target, isNavigation(r, t.Method))
}

// authRequest reads the target from X-Original-URL and X-Original-Method,
// as nginx's auth_request is told to send it. nginx passes only 2xx, 401
// and 403 on, so a sign-in is always 401 with the page in Location.
func (h *Handler) authRequest(w http.ResponseWriter, r *http.Request) {
	raw := r.Header.Get("X-Original-URL")
	scheme, rest, found := strings.Cut(raw, "://")
	host, uri := rest, "/"
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, uri = rest[:i], rest[i:]
	}
	t, target, ok := h.target(r, r.Header.Get("X-Original-Method"), strings.ToLower(scheme), host, uri)
	if !found || !ok {
		badTarget(w, "X-Original-URL")
		return
	}
	h.check(w, r, t, target, false)
}

// target checks the proxy's description of the request and returns it as
// the rules see it and as the URL to come back to. Only what a real
// request line and Host header could hold is accepted.
func (h *Handler) target(r *http.Request, method, proto, host, uri string) (Target, string, bool) {
	if method == "" {
		method = http.MethodGet
	}
	if (proto != "https" && proto != "http") || !validHost(host) || !validURI(uri) || !validMethod(method) {
		return Target{}, "", false
	}
	t := Target{Host: strings.ToLower(hostname(host)), Path: uri, Method: method}
	if a, err := netip.ParseAddr(session.ClientIP(r, h.o.TrustProxy)); err == nil {
		t.Client = a.Unmap()
	}
	return t, proto + "://" + strings.ToLower(host) + uri, true
}

// check applies the policy of t to the session the request carries.
// navigation says a sign-in is answered with a redirect rather than 401.
func (h *Handler) check(w http.ResponseWriter, r *http.Request, t Target, target string, navigation bool) {
	w.Header().Set("Cache-Control", "no-store")
	policy := h.o.Rules.Policy(t)
	if policy == Deny {
		refuse(w, http.StatusForbidden, "access_denied", "Access denied", "The access rules refuse this request.")
		return
	}
	sess, u, err := h.o.Sessions.Authenticate(r.Context(), h.o.Cookies.Session(r))
	signedIn := err == nil
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		h.o.Log.Error("forward-auth: authenticate", "err", err)
		refuse(w, http.StatusInternalServerError, "internal", "Something went wrong", "The check could not be made. Try again.")
		return
	}
	switch {
	case policy == Bypass, policy == OneFactor && signedIn, policy == TwoFactor && signedIn && sess.AAL >= 2:
		allow(w, signedIn, sess, u)
	case !signedIn:
		h.signIn(w, r, "/signin", target, navigation)
	default: // signed in with one step where two are needed
		h.signIn(w, r, "/signin/second-step", target, navigation)
	}
}

// allow answers 200 with the identity headers, always all three, empty
// when nobody is signed in: a proxy that copies them then overwrites
// whatever the client forged.
func allow(w http.ResponseWriter, signedIn bool, sess store.Session, u store.User) {
	h := w.Header()
	h["Remote-User"], h["Remote-Email"], h["Remote-Aal"] = []string{""}, []string{""}, []string{""}
	if signedIn {
		h["Remote-User"], h["Remote-Email"], h["Remote-Aal"] = []string{u.ID}, []string{u.Email}, []string{strconv.Itoa(sess.AAL)}
	}
	w.WriteHeader(http.StatusOK)
}

// signIn sends the person to page with the target as rd: a 302 for a
// browser navigation, else 401 with the page in Location.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, page, target string, navigation bool) {
	loc := h.o.BaseURL + page + "?rd=" + url.QueryEscape(target)
	w.Header().Set("Location", loc)
	if navigation {
		w.WriteHeader(http.StatusFound)
		return
	}
	refuse(w, http.StatusUnauthorized, "signin_required", "Sign-in required", "Sign in at the address in Location, then try again.")
}

// isNavigation reports a browser loading a page: GET or HEAD asking for
// HTML. Scripts and API clients get 401 instead of a redirect they would
// follow blindly.
func isNavigation(r *http.Request, method string) bool {
	return (method == http.MethodGet || method == http.MethodHead) && strings.Contains(r.Header.Get("Accept"), "text/html")
}

func refuse(w http.ResponseWriter, status int, code, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	w.Write([]byte(`{"type":"about:blank","title":"` + title + `","status":` + strconv.Itoa(status) + `,"code":"` + code + `","detail":"` + detail + `"}` + "\n"))
}

func badTarget(w http.ResponseWriter, headers string) {
	refuse(w, http.StatusBadRequest, "invalid_target", "No target", "The proxy must describe the request in "+headers+".")
}

// validHost accepts a host name or IP literal with an optional port.
func validHost(h string) bool {
	if h == "" || len(h) > 261 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

func hostname(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		return h[:i]
	}
	return h
}

// validURI accepts an origin-form request target: a path from "/", with
// no spaces, controls or fragment.
func validURI(u string) bool {
	if !strings.HasPrefix(u, "/") || len(u) > 8192 {
		return false
	}
	for i := 0; i < len(u); i++ {
		if c := u[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}

func validMethod(m string) bool {
	if len(m) > 20 {
		return false
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; c < 'A' || c > 'Z' {
			return false
		}
	}
	return m != ""
}
