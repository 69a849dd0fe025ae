package audit

import (
	"strconv"
	"time"

	"twostep/internal/delivery"
	"twostep/internal/store"
)

// MailKind is what notices are queued as in the outgoing-mail queue.
const MailKind = "notification"

// A Notice is the e-mail telling an account holder about a security change
// of its kind; the subject is the kind's (Kind.Subject).
type Notice struct {
	Kind Kind
	Body string
}

// Message is the notice as the e-mail to u, with the way out if it was not
// them.
func (n Notice) Message(u store.User, baseURL string) delivery.Message {
	return delivery.Message{
		Channel: delivery.Email, To: u.Email,
		Subject: n.Kind.Subject(),
		Body:    n.Body + "\n\nIf this was not you, reset your password now: " + baseURL + "/forgot-password\n",
	}
}

// AppAdded: an authenticator app was added to email's two-step
// verification.
func AppAdded(email, label string) Notice {
	return Notice{FactorAdded, "An authenticator app (" + label + ") was added to the two-step verification of " + email + "."}
}

// MethodAdded: a phone or an e-mail address was added.
func MethodAdded(email, label string) Notice {
	return Notice{FactorAdded, label + " was added to the two-step verification of " + email + "."}
}

// MethodRemoved: a method was removed.
func MethodRemoved(email, label string) Notice {
	return Notice{FactorRemoved, label + " was removed from the two-step verification of " + email + "."}
}

// RecoveryCodesMade: a new set of recovery codes replaced the old one.
func RecoveryCodesMade(email string) Notice {
	return Notice{RecoveryCodes, "A new set of recovery codes was made for " + email + ". The earlier codes no longer work."}
}

// RecoveryCodeUsedToSignIn: a recovery code signed in; left remain.
func RecoveryCodeUsedToSignIn(email string, left int) Notice {
	return Notice{RecoveryCodeUsed, "A recovery code was used to sign in to " + email + ". " + strconv.Itoa(left) + " codes are left."}
}

// TwoStepOn: two-step verification was turned on.
func TwoStepOn(email string) Notice {
	return Notice{TwoStepEnabled, "Two-step verification was turned on for " + email + ". Signing in from a new browser now needs a code as well as the password."}
}

// TwoStepOff: two-step verification was turned off, with every method.
func TwoStepOff(email string) Notice {
	return Notice{TwoStepDisabled, "Two-step verification was turned off for " + email + ". All its methods and remembered browsers were removed."}
}

// BrowserRemembered: the browser described as label, at ip, no longer
// asks for codes.
func BrowserRemembered(email, label, ip string) Notice {
	return Notice{DeviceRemembered, "Codes will no longer be asked for when " + email + " signs in on " + label + " from " + ip + "."}
}

// PasswordChanged: the holder changed the password at at.
func PasswordChanged(email string, at time.Time) Notice {
	return Notice{PasswordChange, "The password of your account " + email + " was changed at " + at.UTC().Format(time.RFC1123) + ". Your other sessions were signed out."}
}

// PasswordWasReset: the password was reset with a link at at;
// twoStepCleared when the reset also removed two-step verification set up
// before the address was confirmed.
func PasswordWasReset(email string, at time.Time, twoStepCleared bool) Notice {
	body := "The password of your account " + email + " was reset with an e-mailed link at " + at.UTC().Format(time.RFC1123) + ". Every session was signed out."
	if twoStepCleared {
		body += "\n\nTwo-step verification had been set up on this account before its e-mail address was confirmed, so it was not set up by you: it was turned off and its methods were removed. Sign in and turn it on again if you want it."
	}
	return Notice{PasswordReset, body}
}
