// Package method is the seam between the sign-in flows and the kinds of
// second factors. Each kind is a package implementing Method — issue a
// challenge (nothing for an authenticator app, a sent code for a phone,
// options for a security key), verify the answer, say what a success
// proves — and the flows look the kind up in a Registry instead of
// switching over kinds. Adding a kind is one package, one migration and
// one line where the registry is built (account.New).
package method

import (
	"context"
	"encoding/json"
	"time"

	"twostep/internal/factor"
	"twostep/internal/session"
	"twostep/internal/store"
)

// Challenge is what Begin issued, for the person to answer.
type Challenge struct {
	// Channel is how a code went out ("sms", "voice", "email"); empty when
	// nothing was sent.
	Channel     string
	Masked      string // where it went, as shown ("•••678")
	ResendAfter time.Duration
	ExpiresIn   time.Duration
	// PublicKey is, for a security key, the WebAuthn request options
	// (PublicKeyCredentialRequestOptionsJSON) to hand to the browser.
	PublicKey json.RawMessage
}

// Response is what the person answered: a code, or a security key's
// signed assertion (PublicKeyCredential JSON) for the ceremony begun for
// Owner (a pending sign-in, a session).
type Response struct {
	Code       string
	Credential json.RawMessage
	Owner      string
}

// Result is a verified answer.
type Result struct {
	// OK: the answer was right, and what it used is consumed (the time
	// step, the sent code, the recovery code).
	OK bool
	// Step and Drift are the authenticator-app time step accepted and its
	// distance from now, kept when a pending app is activated.
	Step, Drift int64
	// ClockOffset is set when a code matched a time too far from now to
	// accept: the phone's clock is wrong.
	ClockOffset time.Duration
	// Detail is what the security event says ("3 left").
	Detail string
	// UserVerified: a security key verified the person (PIN,
	// biometrics), not only their presence.
	UserVerified bool
}

// Method is one kind of second factor.
type Method interface {
	// Begin issues a challenge for f, asked for by client c, by the
	// channel asked for (empty: the method's own).
	Begin(ctx context.Context, c session.Client, f store.Factor, via factor.Kind) (Challenge, error)
	// Verify checks resp against f. An active f's step, code or
	// recovery code is consumed by a right answer; a pending f is only
	// checked — activating it is the caller's, the same for every kind.
	Verify(ctx context.Context, f store.Factor, resp Response) (Result, error)
	// AMR lists the authentication-method references (RFC 8176) a
	// success with f adds to a sign-in.
	AMR(f store.Factor) []string
}

// Registry finds the Method of a kind.
type Registry map[factor.Kind]Method

// For returns the method of kind k.
func (r Registry) For(k factor.Kind) (Method, bool) {
	m, ok := r[k]
	return m, ok
}

// NothingToSend is the Begin of methods whose answer the person already
// holds (an app, printed codes).
type NothingToSend struct{}

// Begin issues nothing.
func (NothingToSend) Begin(context.Context, session.Client, store.Factor, factor.Kind) (Challenge, error) {
	return Challenge{}, ErrNothingToSend
}

// ErrNothingToSend: the method has no code to send (an app's code is read
// from the app).
var ErrNothingToSend = errNothingToSend{}

type errNothingToSend struct{}

func (errNothingToSend) Error() string { return "method: this method has no code to send" }
