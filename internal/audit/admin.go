package audit

// Notices of the operator's commands (twostep users …). Each says what
// was done and what to do if the holder did not ask for it; none repeats
// the operator's reason, which is for the event log.

// AccountDisabled: the account was disabled and signed out everywhere.
func AccountDisabled(email string) Notice {
	return Notice{Kind: AdminDisable, ownWayOut: true, Body: "Your account " + email + " was disabled by our support team. " +
		"It was signed out everywhere, and nobody can sign in to it until it is enabled again.\n\n" +
		"If you do not know why, reply to this message or contact support."}
}

// AccountEnabled: a disabled account can sign in again.
func AccountEnabled(email string) Notice {
	return Notice{Kind: AdminEnable, Body: "Your account " + email + " was enabled again by our support team: you can sign in as before."}
}

// TwoStepWasReset: support turned two-step verification off, removed its
// methods and signed the account out everywhere; required says it must
// be set up again at the next sign-in.
func TwoStepWasReset(email string, required bool) Notice {
	body := "Our support team reset two-step verification on your account " + email + ": it is off, every method (apps, phones, security keys, recovery codes) was removed, " +
		"and every session, remembered browser and app was signed out."
	if required {
		body += " You will be asked to set two-step verification up again when you next sign in."
	} else {
		body += " Sign in and set it up again to keep your account safe."
	}
	body += "\n\nIf you did not ask support for this, someone may be trying to take over your account: reset your password now and contact support."
	return Notice{Kind: AdminResetTwoStep, Body: body}
}

// AccountDeleted: the account and what was kept about it were erased.
func AccountDeleted(email string) Notice {
	return Notice{Kind: AdminDelete, ownWayOut: true, Body: "Your account " + email + " was deleted by our support team, with its sign-in methods, sessions and remembered browsers. " +
		"Only anonymous security records were kept.\n\nIf you did not ask for this, contact support."}
}
