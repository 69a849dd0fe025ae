package audit

import (
	"time"

	"twostep/internal/i18n"
)

// Notices of the recovery with a waiting period (lost every second
// method). Each is sent to every address and phone on the account, so
// the owner hears of it wherever they still are.

// RecoveryUnderWay: someone with the password and the mailbox started a
// recovery that turns two-step verification off at ready; cancelURL
// stops it. reminder marks the halfway reminder.
func RecoveryUnderWay(email string, ready, now time.Time, cancelURL string, reminder bool) Notice {
	return notice(RecoveryStarted, true, func(l *i18n.Localizer) string {
		lead := l.T("mail.recovery_started", "Email", email)
		if reminder {
			lead = l.T("mail.recovery_reminder", "Email", email)
		}
		return lead + "\n\n" + l.T("mail.recovery_under_way", "Ready", l.At(ready, now), "In", l.Wait(ready.Sub(now)), "Link", cancelURL)
	})
}

// RecoveryStopped: the recovery of email was cancelled; bySignIn says a
// sign-in with a second step did it (else a cancel link).
func RecoveryStopped(email string, bySignIn bool) Notice {
	id := "mail.recovery_cancelled_link"
	if bySignIn {
		id = "mail.recovery_cancelled_signin"
	}
	return notice(RecoveryCancelled, false, func(l *i18n.Localizer) string { return l.T(id, "Email", email) })
}

// Recovered: the wait was over and the recovery finished; required says
// two-step verification must be set up again at once.
func Recovered(email string, required bool) Notice {
	return notice(RecoveryCompleted, false, func(l *i18n.Localizer) string {
		body := l.T("mail.recovered", "Email", email)
		if required {
			body += " " + l.T("mail.recovered_required")
		} else {
			body += " " + l.T("mail.recovered_again")
		}
		return body
	})
}
