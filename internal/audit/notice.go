package audit

import (
	"time"

	"twostep/internal/delivery"
	"twostep/internal/i18n"
	"twostep/internal/store"
)

// MailKind is what notices are queued as in the outgoing-mail queue.
const MailKind = "notification"

// english says notices where no language is given (Body, Message): the
// embedded catalogues, read once and never changed.
var english = i18n.MustLoad("twostep").In(i18n.English)

// A Notice is the e-mail telling an account holder about a security change
// of its kind; the subject is the kind's (mail.subject.<kind>).
type Notice struct {
	Kind Kind
	// Body is the notice in English, for logs and tests; the e-mail says
	// it in the holder's language (say).
	Body string
	// say words the body in a language; nil for a notice written only in
	// English (Body).
	say func(l *i18n.Localizer) string
	// ownWayOut marks a body that already says what to do, so the usual
	// "If this was not you" line would only repeat it.
	ownWayOut bool
}

// notice makes a Notice whose body say words.
func notice(kind Kind, ownWayOut bool, say func(l *i18n.Localizer) string) Notice {
	return Notice{Kind: kind, Body: say(english), say: say, ownWayOut: ownWayOut}
}

// Message is the notice as the e-mail to u, in English, with the way out
// if it was not them.
func (n Notice) Message(u store.User, baseURL string) delivery.Message {
	return n.MessageIn(english, u, baseURL)
}

// MessageIn is Message in l's language.
func (n Notice) MessageIn(l *i18n.Localizer, u store.User, baseURL string) delivery.Message {
	body := n.Body
	if n.say != nil {
		body = n.say(l)
	}
	if n.ownWayOut {
		body += "\n"
	} else {
		body += "\n\n" + l.T("mail.not_you", "Link", baseURL+"/forgot-password") + "\n"
	}
	subject := n.Kind.Subject()
	if s := l.T("mail.subject." + string(n.Kind)); s != "mail.subject."+string(n.Kind) {
		subject = s
	}
	return delivery.Message{Channel: delivery.Email, To: u.Email, Subject: subject, Body: body}
}

// SecondStepLocked: someone who knows the password spent the account's
// budget of wrong second-step codes; codes from browsers that have not
// passed a second step before are refused until until.
func SecondStepLocked(email string, until time.Time, baseURL string) Notice {
	return notice(SecondFactor, true, func(l *i18n.Localizer) string {
		return l.T("mail.second_step_locked", "Email", email, "Link", baseURL+"/forgot-password", "Until", l.Full(until))
	})
}

// AppAdded: an authenticator app was added to email's two-step
// verification.
func AppAdded(email, label string) Notice {
	return notice(FactorAdded, false, func(l *i18n.Localizer) string { return l.T("mail.app_added", "Email", email, "Label", label) })
}

// MethodAdded: a phone or an e-mail address was added.
func MethodAdded(email, label string) Notice {
	return notice(FactorAdded, false, func(l *i18n.Localizer) string { return l.T("mail.method_added", "Email", email, "Label", label) })
}

// KeyAdded: a security key or passkey was added.
func KeyAdded(email, label string, passkey bool) Notice {
	id := "mail.key_added"
	if passkey {
		id = "mail.passkey_added"
	}
	return notice(FactorAdded, false, func(l *i18n.Localizer) string { return l.T(id, "Email", email, "Label", label) })
}

// KeyUsedToSignIn: a passkey signed in to email, alone.
func KeyUsedToSignIn(email, label, ip string) Notice {
	return notice(PasskeySignIn, false, func(l *i18n.Localizer) string {
		return l.T("mail.passkey_signin", "Email", email, "Label", label, "IP", ip)
	})
}

// KeyMayBeCloned: a key's signature counter went backwards, so a copy of it
// may be in someone else's hands; it is refused until re-added.
func KeyMayBeCloned(email, label, baseURL string) Notice {
	return notice(KeyCloned, true, func(l *i18n.Localizer) string {
		return l.T("mail.key_cloned", "Email", email, "Label", label, "Account", baseURL+"/account", "Link", baseURL+"/forgot-password")
	})
}

// MethodRemoved: a method was removed.
func MethodRemoved(email, label string) Notice {
	return notice(FactorRemoved, false, func(l *i18n.Localizer) string { return l.T("mail.method_removed", "Email", email, "Label", label) })
}

// RecoveryCodesMade: a new set of recovery codes replaced the old one.
func RecoveryCodesMade(email string) Notice {
	return notice(RecoveryCodes, false, func(l *i18n.Localizer) string { return l.T("mail.codes_made", "Email", email) })
}

// RecoveryCodeUsedToSignIn: a recovery code signed in; left remain.
func RecoveryCodeUsedToSignIn(email string, left int) Notice {
	return notice(RecoveryCodeUsed, false, func(l *i18n.Localizer) string { return l.N("mail.code_used", left, "Email", email) })
}

// TwoStepOn: two-step verification was turned on.
func TwoStepOn(email string) Notice {
	return notice(TwoStepEnabled, false, func(l *i18n.Localizer) string { return l.T("mail.two_step_on", "Email", email) })
}

// TwoStepOff: two-step verification was turned off, with every method.
func TwoStepOff(email string) Notice {
	return notice(TwoStepDisabled, false, func(l *i18n.Localizer) string { return l.T("mail.two_step_off", "Email", email) })
}

// BrowserRemembered: the browser described as label, at ip, no longer
// asks for codes.
func BrowserRemembered(email, label, ip string) Notice {
	return notice(DeviceRemembered, false, func(l *i18n.Localizer) string {
		return l.T("mail.browser_remembered", "Email", email, "Label", label, "IP", ip)
	})
}

// PasswordChanged: the holder changed the password at at.
func PasswordChanged(email string, at time.Time) Notice {
	return notice(PasswordChange, false, func(l *i18n.Localizer) string {
		return l.T("mail.password_changed", "Email", email, "At", l.Full(at))
	})
}

// Reset is what a password reset did besides the password.
type Reset struct {
	// TwoStepCleared: it removed two-step verification set up before the
	// address was confirmed.
	TwoStepCleared bool
	// TwoStepOn: two-step verification is (still) on.
	TwoStepOn bool
	// BrowsersForgotten: the person asked to forget the remembered
	// browsers, and it did.
	BrowsersForgotten bool
}

// PasswordWasReset: the password was reset with a link at at, and what
// that did to sessions, remembered browsers and two-step verification.
func PasswordWasReset(email string, at time.Time, r Reset) Notice {
	return notice(PasswordReset, false, func(l *i18n.Localizer) string {
		body := l.T("mail.password_reset", "Email", email, "At", l.Full(at))
		switch {
		case r.BrowsersForgotten:
			body += " " + l.T("mail.password_reset_forgotten")
		case r.TwoStepOn:
			body += " " + l.T("mail.password_reset_kept")
		}
		if r.TwoStepOn {
			body += "\n\n" + l.T("mail.password_reset_two_step_on")
		}
		if r.TwoStepCleared {
			body += "\n\n" + l.T("mail.password_reset_two_step_cleared")
		}
		return body
	})
}
