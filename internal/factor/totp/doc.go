// Package totp implements the time-based one-time passwords of authenticator
// apps: RFC 6238 (TOTP) on top of RFC 4226 (HOTP), the otpauth:// key URI
// that apps scan, and the QR code that carries it.
//
// The HOTP core is written by hand because it is a few lines of HMAC, and
// because the verifier has to return what a boolean check cannot: which
// time step matched. The caller stores that step and passes it back as
// lastStep, so a code is never accepted twice (RFC 6238 §5.2 — a code seen
// over someone's shoulder or phished in real time must not work again).
// [Verify] also looks a few minutes beyond the accepted window, not to
// accept such codes but to tell the user that the phone's clock is wrong,
// which is the usual reason a correct-looking code fails.
//
// Time and randomness are parameters ([Verify] takes t, [NewSecret] takes an
// io.Reader) so tests are exact. Codes are compared with crypto/subtle and
// every candidate step is checked, so timing does not reveal which step
// matched.
package totp
