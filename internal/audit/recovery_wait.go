package audit

import (
	"time"

	"twostep/internal/text"
)

// Notices of the recovery with a waiting period (lost every second
// method). Each is sent to every address and phone on the account, so
// the owner hears of it wherever they still are.

// RecoveryUnderWay: someone with the password and the mailbox started a
// recovery that turns two-step verification off at ready; cancelURL
// stops it. reminder marks the halfway reminder.
func RecoveryUnderWay(email string, ready, now time.Time, cancelURL string, reminder bool) Notice {
	lead := "Someone who knows the password of " + email + " and can read its e-mail said they lost every two-step method, and started a recovery of the account."
	if reminder {
		lead = "Reminder: a recovery of " + email + " is under way (someone who knows its password and can read its e-mail said they lost every two-step method)."
	}
	return Notice{Kind: RecoveryStarted, ownWayOut: true, Body: lead + "\n\n" +
		"At " + text.At(ready, now) + " (" + text.Wait(ready.Sub(now)) + "), the next sign-in with the password from the browser that started it will turn two-step verification off, remove every method and sign the account out everywhere.\n\n" +
		"If this was you, there is nothing to do but wait.\n\n" +
		"If it was not you, cancel it now — one click:\n" + cancelURL + "\n" +
		"Then change your password: someone knows it. Signing in with any of your two-step methods cancels the recovery too."}
}

// RecoveryStopped: the recovery of email was cancelled; bySignIn says a
// sign-in with a second step did it (else a cancel link).
func RecoveryStopped(email string, bySignIn bool) Notice {
	how := "with the cancel link we sent"
	if bySignIn {
		how = "because someone signed in with a two-step method, which only the account's owner can do"
	}
	return Notice{Kind: RecoveryCancelled, Body: "The recovery of " + email + " was cancelled " + how + ". Two-step verification stays on, with every method as it was."}
}

// Recovered: the wait was over and the recovery finished; required says
// two-step verification must be set up again at once.
func Recovered(email string, required bool) Notice {
	body := "The recovery of " + email + " is complete: two-step verification is off, every method (apps, phones, security keys, recovery codes) was removed, and every session, remembered browser and app was signed out."
	if required {
		body += " Two-step verification must be set up again before the account can be used."
	} else {
		body += " Set two-step verification up again to keep the account safe."
	}
	return Notice{Kind: RecoveryCompleted, Body: body}
}
