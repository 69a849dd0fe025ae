package problem

import (
	"net/http"
	"time"

	"twostep/internal/account"
	"twostep/internal/delivery"
	"twostep/internal/delivery/chain"
	"twostep/internal/device"
	"twostep/internal/factor/recovery"
	"twostep/internal/factor/totp"
	"twostep/internal/i18n"
	"twostep/internal/method"
	"twostep/internal/method/securitykey"
	"twostep/internal/oidc"
	"twostep/internal/password"
	"twostep/internal/phone"
	"twostep/internal/ratelimit"
	"twostep/internal/secret"
	"twostep/internal/server"
	"twostep/internal/session"
	"twostep/internal/signin"
	"twostep/internal/stepup"
	"twostep/internal/store"
)

// rules is the whole table, tried in order. Every exported error of the
// domain packages has a rule (TestEveryDomainErrorHasARule): one that
// explains it, or one that calls it internal.
var rules = []rule{
	// Second factors and two-step verification.
	as(func(e *account.InvalidCodeError, l *i18n.Localizer) *Problem {
		p := say(l, http.StatusUnauthorized, "invalid_code", "invalid_code")
		if e.Credential {
			p = say(l, http.StatusUnauthorized, "invalid_credential", "invalid_credential")
		}
		if e.ClockOffset != 0 {
			p.Detail = clockHint(l, e.ClockOffset)
		}
		if e.AttemptsLeft >= 0 {
			n := e.AttemptsLeft
			p.AttemptsLeft = &n
			if n == 0 {
				p.Detail += " " + l.T("problem.invalid_code.last_try")
			}
		}
		return p
	}),
	as(func(e *stepup.RequiredError, l *i18n.Localizer) *Problem {
		p := say(l, http.StatusForbidden, "step_up_required", "step_up_required")
		if len(e.Methods) > 0 {
			p.Detail = l.T("problem.step_up_required.with_methods")
		}
		p.Methods = e.Methods
		return p
	}),
	is(account.ErrLastFactor, http.StatusConflict, "last_factor", "last_factor", ""),
	is(account.ErrBackupRequired, http.StatusConflict, "backup_required", "backup_required", ""),
	is(account.ErrEmailNotVerified, http.StatusConflict, "email_not_verified", "email_not_verified", ""),
	is(account.ErrPrimaryRequired, http.StatusConflict, "primary_required", "primary_required", ""),
	is(account.ErrPolicyRequiresTwoStep, http.StatusForbidden, "policy_requires_two_step", "policy_requires_two_step", ""),
	is(account.ErrTwoStepRequired, http.StatusForbidden, "two_step_required", "two_step_required", ""),
	is(signin.ErrExpired, http.StatusUnauthorized, "signin_expired", "signin_expired", ""),
	is(account.ErrFactorNotFound, http.StatusNotFound, "not_found", "no_method", ""),
	is(device.ErrNotFound, http.StatusNotFound, "not_found", "no_browser", ""),
	is(account.ErrAlreadyConfirmed, http.StatusConflict, "already_confirmed", "already_confirmed", ""),
	is(account.ErrInvalidLabel, http.StatusBadRequest, "invalid_label", "invalid_label", "label"),
	is(account.ErrInvalidRole, http.StatusBadRequest, "invalid_role", "invalid_role", "role"),
	is(account.ErrAlreadyEnabled, http.StatusConflict, "already_enabled", "already_enabled", ""),
	is(stepup.ErrTwoStepOff, http.StatusBadRequest, "two_step_off", "two_step_off", ""),

	// Security keys and passkeys.
	is(account.ErrInvalidCredential, http.StatusBadRequest, "invalid_credential", "key_not_added", "credential"),
	is(account.ErrKeyCloned, http.StatusForbidden, "key_suspected_cloned", "key_suspected_cloned", ""),
	is(account.ErrPasskeysOff, http.StatusForbidden, "passkeys_disabled", "passkeys_disabled", ""),

	// Codes sent by text, call or e-mail.
	as(func(e *phone.InvalidError, l *i18n.Localizer) *Problem {
		// The reason is the phone package's English sentence (its code
		// names it): its words are not in the catalogues yet.
		p := &Problem{Status: http.StatusBadRequest, Code: "invalid_phone", Title: l.T("problem.invalid_phone.title"), Detail: e.Reason, Field: "phone"}
		return p
	}),
	is(account.ErrCountryNotServed, http.StatusBadRequest, "invalid_phone", "country_not_served", "phone"),
	as(func(e *account.DeliveryFailedError, l *i18n.Localizer) *Problem {
		p := say(l, http.StatusServiceUnavailable, "delivery_failed", "delivery_failed")
		p.Methods = e.Others
		p.RetryAfter = 60
		return p
	}),
	is(account.ErrMethodNotAllowed, http.StatusForbidden, "method_not_allowed", "method_not_allowed", ""),
	is(account.ErrNotSendable, http.StatusBadRequest, "not_sendable", "not_sendable", "method_id"),

	// Limits and load.
	as(func(e *ratelimit.Limited, l *i18n.Localizer) *Problem {
		p := say(l, http.StatusTooManyRequests, "rate_limited", "rate_limited", "Wait", humanDuration(l, e.Seconds()))
		if e.Seconds() >= 60 && !e.Until.IsZero() {
			p.Detail = l.T("problem.rate_limited.detail_until", "Wait", humanDuration(l, e.Seconds()), "Until", l.Clock(e.Until))
		}
		p.RetryAfter = e.Seconds()
		return p
	}),
	// A hash refused at admission says when the queue ahead will have
	// drained (password.BusyError); a bare ErrBusy, in a second.
	as(func(e *password.BusyError, l *i18n.Localizer) *Problem { return busy(l, e.Seconds()) }),
	isWith(password.ErrBusy, func(err error, l *i18n.Localizer) *Problem { return busy(l, password.RetryAfterSeconds(err)) }),

	// Passwords, addresses, links and sessions.
	as(func(e *password.WeakError, l *i18n.Localizer) *Problem {
		p := &Problem{Status: http.StatusBadRequest, Code: "weak_password", Title: l.T("problem.weak_password.title"), Detail: e.Reason, Field: "password"}
		if e.Code != "" {
			p.Detail = l.T("problem.weak_password."+e.Code, "Limit", e.Limit)
		}
		return p
	}),
	as(func(e *account.InvalidEmailError, l *i18n.Localizer) *Problem {
		p := &Problem{Status: http.StatusBadRequest, Code: "invalid_email", Title: l.T("problem.invalid_email.title"), Detail: e.Reason, Field: "email"}
		if e.Code != "" {
			p.Detail = l.T("problem.invalid_email."+e.Code, "Address", e.Address)
		}
		return p
	}),
	is(signin.ErrAccountDisabled, http.StatusForbidden, "account_disabled", "account_disabled", ""),
	is(signin.ErrPasswordResetRequired, http.StatusForbidden, "password_reset_required", "password_reset_required", ""),
	is(signin.ErrInvalidCredentials, http.StatusUnauthorized, "invalid_credentials", "invalid_credentials", ""),
	is(account.ErrEmailTaken, http.StatusConflict, "email_taken", "email_taken", "email"),
	is(stepup.ErrWrongPassword, http.StatusForbidden, "wrong_password", "wrong_password", "current_password"),
	is(account.ErrRecoveryEnded, http.StatusConflict, "recovery_ended", "recovery_ended", ""),
	is(store.ErrRecoveryUnderWay, http.StatusConflict, "recovery_under_way", "recovery_under_way", ""),
	is(account.ErrInvalidToken, http.StatusBadRequest, "invalid_token", "invalid_token", ""),
	is(session.ErrNoSession, http.StatusUnauthorized, "unauthenticated", "unauthenticated", ""),
	is(session.ErrNotFound, http.StatusNotFound, "not_found", "no_session", ""),

	is(oidc.ErrUnknownRequest, http.StatusBadRequest, "app_request_expired", "app_request_expired", ""),

	// Requests refused before any handler.
	is(server.ErrCrossOrigin, http.StatusForbidden, "cross_origin", "cross_origin", ""),

	// Errors the flows handle or translate before they could reach a
	// person; one that gets through is a bug or an outage.
	isInternal(store.ErrNotFound),          // each flow says what was not found
	isInternal(store.ErrEmailTaken),        // account.ErrEmailTaken
	isInternal(store.ErrBackupPostgres),    // the backup command's, never a request's
	isInternal(store.ErrBackupExists),      // the backup command's, never a request's
	asInternal[*oidc.InvalidClientError](), // the clients command's, never a request's
	isInternal(store.ErrCodeUsed),          // the token endpoint answers invalid_grant
	isInternal(store.ErrTokenUsed),         // the token endpoint answers invalid_grant
	isInternal(password.ErrInvalid),        // sign-in verifies a dummy instead
	isInternal(password.ErrMalformedHash),  // a stored hash is damaged
	isInternal(phone.ErrUnknownChannel),    // account checks channels first
	isInternal(delivery.ErrUnsupportedChannel),
	isInternal(chain.ErrAllFailed),      // account.DeliveryFailedError
	isInternal(method.ErrNothingToSend), // account.ErrNotSendable
	asInternal[*delivery.Error](),       // account.DeliveryFailedError
	isInternal(secret.ErrWrongKey),      // a key removed from the configuration
	isInternal(totp.ErrInvalidParams),
	isInternal(totp.ErrBadURI),
	isInternal(recovery.ErrRepeating),
	isInternal(store.ErrCredentialTaken),         // account.ErrInvalidCredential
	isInternal(securitykey.ErrInvalid),           // account.InvalidCodeError, ErrInvalidCredential
	isInternal(securitykey.ErrUnknownCredential), // account.InvalidCodeError
	asInternal[*securitykey.ClonedError](),       // account.ErrKeyCloned
}

func busy(l *i18n.Localizer, retryAfter int) *Problem {
	p := say(l, http.StatusServiceUnavailable, "busy", "busy")
	p.RetryAfter = retryAfter
	return p
}

// HumanDuration writes seconds as "42 seconds", "3 minutes", "2 hours", in
// English.
func HumanDuration(s int) string { return humanDuration(english, s) }

// humanDuration is seconds in l's words, rounded up to the minute or
// hour past one of them.
func humanDuration(l *i18n.Localizer, s int) string {
	switch {
	case s < 60:
		return l.N("duration.seconds", s)
	case s < 3600:
		return l.N("duration.minutes", (s+59)/60)
	default:
		return l.N("duration.hours", (s+3599)/3600)
	}
}

// clockHint says how far off a phone's clock looks, for a code from
// another time step.
func clockHint(l *i18n.Localizer, d time.Duration) string {
	id := "problem.invalid_code.clock_ahead"
	if d < 0 {
		d, id = -d, "problem.invalid_code.clock_behind"
	}
	off := l.N("duration.seconds", int(d.Seconds()))
	if d >= time.Minute {
		off = l.N("duration.minutes", int((d+30*time.Second)/time.Minute))
	}
	return l.T(id, "Offset", off)
}
