package problem

import (
	"fmt"
	"net/http"
	"strconv"

	"twostep/internal/account"
	"twostep/internal/delivery"
	"twostep/internal/delivery/chain"
	"twostep/internal/device"
	"twostep/internal/factor/recovery"
	"twostep/internal/factor/totp"
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
	as(func(e *account.InvalidCodeError) *Problem {
		p := New(http.StatusUnauthorized, "invalid_code", "Wrong code", "That code is not right. Check it and try again.")
		if e.Credential {
			p = New(http.StatusUnauthorized, "invalid_credential", "Security key not accepted", "That security key or passkey did not sign in. Try again, or use another way.")
		}
		if hint := e.ClockHint(); hint != "" {
			p.Detail = hint
		}
		if e.AttemptsLeft >= 0 {
			n := e.AttemptsLeft
			p.AttemptsLeft = &n
			if n == 0 {
				p.Detail += " That was the last try for this sign-in: enter your password again."
			}
		}
		return p
	}),
	as(func(e *stepup.RequiredError) *Problem {
		p := New(http.StatusForbidden, "step_up_required", "Confirm it's you", "For your security, confirm it's you first: enter your password, or a code once two-step verification is on.")
		if len(e.Methods) > 0 {
			p.Detail = "For your security, confirm it's you with a code from one of your methods first."
		}
		p.Methods = e.Methods
		return p
	}),
	is(account.ErrLastFactor, http.StatusConflict, "last_factor", "Last method", "This is your last sign-in method. To stop using codes, turn two-step verification off instead.", ""),
	is(account.ErrBackupRequired, http.StatusConflict, "backup_required", "Backup method needed", "Add a backup method (another app or recovery codes) before turning two-step verification on.", ""),
	is(account.ErrEmailNotVerified, http.StatusConflict, "email_not_verified", "E-mail address not confirmed", "Confirm your e-mail address with the link we sent before turning two-step verification on.", ""),
	is(account.ErrPrimaryRequired, http.StatusConflict, "primary_required", "Method needed", "Add and confirm a method (an authenticator app or a phone) before turning two-step verification on.", ""),
	is(account.ErrPolicyRequiresTwoStep, http.StatusForbidden, "policy_requires_two_step", "Two-step verification required", "This site requires two-step verification; it cannot be turned off.", ""),
	is(account.ErrTwoStepRequired, http.StatusForbidden, "two_step_required", "Set up two-step verification", "This site requires two-step verification, and the time to set it up has passed: set it up now to continue.", ""),
	is(signin.ErrExpired, http.StatusUnauthorized, "signin_expired", "Sign-in expired", "This sign-in has expired or had too many wrong codes. Enter your e-mail and password again.", ""),
	is(account.ErrFactorNotFound, http.StatusNotFound, "not_found", "No such method", "You have no active method with that id.", ""),
	is(device.ErrNotFound, http.StatusNotFound, "not_found", "No such browser", "You have no remembered browser with that id.", ""),
	is(account.ErrAlreadyConfirmed, http.StatusConflict, "already_confirmed", "Already confirmed", "This method is already confirmed.", ""),
	is(account.ErrInvalidLabel, http.StatusBadRequest, "invalid_label", "Label not accepted", "A label is 1 to 64 characters, on one line.", "label"),
	is(account.ErrInvalidRole, http.StatusBadRequest, "invalid_role", "Role not accepted", "Role must be \"primary\" or \"backup\"; recovery codes are always a backup.", "role"),
	is(account.ErrAlreadyEnabled, http.StatusConflict, "already_enabled", "Already on", "Two-step verification is already on.", ""),
	is(stepup.ErrTwoStepOff, http.StatusBadRequest, "two_step_off", "No methods", "You have no second-factor method; confirm with your password instead.", ""),

	// Security keys and passkeys.
	is(account.ErrInvalidCredential, http.StatusBadRequest, "invalid_credential", "Security key not added", "The security key's answer was not accepted (it may be registered already, or the request expired). Add the key again.", "credential"),
	is(account.ErrKeyCloned, http.StatusForbidden, "key_suspected_cloned", "Security key turned off", "This security key may have been copied, so it no longer signs in. Use another method, then remove the key and add it again.", ""),
	is(account.ErrPasskeysOff, http.StatusForbidden, "passkeys_disabled", "Passkeys are off", "Signing in with a passkey is switched off on this site. Sign in with your e-mail and password.", ""),

	// Codes sent by text, call or e-mail.
	as(func(e *phone.InvalidError) *Problem {
		p := New(http.StatusBadRequest, "invalid_phone", "Phone number not accepted", e.Reason)
		p.Field = "phone"
		return p
	}),
	is(account.ErrCountryNotServed, http.StatusBadRequest, "invalid_phone", "Country not served", "Codes can't be sent to numbers in that country here. Use an authenticator app instead.", "phone"),
	as(func(e *account.DeliveryFailedError) *Problem {
		p := New(http.StatusServiceUnavailable, "delivery_failed", "We couldn't send the code", "We couldn't send the code: the delivery service is not answering. Try again in a minute, or use another way to sign in.")
		p.Methods = e.Others
		p.RetryAfter = 60
		return p
	}),
	is(account.ErrMethodNotAllowed, http.StatusForbidden, "method_not_allowed", "Method not offered", "This kind of method (or channel) is not offered on this site.", ""),
	is(account.ErrNotSendable, http.StatusBadRequest, "not_sendable", "Nothing to send", "This method has no code to send: read it from your authenticator app or your recovery codes.", "method_id"),

	// Limits and load.
	as(func(e *ratelimit.Limited) *Problem {
		detail := fmt.Sprintf("Too many attempts. Try again in %s.", HumanDuration(e.Seconds()))
		if e.Seconds() >= 60 && !e.Until.IsZero() {
			detail = fmt.Sprintf("Too many attempts. Try again in %s (after %s).", HumanDuration(e.Seconds()), e.Until.UTC().Format("15:04 UTC"))
		}
		p := New(http.StatusTooManyRequests, "rate_limited", "Too many attempts", detail)
		p.RetryAfter = e.Seconds()
		return p
	}),
	// A hash refused at admission says when the queue ahead will have
	// drained (password.BusyError); a bare ErrBusy, in a second.
	as(func(e *password.BusyError) *Problem { return busy(e.Seconds()) }),
	isWith(password.ErrBusy, func(err error) *Problem { return busy(password.RetryAfterSeconds(err)) }),

	// Passwords, addresses, links and sessions.
	as(func(e *password.WeakError) *Problem {
		p := New(http.StatusBadRequest, "weak_password", "Password not accepted", e.Reason)
		p.Field = "password"
		return p
	}),
	as(func(e *account.InvalidEmailError) *Problem {
		p := New(http.StatusBadRequest, "invalid_email", "E-mail address not accepted", e.Reason)
		p.Field = "email"
		return p
	}),
	is(signin.ErrAccountDisabled, http.StatusForbidden, "account_disabled", "Account disabled", "This account is disabled. Contact support if you think this is a mistake.", ""),
	is(signin.ErrPasswordResetRequired, http.StatusForbidden, "password_reset_required", "New password required", "Your password was right, but you must choose a new one before you can sign in. We have e-mailed you a link to do so.", ""),
	is(signin.ErrInvalidCredentials, http.StatusUnauthorized, "invalid_credentials", "Sign-in failed", "The e-mail address or password is wrong.", ""),
	is(account.ErrEmailTaken, http.StatusConflict, "email_taken", "E-mail already registered", "An account with this e-mail address already exists. Sign in, or reset the password.", "email"),
	is(stepup.ErrWrongPassword, http.StatusForbidden, "wrong_password", "Current password is wrong", "The current password is wrong.", "current_password"),
	is(account.ErrRecoveryEnded, http.StatusConflict, "recovery_ended", "Recovery already ended", "This recovery was already cancelled or finished, so the link does nothing now. If you still can't sign in, start again from the sign-in page.", ""),
	is(store.ErrRecoveryUnderWay, http.StatusConflict, "recovery_under_way", "Recovery already under way", "A recovery of this account is already under way. Finish it from the browser where you opened the e-mailed link, once its waiting period is over.", ""),
	is(account.ErrInvalidToken, http.StatusBadRequest, "invalid_token", "Link not valid", "This link is invalid, has expired or was already used. Ask for a new one.", ""),
	is(session.ErrNoSession, http.StatusUnauthorized, "unauthenticated", "Not signed in", "Sign in first.", ""),
	is(session.ErrNotFound, http.StatusNotFound, "not_found", "No such session", "You have no live session with that id.", ""),

	is(oidc.ErrUnknownRequest, http.StatusBadRequest, "app_request_expired", "Sign-in expired", "The app's sign-in request expired or was already used. Go back to the app and sign in again.", ""),

	// Requests refused before any handler.
	is(server.ErrCrossOrigin, http.StatusForbidden, "cross_origin", "Cross-site request refused", "This request came from another site and was refused.", ""),

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

func busy(retryAfter int) *Problem {
	p := New(http.StatusServiceUnavailable, "busy", "Server busy", "The server is busy checking passwords. Try again in a moment.")
	p.RetryAfter = retryAfter
	return p
}

// HumanDuration writes seconds as "42 seconds", "3 minutes", "2 hours".
func HumanDuration(s int) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.Itoa(n) + " " + unit + "s"
	}
	switch {
	case s < 60:
		return plural(s, "second")
	case s < 3600:
		return plural((s+59)/60, "minute")
	default:
		return plural((s+3599)/3600, "hour")
	}
}
