package web

import "net/http"

// Routes registers every page on mux: the whole table in one place. Pages
// for the signed-in are wrapped in authed, which sends anyone else to
// sign in.
func (w *Web) Routes(mux *http.ServeMux) {
	mux.Handle("GET /static/", w.static)
	// Every page may hold a form whose answer ends at an app (a sign-in
	// returning to it): formTargets lets the page's policy say so.
	// Every page is said in the request's language (language.go).
	handle := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, w.language(w.formTargets(h))) }
	handle("GET /{$}", w.home)
	handle("POST /language", w.chooseLanguage) // the footer's menu

	// Signing in, up and out; the password reset; the e-mail link.
	handle("GET /signin", w.signinPage)
	handle("POST /signin", w.signin)
	handle("GET /signup", w.signupPage)
	handle("POST /signup", w.signup)
	handle("POST /signout", w.signout)
	handle("GET /forgot-password", w.forgotPage)
	handle("POST /forgot-password", w.forgot)
	handle("GET /reset-password", w.resetPage)
	handle("POST /reset-password", w.reset)
	handle("GET /verify-email", w.verifyPage)
	handle("POST /verify-email", w.verify)
	handle("POST /signin/passkey/begin", w.passkeyBegin) // JSON, for static/webauthn.js
	handle("POST /signin/passkey", w.passkeySignIn)

	// The second step at sign-in.
	handle("GET /signin/verify", w.challengePage)
	handle("POST /signin/verify", w.challenge)
	handle("POST /signin/send", w.signinSend)
	handle("GET /signin/second-step", w.secondStep)

	// Lost every method: the recovery with a waiting period (recover.go).
	handle("GET /signin/recover", w.recoverPage)
	handle("POST /signin/recover", w.recoverRequest)
	handle("GET /recover", w.recoverLink)
	handle("POST /recover", w.recoverStart)
	handle("GET /cancel-recovery", w.cancelLink)
	handle("POST /cancel-recovery", w.cancelRecovery)
	handle("GET /recover/done", w.recoveredPage)

	// The account page: sessions and the password.
	handle("GET /account", w.authed(w.accountPage))
	handle("POST /account/password", w.authed(w.changePassword))
	handle("POST /account/sessions/{id}/revoke", w.authed(w.revokeSession))
	handle("POST /account/sessions/revoke-others", w.authed(w.revokeOthers))
	handle("POST /account/signout-everywhere", w.authed(w.signoutEverywhere))
	handle("POST /account/verify-email/resend", w.authed(w.resendVerification))

	// Confirming it's the user before a sensitive change.
	handle("GET /account/confirm", w.authed(w.confirmPage))
	handle("POST /account/confirm", w.authed(w.confirm))
	handle("POST /account/confirm/send", w.authed(w.confirmSend))

	// The two-step page and its methods.
	handle("GET /account/two-step", w.authed(w.twoStepPage))
	handle("POST /account/two-step/recovery", w.authed(w.recoveryCodes))
	handle("POST /account/two-step/recovery/download", w.authed(w.codesFile))
	handle("POST /account/two-step/recovery/print", w.authed(w.codesFile))
	handle("POST /account/two-step/disable", w.authed(w.disable))
	handle("POST /account/two-step/methods/{id}/rename", w.authed(w.renameMethod))
	handle("POST /account/two-step/methods/{id}/default", w.authed(w.defaultMethod))
	handle("POST /account/two-step/methods/{id}/remove", w.authed(w.removeMethod))
	handle("POST /account/devices/{id}/forget", w.authed(w.forgetDevice))
	handle("POST /account/devices/forget-all", w.authed(w.forgetDevices))

	// The set-up wizard; adding a phone, a security key or a passkey.
	handle("GET /account/two-step/setup", w.authed(w.setupPage))
	handle("POST /account/two-step/setup/app", w.authed(w.setupApp))
	handle("POST /account/two-step/setup/confirm", w.authed(w.setupConfirm))
	handle("POST /account/two-step/setup/resend", w.authed(w.setupResend))
	handle("POST /account/two-step/setup/recovery", w.authed(w.recoveryCodes))
	handle("POST /account/two-step/setup/key", w.authed(w.setupKey))
	handle("POST /account/two-step/setup/key/confirm", w.authed(w.setupKeyConfirm))
	handle("POST /account/two-step/enable", w.authed(w.enable))
	handle("GET /account/two-step/phone", w.authed(w.phonePage))
	handle("POST /account/two-step/phone", w.authed(w.phoneCheck))
	handle("POST /account/two-step/phone/send", w.authed(w.phoneSend))

	// Apps signing people in (OpenID Connect).
	if w.apps != nil {
		handle("GET /oidc/continue", w.appContinue)
		handle("POST /oidc/consent", w.authed(w.appConsent))
		handle("GET /signout", w.signoutPage)
		handle("POST /account/apps/{id}/revoke", w.authed(w.revokeApp))
	}

	if w.outbox != nil {
		handle("GET /dev/outbox", w.outboxPage)
	}
}
