// Package factor names the second factors twostep knows — their kinds,
// roles and states — and defines Method, the seam every kind implements:
// issue a challenge, verify the answer, say what it proves. The kinds
// live in packages of their own beside this one; adding one (security
// keys) is one package, one migration and one line in the registry.
package factor

// Kind is a kind of method, as the API names it.
type Kind string

// The kinds of methods.
const (
	TOTP     Kind = "totp"          // an authenticator app
	SMS      Kind = "sms"           // codes by text message
	Voice    Kind = "voice"         // codes by voice call
	Email    Kind = "email"         // codes by e-mail
	Recovery Kind = "recovery_code" // a set of single-use recovery codes
	WebAuthn Kind = "webauthn"      // a security key or passkey
)

// Sent reports whether the kind's codes are sent to the person (a phone
// or an e-mail address) rather than shown by a device they hold.
func (k Kind) Sent() bool { return k == SMS || k == Voice || k == Email }

// Phone reports whether the kind reaches a phone number.
func (k Kind) Phone() bool { return k == SMS || k == Voice }

// Role is what a method is for: the one asked for first, or a backup.
type Role string

// The roles.
const (
	Primary Role = "primary"
	Backup  Role = "backup"
)

// Status is where a method is in its life: added but not yet proved, or
// usable.
type Status string

// The states.
const (
	Pending Status = "pending"
	Active  Status = "active"
)
