package web

import "net/http"

// Routes registers every page on mux: the whole table in one place. Pages
// for the signed-in are wrapped in authed, which sends anyone else to
// sign in.
func (w *Web) Routes(mux *http.ServeMux) {
	mux.Handle("GET /static/", w.static)
	mux.HandleFunc("GET /{$}", w.home)

	// Signing in, up and out; the password reset; the e-mail link.
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

	// The second step at sign-in.
	mux.HandleFunc("GET /signin/verify", w.challengePage)
	mux.HandleFunc("POST /signin/verify", w.challenge)
	mux.HandleFunc("POST /signin/send", w.signinSend)
	mux.HandleFunc("GET /signin/second-step", w.secondStep)

	// The account page: sessions and the password.
	mux.HandleFunc("GET /account", w.authed(w.accountPage))
	mux.HandleFunc("POST /account/password", w.authed(w.changePassword))
	mux.HandleFunc("POST /account/sessions/{id}/revoke", w.authed(w.revokeSession))
	mux.HandleFunc("POST /account/sessions/revoke-others", w.authed(w.revokeOthers))
	mux.HandleFunc("POST /account/signout-everywhere", w.authed(w.signoutEverywhere))
	mux.HandleFunc("POST /account/verify-email/resend", w.authed(w.resendVerification))

	// Confirming it's the user before a sensitive change.
	mux.HandleFunc("GET /account/confirm", w.authed(w.confirmPage))
	mux.HandleFunc("POST /account/confirm", w.authed(w.confirm))
	mux.HandleFunc("POST /account/confirm/send", w.authed(w.confirmSend))

	// The two-step page and its methods.
	mux.HandleFunc("GET /account/two-step", w.authed(w.twoStepPage))
	mux.HandleFunc("POST /account/two-step/recovery", w.authed(w.recoveryCodes))
	mux.HandleFunc("POST /account/two-step/disable", w.authed(w.disable))
	mux.HandleFunc("POST /account/two-step/methods/{id}/rename", w.authed(w.renameMethod))
	mux.HandleFunc("POST /account/two-step/methods/{id}/default", w.authed(w.defaultMethod))
	mux.HandleFunc("POST /account/two-step/methods/{id}/remove", w.authed(w.removeMethod))
	mux.HandleFunc("POST /account/devices/{id}/forget", w.authed(w.forgetDevice))
	mux.HandleFunc("POST /account/devices/forget-all", w.authed(w.forgetDevices))

	// The set-up wizard, and adding a phone.
	mux.HandleFunc("GET /account/two-step/setup", w.authed(w.setupPage))
	mux.HandleFunc("POST /account/two-step/setup/app", w.authed(w.setupApp))
	mux.HandleFunc("POST /account/two-step/setup/confirm", w.authed(w.setupConfirm))
	mux.HandleFunc("POST /account/two-step/setup/resend", w.authed(w.setupResend))
	mux.HandleFunc("POST /account/two-step/setup/recovery", w.authed(w.recoveryCodes))
	mux.HandleFunc("POST /account/two-step/enable", w.authed(w.enable))
	mux.HandleFunc("GET /account/two-step/phone", w.authed(w.phonePage))
	mux.HandleFunc("POST /account/two-step/phone", w.authed(w.phoneCheck))
	mux.HandleFunc("POST /account/two-step/phone/send", w.authed(w.phoneSend))

	// Apps signing people in (OpenID Connect).
	if w.apps != nil {
		mux.HandleFunc("GET /oidc/continue", w.appContinue)
		mux.HandleFunc("POST /oidc/consent", w.authed(w.appConsent))
		mux.HandleFunc("GET /signout", w.signoutPage)
		mux.HandleFunc("POST /account/apps/{id}/revoke", w.authed(w.revokeApp))
	}

	if w.outbox != nil {
		mux.HandleFunc("GET /dev/outbox", w.outboxPage)
	}
}
