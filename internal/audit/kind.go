// Package audit records security events (sign-ins, method changes, sends
// refused by a budget…) and sends the e-mails that tell an account holder
// about a security change. Each kind of event is described once, here: the
// words the account page shows for it and the subject of its e-mail.
package audit

import "strings"

// Kind is what happened. The values are stored with each event and
// returned by GET /api/v1/events: they never change once released.
type Kind string

// The kinds of security events.
const (
	SignUp               Kind = "signup"
	SignIn               Kind = "signin"
	SignOut              Kind = "signout"
	SignOutEverywhere    Kind = "signout_everywhere"
	SessionsRevoked      Kind = "sessions_revoked"
	SessionRevoked       Kind = "session_revoked"
	PasswordChange       Kind = "password_change"
	PasswordResetRequest Kind = "password_reset_request"
	PasswordReset        Kind = "password_reset"
	EmailVerified        Kind = "email_verified"
	TwoStepEnabled       Kind = "two_step_enabled"
	TwoStepDisabled      Kind = "two_step_disabled"
	FactorAdded          Kind = "factor_added"
	FactorRemoved        Kind = "factor_removed"
	FactorChanged        Kind = "factor_changed"
	RecoveryCodes        Kind = "recovery_codes"
	RecoveryCodeUsed     Kind = "recovery_code_used"
	SecondFactor         Kind = "second_factor"
	StepUp               Kind = "step_up"
	DeviceRemembered     Kind = "device_remembered"
	DeviceForgotten      Kind = "device_forgotten"
	CodeSent             Kind = "code_sent"
	// SendBudget is a per-number or per-address send budget running out.
	SendBudget Kind = "send_budget"
	// AppSignIn is a sign-in to an app through OpenID Connect.
	AppSignIn Kind = "app_signin"
	// AppAllowed is a person allowing an app to know who they are.
	AppAllowed Kind = "app_allowed"
	// AppRevoked is a person withdrawing an app's access.
	AppRevoked Kind = "app_revoked"
	// AppTokenReuse is a used authorization code or refresh token
	// presented again: the tokens it led to are revoked.
	AppTokenReuse Kind = "app_token_reuse"
	// KeyCloned is a security key whose signature counter went backwards:
	// a copy of it may exist. It is refused until removed and added again.
	KeyCloned Kind = "key_cloned"
	// PasskeySignIn is a sign-in with a passkey (no password).
	PasskeySignIn Kind = "passkey_signin"

	// The recovery with a waiting period, for someone who lost every
	// second method: asked for at the challenge, started by the e-mailed
	// link, cancelled (a cancel link, or a sign-in with a second step),
	// completed by the password after the wait.
	RecoveryRequested Kind = "recovery_requested"
	RecoveryStarted   Kind = "recovery_started"
	RecoveryCancelled Kind = "recovery_cancelled"
	RecoveryCompleted Kind = "recovery_completed"

	// Operators' actions on an account (twostep users …); the detail
	// names the operator (their OS user) and their reason.
	AdminDisable            Kind = "admin_disable"
	AdminEnable             Kind = "admin_enable"
	AdminResetTwoStep       Kind = "admin_reset_two_step"
	AdminForcePasswordReset Kind = "admin_force_password_reset"
	AdminImport             Kind = "admin_import"
	AdminExport             Kind = "admin_export"
	AdminDelete             Kind = "admin_delete"
)

// description is everything said about a kind: its words in the activity
// list and, for kinds the holder is told about by e-mail, the subject.
type description struct {
	label, subject string
}

var descriptions = map[Kind]description{
	SignUp:               {label: "Account created"},
	SignIn:               {label: "Sign-in"},
	SignOut:              {label: "Signed out"},
	SignOutEverywhere:    {label: "Signed out everywhere"},
	SessionsRevoked:      {label: "Other sessions signed out"},
	SessionRevoked:       {label: "A session was signed out"},
	PasswordChange:       {label: "Password change", subject: "Your password was changed"},
	PasswordResetRequest: {label: "Password reset requested"},
	PasswordReset:        {label: "Password reset", subject: "Your password was reset"},
	EmailVerified:        {label: "E-mail address confirmed"},
	TwoStepEnabled:       {label: "Two-step verification turned on", subject: "Two-step verification is on"},
	TwoStepDisabled:      {label: "Two-step verification turned off", subject: "Two-step verification is off"},
	FactorAdded:          {label: "Method added", subject: "A sign-in method was added"},
	FactorRemoved:        {label: "Method removed", subject: "A sign-in method was removed"},
	FactorChanged:        {label: "Method changed"},
	RecoveryCodes:        {label: "New recovery codes", subject: "New recovery codes"},
	RecoveryCodeUsed:     {label: "Recovery code used", subject: "A recovery code was used"},
	SecondFactor:         {label: "Second-step code", subject: "Someone is trying to sign in to your account"},
	StepUp:               {label: "Identity confirmed"},
	DeviceRemembered:     {label: "Browser remembered", subject: "A browser was remembered"},
	DeviceForgotten:      {label: "Browser forgotten"},
	CodeSent:             {label: "Code sent"},
	SendBudget:           {label: "Code sending limit reached"},
	AppSignIn:            {label: "Signed in to an app"},
	AppAllowed:           {label: "App allowed"},
	AppRevoked:           {label: "App access removed"},
	AppTokenReuse:        {label: "An app's used sign-in token was presented again; its access was revoked"},
	KeyCloned:            {label: "Security key may have been copied: turned off", subject: "Your security key may have been copied"},
	PasskeySignIn:        {label: "Signed in with a passkey", subject: "You signed in with a passkey"},
	RecoveryRequested:    {label: "Recovery without a second step requested"},
	RecoveryStarted:      {label: "Recovery started: waiting period", subject: "Someone is recovering your account"},
	RecoveryCancelled:    {label: "Recovery cancelled", subject: "The recovery of your account was cancelled"},
	RecoveryCompleted:    {label: "Recovered: two-step verification turned off", subject: "Your account was recovered"},

	AdminDisable:            {label: "Account disabled by support", subject: "Your account was disabled"},
	AdminEnable:             {label: "Account enabled again by support", subject: "Your account was enabled again"},
	AdminResetTwoStep:       {label: "Two-step verification reset by support", subject: "Two-step verification was reset"},
	AdminForcePasswordReset: {label: "New password required by support", subject: "Choose a new password"},
	AdminImport:             {label: "Account imported"},
	AdminExport:             {label: "Account data exported by support"},
	AdminDelete:             {label: "Account deleted by support", subject: "Your account was deleted"},
}

// Label is the kind in the words of the activity list. A kind no longer
// recorded (an old row) shows as stored.
func (k Kind) Label() string {
	if d, ok := descriptions[k]; ok {
		return d.label
	}
	return string(k)
}

// Subject is the subject of the e-mail about this kind of change, or ""
// for kinds the holder is not told about.
func (k Kind) Subject() string { return descriptions[k].subject }

// Outcome is how it ended. Like kinds, outcomes are stored and never
// change once released.
type Outcome string

// The outcomes of security events.
const (
	Success   Outcome = "success"
	Failure   Outcome = "failure"
	Pending   Outcome = "pending"
	Throttled Outcome = "throttled"
	// Locked is a sign-in refused because its limits are spent.
	Locked Outcome = "locked"
	// Lockout is the wrong code that spent a limit.
	Lockout Outcome = "lockout"
	// SecondFactorRequired is a right password that still needs a code.
	SecondFactorRequired Outcome = "second_factor_required"
	// Exhausted is a send budget spent.
	Exhausted Outcome = "exhausted"
	// UnknownEmail is a reset asked for an address with no account.
	UnknownEmail Outcome = "unknown_email"
)

// Failed reports outcomes the activity list shows as failures; the other
// outcomes but success are shown as notes.
func (o Outcome) Failed() bool {
	switch o {
	case Failure, Throttled, Locked, Lockout, UnknownEmail:
		return true
	}
	return false
}

// Label is the outcome in words: "second factor required".
func (o Outcome) Label() string { return strings.ReplaceAll(string(o), "_", " ") }
