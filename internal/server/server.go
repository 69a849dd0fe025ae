// Package server puts the API and the pages behind one http.Handler with
// the middleware every request passes: panic recovery, security headers
// and cross-site request forgery protection. It knows no surface: the
// requests it refuses itself are answered by the error writer it is given.
package server

import (
	"errors"
	"log/slog"
	"net/http"
)

// MaxBody is the largest request body a surface reads.
const MaxBody = 64 << 10

// ErrCrossOrigin refuses a state-changing request sent from another site.
var ErrCrossOrigin = errors.New("server: cross-origin request refused")

// ErrorWriter answers a request with err, in the words of the surface the
// request was for.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)

// Routes is a surface that registers its routes.
type Routes interface {
	Routes(mux *http.ServeMux)
}

// Options are the few things the middleware needs to know.
type Options struct {
	// HSTS sends Strict-Transport-Security: set when the public URL is
	// https, so browsers never again try the site over plain HTTP.
	HSTS bool
	// WriteError answers the requests the middleware refuses; nil answers
	// them in plain text.
	WriteError ErrorWriter
	// CrossOriginAllowed are mux patterns other sites' code calls by
	// design (an app's token request from its own page): they take no
	// cookie-borne authority, so the cross-origin check skips them.
	CrossOriginAllowed []string
	// Observe, when set, measures every request (the metrics).
	Observe Observer
}

// Handler returns the whole HTTP surface of twostep.
func Handler(log *slog.Logger, o Options, surfaces ...Routes) http.Handler {
	mux := http.NewServeMux()
	for _, s := range surfaces {
		s.Routes(mux)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Page not found.", http.StatusNotFound)
	})

	// Browsers say where a request comes from (Sec-Fetch-Site, Origin);
	// cross-site state-changing requests are refused, so no form or JSON
	// call can be forged from another site. Clients that are not browsers
	// (curl, programs) send neither header and pass.
	csrf := http.NewCrossOriginProtection()
	for _, p := range o.CrossOriginAllowed {
		csrf.AddInsecureBypassPattern(p)
	}
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		if o.WriteError != nil {
			o.WriteError(w, r, ErrCrossOrigin)
			return
		}
		http.Error(w, "This request came from another site and was refused.", http.StatusForbidden)
	}))
	h := recoverPanics(log, securityHeaders(o.HSTS, csrf.Handler(mux)))
	if o.Observe != nil {
		h = observe(o.Observe, h)
	}
	return h
}

func securityHeaders(hsts bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", ContentSecurityPolicy())
		next.ServeHTTP(w, r)
	})
}

// ContentSecurityPolicy is the policy every answer carries. Forms may post
// only to twostep itself; formTargets are further origins a page's form
// may end up at through redirects (browsers check every hop of a form's
// navigation against form-action): the app a sign-in returns to.
func ContentSecurityPolicy(formTargets ...string) string {
	action := "'self'"
	for _, o := range formTargets {
		action += " " + o
	}
	return "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action " + action + "; base-uri 'none'"
}

// recoverPanics turns a panic into a logged 500, so one bad request never
// takes the server down.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
				http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
