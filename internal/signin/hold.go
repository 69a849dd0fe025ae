package signin

import (
	"context"
	"errors"

	"twostep/internal/audit"
	"twostep/internal/session"
	"twostep/internal/store"
)

// Errors for accounts an operator put a hold on (twostep users …). Both
// are told only to someone who gave the right password (or passkey): a
// wrong one is refused as always, so the holds reveal nothing to guessers.
var (
	// ErrAccountDisabled: the account is disabled; no sign-in succeeds.
	ErrAccountDisabled = errors.New("signin: the account is disabled")
	// ErrPasswordResetRequired: the password was right, but a new one
	// must be chosen first (a reset link is on its way).
	ErrPasswordResetRequired = errors.New("signin: a new password is required")
)

// checkHold refuses the sign-in of u when the account is disabled, or —
// for a password sign-in (password true) — when a new password is required.
func (s *Service) checkHold(ctx context.Context, c session.Client, u store.User, password bool) error {
	h := u.Hold // read with the user
	h.PasswordChangedAt = u.PasswordChangedAt
	switch {
	case h.Disabled():
		s.audit.Record(ctx, c.Audit(), u.ID, audit.SignIn, audit.Failure, "account disabled")
		return ErrAccountDisabled
	case password && h.ResetRequired():
		s.audit.Record(ctx, c.Audit(), u.ID, audit.SignIn, audit.Failure, "new password required")
		return ErrPasswordResetRequired
	}
	return nil
}
