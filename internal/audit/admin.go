package audit

import "twostep/internal/i18n"

// Notices of the operator's commands (twostep users …). Each says what
// was done and what to do if the holder did not ask for it; none repeats
// the operator's reason, which is for the event log.

// AccountDisabled: the account was disabled and signed out everywhere.
func AccountDisabled(email string) Notice {
	return notice(AdminDisable, true, func(l *i18n.Localizer) string { return l.T("mail.admin_disabled", "Email", email) })
}

// AccountEnabled: a disabled account can sign in again.
func AccountEnabled(email string) Notice {
	return notice(AdminEnable, false, func(l *i18n.Localizer) string { return l.T("mail.admin_enabled", "Email", email) })
}

// TwoStepWasReset: support turned two-step verification off, removed its
// methods and signed the account out everywhere; required says it must
// be set up again at the next sign-in.
func TwoStepWasReset(email string, required bool) Notice {
	return notice(AdminResetTwoStep, false, func(l *i18n.Localizer) string {
		body := l.T("mail.admin_two_step_reset", "Email", email)
		if required {
			body += " " + l.T("mail.admin_two_step_required")
		} else {
			body += " " + l.T("mail.admin_two_step_again")
		}
		return body + "\n\n" + l.T("mail.admin_two_step_not_you")
	})
}

// AccountDeleted: the account and what was kept about it were erased.
func AccountDeleted(email string) Notice {
	return notice(AdminDelete, true, func(l *i18n.Localizer) string { return l.T("mail.admin_deleted", "Email", email) })
}
