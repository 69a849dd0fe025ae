// Package web serves twostep's server-rendered pages: sign up, sign in,
// password reset, e-mail verification, the account page with its Security
// section, and the developer outbox. Pages need no JavaScript. They call
// the same account flows as the JSON API.
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

	"twostep/internal/account"
	"twostep/internal/delivery/outbox"
	"twostep/internal/problem"
	"twostep/internal/server"
	"twostep/internal/session"
	"twostep/internal/store"
)

//go:embed templates static
var files embed.FS

// Web serves the pages.
type Web struct {
	acct       *account.Service
	cookies    session.Cookies
	outbox     *outbox.Outbox
	trustProxy []netip.Prefix // proxies whose X-Forwarded-For is believed
	log        *slog.Logger
	pages      map[string]*template.Template
	static     http.Handler
}

// New parses the embedded templates and returns the pages.
func New(acct *account.Service, cookies session.Cookies, box *outbox.Outbox, log *slog.Logger) (*Web, error) {
	w := &Web{acct: acct, cookies: cookies, outbox: box, trustProxy: acct.Config().Server.TrustProxy, log: log, pages: map[string]*template.Template{}}
	for _, name := range []string{"signin", "signup", "forgot", "reset", "verify", "account", "outbox", "error", "challenge", "confirm", "setup", "codes", "twostep", "phone"} {
		t, err := template.ParseFS(files, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		w.pages[name] = t
	}
	sub, _ := fs.Sub(files, "static")
	w.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	return w, nil
}

// Routes registers every page on mux: the whole table in one place.
func (w *Web) Routes(mux *http.ServeMux) {
	mux.Handle("GET /static/", w.static)
	mux.HandleFunc("GET /{$}", w.home)
	mux.HandleFunc("GET /signin", w.signinPage)
	mux.HandleFunc("POST /signin", w.signin)
	mux.HandleFunc("GET /signup", w.signupPage)
	mux.HandleFunc("POST /signup", w.signup)
	mux.HandleFunc("POST /signout", w.signout)
	mux.HandleFunc("GET /forgot-password", w.forgotPage)
	mux.HandleFunc("POST /forgot-password", w.forgot)
	mux.HandleFunc("GET /reset-password", w.resetPage)
	mux.HandleFunc("POST /reset-password", w.reset)
	mux.HandleFunc("GET /verify-email", w.verifyPage)
	mux.HandleFunc("POST /verify-email", w.verify)
	mux.HandleFunc("GET /account", w.accountPage)
	mux.HandleFunc("POST /account/password", w.changePassword)
	mux.HandleFunc("POST /account/sessions/{id}/revoke", w.revokeSession)
	mux.HandleFunc("POST /account/sessions/revoke-others", w.revokeOthers)
	mux.HandleFunc("POST /account/signout-everywhere", w.signoutEverywhere)
	mux.HandleFunc("POST /account/verify-email/resend", w.resendVerification)
	mux.HandleFunc("GET /signin/verify", w.challengePage)
	mux.HandleFunc("POST /signin/verify", w.challenge)
	mux.HandleFunc("POST /signin/send", w.signinSend)
	mux.HandleFunc("GET /account/two-step/phone", w.phonePage)
	mux.HandleFunc("POST /account/two-step/phone", w.phoneCheck)
	mux.HandleFunc("POST /account/two-step/phone/send", w.phoneSend)
	mux.HandleFunc("POST /account/two-step/setup/resend", w.setupResend)
	mux.HandleFunc("GET /account/confirm", w.confirmPage)
	mux.HandleFunc("POST /account/confirm", w.confirm)
	mux.HandleFunc("POST /account/confirm/send", w.confirmSend)
	mux.HandleFunc("GET /account/two-step", w.twoStepPage)
	mux.HandleFunc("GET /account/two-step/setup", w.setupPage)
	mux.HandleFunc("POST /account/two-step/setup/app", w.setupApp)
	mux.HandleFunc("POST /account/two-step/setup/confirm", w.setupConfirm)
	mux.HandleFunc("POST /account/two-step/setup/recovery", w.recoveryCodes)
	mux.HandleFunc("POST /account/two-step/recovery", w.recoveryCodes)
	mux.HandleFunc("POST /account/two-step/enable", w.enable)
	mux.HandleFunc("POST /account/two-step/disable", w.disable)
	mux.HandleFunc("POST /account/two-step/methods/{id}/rename", w.renameMethod)
	mux.HandleFunc("POST /account/two-step/methods/{id}/default", w.defaultMethod)
	mux.HandleFunc("POST /account/two-step/methods/{id}/remove", w.removeMethod)
	mux.HandleFunc("POST /account/devices/{id}/forget", w.forgetDevice)
	mux.HandleFunc("POST /account/devices/forget-all", w.forgetDevices)
	if w.outbox != nil {
		mux.HandleFunc("GET /dev/outbox", w.outboxPage)
	}
}

// page is what the layout needs on every page.
type page struct {
	Title     string
	Site      string
	Email     string // signed-in user, if any
	Notice    string
	DevOutbox bool
}

// field is one labelled input with its error next to it.
type field struct {
	Name, Label, Type, Value, Autocomplete, Hint, Error string
	Inputmode                                           string
	Required, Autofocus                                 bool
}

func (w *Web) page(title string, u *store.User) page {
	p := page{Title: title, Site: w.acct.Config().Server.SiteName, DevOutbox: w.outbox != nil}
	if u != nil {
		p.Email = u.Email
	}
	return p
}

// render executes a page into a buffer first, so a template error becomes a
// clean error page instead of half a page.
func (w *Web) render(rw http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := w.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		w.log.Error("render page", "page", name, "err", err)
		http.Error(rw, "Something went wrong on our side. Try again.", http.StatusInternalServerError)
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
	p := problem.For(r.Context(), err)
	if p.Internal() {
		w.log.Error("page failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if p.Status == http.StatusTooManyRequests || p.Status == http.StatusServiceUnavailable {
		rw.Header().Set("Retry-After", strconv.Itoa(max(p.RetryAfter, 1)))
	}
	w.render(rw, p.Status, "error", errorData{Page: w.page("Something went wrong", nil), Heading: "We couldn't do that", Message: p.Message(), Back: "/"})
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

// client describes the request's sender. Its address is what rate limits
// count: the client behind any trusted proxies, and for IPv6 its /64.
func (w *Web) client(r *http.Request) account.Client {
	ip := session.ClientIP(r, w.trustProxy)
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
	w.render(rw, http.StatusBadRequest, "error", errorData{Page: w.page("Form not accepted", nil), Heading: "We couldn't read that form",
		Message: "The form was too large or held text that is not valid. Go back and try again.", Back: "/"})
}

// notices are the messages shown after a redirect, chosen by a fixed key so
// no text travels in the URL.
var notices = map[string]string{
	"password_changed":         "Your password was changed. Your other sessions were signed out.",
	"password_reset":           "Your password was reset. Sign in with the new one.",
	"signed_out":               "You are signed out.",
	"signed_out_all":           "You are signed out everywhere.",
	"session_ended":            "That session was signed out.",
	"others_ended":             "All your other sessions were signed out.",
	"verification_sent":        "We sent a new confirmation link.",
	"welcome":                  "Your account is ready.",
	"signin_expired":           "Your sign-in expired. Enter your e-mail and password again.",
	"too_many_codes":           "Too many wrong codes for that sign-in. Enter your e-mail and password again.",
	"two_step_on":              "Two-step verification is on.",
	"two_step_off":             "Two-step verification is off. All methods and remembered browsers were removed.",
	"method_added":             "The method was added.",
	"method_renamed":           "The method was renamed.",
	"method_default":           "The default method was changed.",
	"method_removed":           "The method was removed.",
	"method_removed_no_backup": "The method was removed. You have no backup left: add recovery codes or another app so a lost phone can't lock you out.",
	"device_forgotten":         "That browser will ask for a code next time.",
	"devices_forgotten":        "Every browser will ask for a code next time.",
}

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}
