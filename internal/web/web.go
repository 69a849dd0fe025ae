// Package web serves twostep's server-rendered pages: sign up, sign in,
// password reset, e-mail verification, the account page with its Security
// section, and the developer outbox. Pages need no JavaScript, but for
// the ceremony of a security key or passkey (static/webauthn.js). They
// call the same account flows as the JSON API.
//
// routes.go holds the route table; each flow has its file (signin.go,
// reset.go, verify.go, challenge.go, confirm.go, setup.go, phone.go,
// securitykey.go, methods.go, devices.go, account.go, outbox.go); this
// file holds what they share: rendering, errors, the signed-in wrapper
// and the client.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"

	"twostep/internal/account"
	"twostep/internal/delivery/outbox"
	"twostep/internal/i18n"
	"twostep/internal/oidc"
	"twostep/internal/problem"
	"twostep/internal/server"
	"twostep/internal/session"
	"twostep/internal/store"
)

//go:embed templates static
var files embed.FS

// Web serves the pages.
type Web struct {
	acct    *account.Service
	cookies session.Cookies
	outbox  *outbox.Outbox
	opt     Options
	log     *slog.Logger
	// pages are the parsed templates per language, each bound to its
	// language's words (funcs).
	pages  map[language.Tag]map[string]*template.Template
	msgs   *i18n.Catalogue
	static http.Handler
	apps   *oidc.Service // nil when no app can sign in here
}

// Options are the settings the pages show or act on, read from the
// configuration once, at start.
type Options struct {
	// SiteName is the name the pages carry.
	SiteName string
	// TrustProxy lists the proxies whose X-Forwarded-For is believed.
	TrustProxy []netip.Prefix
	// ResetTTL is how long a password-reset link works.
	ResetTTL time.Duration
	// StepUpWindow is how long a confirmation lasts before sensitive changes.
	StepUpWindow time.Duration
	// AllowDisable lets users turn two-step verification off themselves.
	AllowDisable bool
	// PhoneMethods is whether phones can be added at all (text or call
	// allowed, with a provider).
	PhoneMethods bool
	// ReturnHosts are the hosts a return address (rd, next) may lead to:
	// the public URL's and the access rules' domains (signin.ReturnTo).
	ReturnHosts []string
	// Apps is the OpenID Connect provider, for the pages apps send
	// people to; nil for none.
	Apps *oidc.Service
	// Messages are the pages' words in every language; nil is the
	// embedded catalogues without overrides.
	Messages *i18n.Catalogue
}

// New parses the embedded templates and returns the pages. box is nil
// unless the developer outbox delivers the mail; its page exists only
// then.
func New(acct *account.Service, cookies session.Cookies, box *outbox.Outbox, opt Options, log *slog.Logger) (*Web, error) {
	if opt.Messages == nil {
		opt.Messages = i18n.MustLoad(opt.SiteName)
	}
	w := &Web{acct: acct, cookies: cookies, outbox: box, opt: opt, log: log, pages: map[language.Tag]map[string]*template.Template{}, apps: opt.Apps, msgs: opt.Messages}
	for _, tag := range w.msgs.Languages() {
		funcs := w.funcs(w.msgs.In(tag))
		w.pages[tag] = map[string]*template.Template{}
		for _, name := range pageNames {
			t, err := template.New(name).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html")
			if err != nil {
				return nil, err
			}
			w.pages[tag][name] = t
		}
	}
	sub, _ := fs.Sub(files, "static")
	w.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	return w, nil
}

// pageNames are the templates, each parsed with layout.html.
var pageNames = []string{"signin", "signup", "forgot", "reset", "verify", "account", "outbox", "error", "challenge", "confirm", "setup", "codes", "twostep", "phone", "consent", "signout", "recover"}

// page is what the layout needs on every page.
type page struct {
	Title     string
	Site      string
	Email     string // signed-in user, if any
	Notice    string
	DevOutbox bool
	// WebAuthn loads static/webauthn.js: the page holds a security-key
	// ceremony or the passkey sign-in.
	WebAuthn bool
}

// field is one labelled input with its error next to it.
type field struct {
	Name, Label, Type, Value, Autocomplete, Hint, Error string
	Inputmode                                           string
	Required, Autofocus                                 bool
}

func (w *Web) page(title string, u *store.User) page {
	p := page{Title: title, Site: w.opt.SiteName, DevOutbox: w.outbox != nil}
	if u != nil {
		p.Email = u.Email
	}
	return p
}

// render executes a page into a buffer first, so a template error becomes a
// clean error page instead of half a page.
// The page is said in the request's language (langWriter).
func (w *Web) render(rw http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	loc := w.locOf(rw)
	if err := w.pages[loc.Tag()][name].ExecuteTemplate(&buf, "layout", data); err != nil {
		w.log.Error("render page", "page", name, "err", err)
		http.Error(rw, loc.T("problem.internal.detail"), http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	rw.WriteHeader(status)
	buf.WriteTo(rw)
}

type errorData struct {
	Page                   page
	Heading, Message, Back string
}

// fail shows an error page for errors no form can show next to a field.
// The server's own failures are logged here, once.
func (w *Web) fail(rw http.ResponseWriter, r *http.Request, err error) {
	loc := w.loc(r)
	if _, ok := rw.(*langWriter); !ok {
		rw = &langWriter{ResponseWriter: rw, loc: loc}
	}
	p := problem.For(i18n.With(r.Context(), loc), err)
	if p.Internal() {
		w.log.Error("page failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if p.Status == http.StatusTooManyRequests || p.Status == http.StatusServiceUnavailable {
		rw.Header().Set("Retry-After", strconv.Itoa(max(p.RetryAfter, 1)))
	}
	w.render(rw, p.Status, "error", errorData{Page: w.page(loc.T("error.title"), nil), Heading: loc.T("error.heading"), Message: p.Message(), Back: "/"})
}

// WriteError is the pages' error writer, for the requests the server
// refuses before any page.
func (w *Web) WriteError(rw http.ResponseWriter, r *http.Request, err error) { w.fail(rw, r, err) }

// explain is err in the vocabulary both surfaces share (package problem):
// the status, and the message a form shows. Callers hand a status of 500
// to fail, which logs the error.
func (w *Web) explain(err error) (int, string) {
	p := w.problem(err)
	return p.Status, p.Message()
}

// problem is err's problem, for forms that show its message beside the
// field at fault (Problem.Field).
func (w *Web) problem(err error) *problem.Problem { return problem.For(context.Background(), err) }

// why is explain in the request's language.
func (w *Web) why(r *http.Request, err error) (int, string) {
	p := w.problemIn(r, err)
	return p.Status, p.Message()
}

// problemIn is problem in the request's language.
func (w *Web) problemIn(r *http.Request, err error) *problem.Problem {
	return problem.For(i18n.With(context.WithoutCancel(r.Context()), w.loc(r)), err)
}

// client describes the request's sender. Its address is what rate limits
// count: the client behind any trusted proxies, and for IPv6 its /64.
func (w *Web) client(r *http.Request) account.Client {
	ip := session.ClientIP(r, w.opt.TrustProxy)
	return account.Client{IP: ip, Network: session.LimitKey(ip), UserAgent: r.UserAgent(), BrowserID: w.cookies.Browser(r), DeviceTokens: w.cookies.Devices(r)}
}

// current returns the signed-in user, or ok=false.
func (w *Web) current(r *http.Request) (store.Session, store.User, bool) {
	sess, u, err := w.acct.Authenticate(r.Context(), w.cookies.Session(r))
	if err != nil {
		if !errors.Is(err, account.ErrNoSession) {
			w.log.Error("authenticate", "err", err)
		}
		return sess, u, false
	}
	return sess, u, true
}

// authedHandler is a page for the signed-in: sess and u are theirs.
type authedHandler func(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User)

// authed runs h for a signed-in request, and sends anyone else to sign in.
func (w *Web) authed(h authedHandler) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		sess, u, ok := w.current(r)
		if !ok {
			http.Redirect(rw, r, "/signin", http.StatusSeeOther)
			return
		}
		r = w.speak(rw, r, u.Language)
		if !forSetUpPage(r) && w.blockedBy(r, u) { // two_step.required
			http.Redirect(rw, r, setUpWizard, http.StatusSeeOther)
			return
		}
		h(rw, r, sess, u)
	}
}

// issue sets the cookies of a session a sign-in just made.
func (w *Web) issue(rw http.ResponseWriter, r *http.Request, iss account.Issued) {
	w.cookies.Issue(rw, r, session.Grant{Token: iss.Token, BrowserID: iss.BrowserID, DeviceToken: iss.DeviceToken})
}

// parseForm reads a form of at most 64 KiB with valid UTF-8 values.
func parseForm(rw http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(rw, r.Body, server.MaxBody)
	if err := r.ParseForm(); err != nil {
		return errBadForm
	}
	for _, vs := range r.PostForm {
		for _, v := range vs {
			if !validText(v) {
				return errBadForm
			}
		}
	}
	return nil
}

var errBadForm = errors.New("web: the form could not be read")

func validText(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func (w *Web) badForm(rw http.ResponseWriter) {
	l := w.locOf(rw)
	w.render(rw, http.StatusBadRequest, "error", errorData{Page: w.page(l.T("error_page.form_title"), nil), Heading: l.T("error_page.form_heading"),
		Message: l.T("error_page.form_message"), Back: "/"})
}

// notices are the messages shown after a redirect, chosen by a fixed key so
// no text travels in the URL: notice.<key> in the catalogues.
var notices = map[string]bool{
	"password_changed":         true,
	"password_reset":           true,
	"signed_out":               true,
	"app_removed":              true,
	"signed_out_all":           true,
	"session_ended":            true,
	"others_ended":             true,
	"verification_sent":        true,
	"welcome":                  true,
	"signin_expired":           true,
	"too_many_codes":           true,
	"two_step_on":              true,
	"two_step_off":             true,
	"method_added":             true,
	"key_added":                true,
	"passkey_added":            true,
	"key_name_kept":            true,
	"method_renamed":           true,
	"method_default":           true,
	"method_removed":           true,
	"method_removed_no_backup": true,
	"device_forgotten":         true,
	"devices_forgotten":        true,
	"codes_saved":              true,
	"codes_replaced":           true,
	"app_replaced":             true,
	"recovery_used":            true,
}

// notice is the notice key names, in the request's language; "" for a
// key that is none. recovery_used_<n> says the n recovery codes left.
func (w *Web) notice(r *http.Request, key string) string {
	l := w.loc(r)
	if n, ok := strings.CutPrefix(key, "recovery_used_"); ok && len(n) == 1 && n[0] >= '0' && n[0] <= '9' {
		if n == "0" {
			return l.T("notice.recovery_last")
		}
		return l.N("notice.recovery_left", int(n[0]-'0'))
	}
	if !notices[key] {
		return ""
	}
	return l.T("notice." + key)
}
