// Package api is twostep's JSON API (../shared/API.md): the same account
// flows as the web pages, answered in JSON with RFC 9457 problems.
package api

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"twostep/internal/account"
	"twostep/internal/delivery/outbox"
	"twostep/internal/session"
	"twostep/internal/store"
)

// Prober answers whether the database takes writes.
type Prober interface {
	CheckWritable(ctx context.Context) error
}

// API serves /api/v1 and the health endpoints.
type API struct {
	acct       *account.Service
	cookies    session.Cookies
	outbox     *outbox.Outbox // nil unless the outbox is the e-mail provider
	db         Prober
	trustProxy []netip.Prefix // proxies whose X-Forwarded-For is believed
	log        *slog.Logger
}

// New returns the API. box is nil unless the developer outbox is the
// configured provider; its endpoints exist only then.
func New(acct *account.Service, cookies session.Cookies, box *outbox.Outbox, db Prober, log *slog.Logger) *API {
	return &API{acct: acct, cookies: cookies, outbox: box, db: db, trustProxy: acct.Config().Server.TrustProxy, log: log}
}

// Routes registers every API route on mux: the whole table in one place.
func (a *API) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.HandleFunc("GET /api/v1/openapi.json", a.openapi)

	mux.HandleFunc("POST /api/v1/signup", a.signup)
	mux.HandleFunc("POST /api/v1/signin", a.signin)
	mux.HandleFunc("POST /api/v1/signout", a.authed(a.signout))
	mux.HandleFunc("POST /api/v1/signout/everywhere", a.authed(a.signoutEverywhere))
	mux.HandleFunc("GET /api/v1/me", a.authed(a.me))
	mux.HandleFunc("POST /api/v1/email/verify", a.verifyEmail)
	mux.HandleFunc("POST /api/v1/email/verify/resend", a.authed(a.resendVerification))

	mux.HandleFunc("GET /api/v1/sessions", a.authed(a.sessions))
	mux.HandleFunc("DELETE /api/v1/sessions/{id}", a.authed(a.deleteSession))
	mux.HandleFunc("POST /api/v1/sessions/revoke-others", a.authed(a.revokeOthers))
	mux.HandleFunc("GET /api/v1/events", a.authed(a.events))

	mux.HandleFunc("POST /api/v1/signin/verify", a.signinVerify)
	mux.HandleFunc("POST /api/v1/signin/send", a.signinSend)
	mux.HandleFunc("POST /api/v1/signin/passkey/begin", a.passkeyBegin)
	mux.HandleFunc("POST /api/v1/signin/passkey/finish", a.passkeyFinish)
	mux.HandleFunc("POST /api/v1/signin/recover", a.requestRecovery)
	mux.HandleFunc("POST /api/v1/recovery/confirm", a.confirmRecovery)
	mux.HandleFunc("POST /api/v1/recovery/cancel", a.cancelRecovery)
	mux.HandleFunc("GET /api/v1/factors", a.authed(a.listFactors))
	mux.HandleFunc("POST /api/v1/factors/totp", a.authed(a.addTOTP))
	mux.HandleFunc("POST /api/v1/factors/recovery-codes", a.authed(a.recoveryCodes))
	mux.HandleFunc("POST /api/v1/factors/phone", a.authed(a.addPhone))
	mux.HandleFunc("POST /api/v1/factors/email", a.authed(a.addEmailFactor))
	mux.HandleFunc("POST /api/v1/factors/webauthn", a.authed(a.addSecurityKey))
	mux.HandleFunc("POST /api/v1/factors/{id}/resend", a.authed(a.resendFactor))
	mux.HandleFunc("POST /api/v1/factors/{id}/confirm", a.authed(a.confirmFactor))
	mux.HandleFunc("PATCH /api/v1/factors/{id}", a.authed(a.patchFactor))
	mux.HandleFunc("DELETE /api/v1/factors/{id}", a.authed(a.deleteFactor))
	mux.HandleFunc("POST /api/v1/two-step/enable", a.authed(a.enableTwoStep))
	mux.HandleFunc("POST /api/v1/two-step/disable", a.authed(a.disableTwoStep))
	mux.HandleFunc("POST /api/v1/stepup/send", a.authed(a.stepUpSend))
	mux.HandleFunc("POST /api/v1/stepup/verify", a.authed(a.stepUpVerify))
	mux.HandleFunc("GET /api/v1/devices", a.authed(a.devices))
	mux.HandleFunc("DELETE /api/v1/devices/{id}", a.authed(a.forgetDevice))
	mux.HandleFunc("DELETE /api/v1/devices", a.authed(a.forgetDevices))

	mux.HandleFunc("POST /api/v1/password", a.authed(a.changePassword))
	mux.HandleFunc("POST /api/v1/password/reset", a.requestReset)
	mux.HandleFunc("POST /api/v1/password/reset/confirm", a.confirmReset)

	if a.outbox != nil {
		mux.HandleFunc("GET /api/v1/dev/outbox", a.devOutbox)
	}
	mux.HandleFunc("/api/", notFound)
}

// notFound answers an unknown API path.
func notFound(w http.ResponseWriter, r *http.Request) {
	WriteProblem(w, newProblem(http.StatusNotFound, "not_found", "Not found", "There is no API endpoint "+r.Method+" "+r.URL.Path+"."))
}

// client describes the request's sender. Its address is what rate limits
// count: the client behind any trusted proxies, and for IPv6 its /64.
func (a *API) client(r *http.Request) account.Client {
	ip := session.ClientIP(r, a.trustProxy)
	return account.Client{IP: ip, Network: session.LimitKey(ip), UserAgent: r.UserAgent(), BrowserID: a.cookies.Browser(r), DeviceTokens: a.cookies.Devices(r)}
}

type authedHandler func(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User)

// authed runs h for a signed-in request, and answers 401 otherwise.
func (a *API) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, u, err := a.acct.Authenticate(r.Context(), a.cookies.Session(r))
		if err == nil && !forSetUp(r) {
			err = a.acct.CheckTwoStepRequirement(r.Context(), u) // two_step.required
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		h(w, r, sess, u)
	}
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	// Ready means able to serve sign-ins, which write: a database that
	// answers reads but takes no writes is not ready.
	if err := a.db.CheckWritable(ctx); err != nil {
		a.log.Warn("readiness: database takes no writes", "err", err)
		WriteProblem(w, newProblem(http.StatusServiceUnavailable, "not_ready", "Not ready", "The database does not take writes."))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (a *API) devOutbox(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("to")
	msgs, err := a.outbox.List(r.Context(), to, 200)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, msgs)
}
