package audit

import (
	"time"

	"twostep/internal/delivery"
	"twostep/internal/store"
	"twostep/internal/text"
)

// MailKind is what notices are queued as in the outgoing-mail queue.
const MailKind = "notification"

// A Notice is the e-mail telling an account holder about a security change
// of its kind; the subject is the kind's (Kind.Subject).
type Notice struct {
	Kind Kind
	Body string
	// ownWayOut marks a body that already says what to do, so the usual
	// "If this was not you" line would only repeat it.
	ownWayOut bool
}

// Message is the notice as the e-mail to u, with the way out if it was not
// them.
func (n Notice) Message(u store.User, baseURL string) delivery.Message {
	body := n.Body + "\n\nIf this was not you, reset your password now: " + baseURL + "/forgot-password\n"
	if n.ownWayOut {
		body = n.Body + "\n"
	}
	return delivery.Message{Channel: delivery.Email, To: u.Email, Subject: n.Kind.Subject(), Body: body}
}

// SecondStepLocked: someone who knows the password spent the account's
// budget of wrong second-step codes; codes from browsers that have not
// passed a second step before are refused until until.
func SecondStepLocked(email string, until time.Time, baseURL string) Notice {
	return Notice{Kind: SecondFactor, ownWayOut: true, Body: "Someone who knows your password is trying to get past two-step verification on " + email + ". " +
		"Change your password now: " + baseURL + "/forgot-password\n\n" +
		"They have not got in: they gave too many wrong codes. Until " + clock(until) + ", codes are refused on browsers that have not passed two-step verification for this account before — even the right code. " +
		"Browsers where you have passed it before are not affected. Changing your password ends this at once."}
}

// clock is a time as e-mails say it.
func clock(t time.Time) string { return t.UTC().Format("Mon, 2 Jan 2006 15:04 UTC") }

// AppAdded: an authenticator app was added to email's two-step
// verification.
func AppAdded(email, label string) Notice {
	return Notice{Kind: FactorAdded, Body: "An authenticator app (" + label + ") was added to the two-step verification of " + email + "."}
}

// MethodAdded: a phone or an e-mail address was added.
func MethodAdded(email, label string) Notice {
	return Notice{Kind: FactorAdded, Body: label + " was added to the two-step verification of " + email + "."}
}

// KeyAdded: a security key or passkey was added.
func KeyAdded(email, label string, passkey bool) Notice {
	what := "A security key"
	if passkey {
		what = "A passkey"
	}
	return Notice{Kind: FactorAdded, Body: what + " (" + label + ") was added to " + email + "."}
}

// KeyUsedToSignIn: a passkey signed in to email, alone.
func KeyUsedToSignIn(email, label, ip string) Notice {
	return Notice{Kind: PasskeySignIn, Body: "The passkey " + label + " was used to sign in to " + email + " from " + ip + ", without a password."}
}

// KeyMayBeCloned: a key's signature counter went backwards, so a copy of it
// may be in someone else's hands; it is refused until re-added.
func KeyMayBeCloned(email, label, baseURL string) Notice {
	return Notice{Kind: KeyCloned, ownWayOut: true, Body: "The security key " + label + " on " + email + " answered with a signature counter lower than before. " +
		"That happens when a copy of the key is used, so it may have been cloned. It no longer signs in.\n\n" +
		"If you still have the key, remove it from your account and add it again (" + baseURL + "/account). " +
		"If you did not expect this, change your password now: " + baseURL + "/forgot-password"}
}

// MethodRemoved: a method was removed.
func MethodRemoved(email, label string) Notice {
	return Notice{Kind: FactorRemoved, Body: label + " was removed from the two-step verification of " + email + "."}
}

// RecoveryCodesMade: a new set of recovery codes replaced the old one.
func RecoveryCodesMade(email string) Notice {
	return Notice{Kind: RecoveryCodes, Body: "A new set of recovery codes was made for " + email + ". The earlier codes no longer work."}
}

// RecoveryCodeUsedToSignIn: a recovery code signed in; left remain.
func RecoveryCodeUsedToSignIn(email string, left int) Notice {
	return Notice{Kind: RecoveryCodeUsed, Body: "A recovery code was used to sign in to " + email + ". " + text.Count(left, "code is", "codes are") + " left."}
}

// TwoStepOn: two-step verification was turned on.
func TwoStepOn(email string) Notice {
	return Notice{Kind: TwoStepEnabled, Body: "Two-step verification was turned on for " + email + ". Signing in from a new browser now needs a code as well as the password."}
}

// TwoStepOff: two-step verification was turned off, with every method.
func TwoStepOff(email string) Notice {
	return Notice{Kind: TwoStepDisabled, Body: "Two-step verification was turned off for " + email + ". All its methods and remembered browsers were removed."}
}

// BrowserRemembered: the browser described as label, at ip, no longer
// asks for codes.
func BrowserRemembered(email, label, ip string) Notice {
	return Notice{Kind: DeviceRemembered, Body: "Codes will no longer be asked for when " + email + " signs in on " + label + " from " + ip + "."}
}

// PasswordChanged: the holder changed the password at at.
func PasswordChanged(email string, at time.Time) Notice {
	return Notice{Kind: PasswordChange, Body: "The password of your account " + email + " was changed at " + at.UTC().Format(time.RFC1123) + ". Your other sessions were signed out."}
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
	body := "The password of your account " + email + " was reset with an e-mailed link at " + at.UTC().Format(time.RFC1123) + ". Every session was signed out: sign in again with the new password."
	switch {
	case r.BrowsersForgotten:
		body += " Remembered browsers were forgotten: each will ask for a code again."
	case r.TwoStepOn:
		body += " Remembered browsers stay remembered: they skip the code, but still need the new password."
	}
	if r.TwoStepOn {
		body += "\n\nTwo-step verification is still on: signing in still needs a code as well as the password."
	}
	if r.TwoStepCleared {
		body += "\n\nTwo-step verification had been set up on this account before its e-mail address was confirmed, so it was not set up by you: it was turned off and its methods were removed. Sign in and turn it on again if you want it."
	}
	return Notice{Kind: PasswordReset, Body: body}
}
