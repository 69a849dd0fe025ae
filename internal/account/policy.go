package account

import (
	"context"

	"twostep/internal/audit"
	"twostep/internal/store"
)

// PolicyStatus says what the wizard still needs before 2SV can be on.
type PolicyStatus struct {
	HasPrimary, HasBackup, BackupRequired bool
}

// Ready reports whether 2SV may be turned on.
func (p PolicyStatus) Ready() bool { return p.HasPrimary && (p.HasBackup || !p.BackupRequired) }

// Policy evaluates the user's methods against the operator's policy.
func (s *Service) Policy(ctx context.Context, userID string) (PolicyStatus, error) {
	methods, err := s.Methods(ctx, userID)
	if err != nil {
		return PolicyStatus{}, err
	}
	p := PolicyStatus{BackupRequired: s.cfg.TwoStep.Backup == "required"}
	primaries := 0
	for _, m := range methods {
		if m.Kind != KindRecovery {
			primaries++
		}
		if m.Role == RolePrimary && m.Kind != KindRecovery {
			p.HasPrimary = true
		}
		if m.Role == RoleBackup {
			p.HasBackup = true
		}
	}
	return p, nil
}

// EnableTwoStep turns 2SV on, in one step, once the policy is met. The
// browser can be remembered at the same time (the wizard's checkbox).
func (s *Service) EnableTwoStep(ctx context.Context, c Client, sess store.Session, u store.User) error {
	if u.EmailVerifiedAt.IsZero() {
		return ErrEmailNotVerified
	}
	if u.TwoStepEnabled {
		return ErrAlreadyEnabled
	}
	p, err := s.Policy(ctx, u.ID)
	if err != nil {
		return err
	}
	if !p.HasPrimary {
		return ErrPrimaryRequired
	}
	if !p.Ready() {
		return ErrBackupRequired
	}
	methods, err := s.Methods(ctx, u.ID)
	if err != nil {
		return err
	}
	if err := s.db.SetTwoStep(ctx, u.ID, true, defaultMethod(u, methods)); err != nil {
		return err
	}
	s.dropRecovery(ctx, c, u)
	// Sessions signed in with the password alone must not carry on as if
	// they had passed the new second step: every other one ends.
	n, err := s.db.RevokeSessions(ctx, u.ID, sess.ID, s.now())
	if err != nil {
		return err
	}
	s.record(ctx, c, u.ID, audit.TwoStepEnabled, audit.Success, sessionsEnded(n))
	s.notify(ctx, u, audit.TwoStepOn(u.Email))
	return nil
}

// DisableTwoStep turns 2SV off, removing every method and remembered
// device, after a fresh step-up.
func (s *Service) DisableTwoStep(ctx context.Context, c Client, sess store.Session, u store.User) error {
	if !s.cfg.TwoStep.AllowDisable || s.cfg.TwoStep.Required {
		return ErrPolicyRequiresTwoStep
	}
	if err := s.RequireStepUp(ctx, sess, u); err != nil {
		return err
	}
	if err := s.db.SetTwoStep(ctx, u.ID, false, ""); err != nil {
		return err
	}
	s.dropRecovery(ctx, c, u)
	s.record(ctx, c, u.ID, audit.TwoStepDisabled, audit.Success, "all methods and remembered devices removed")
	s.notify(ctx, u, audit.TwoStepOff(u.Email))
	return nil
}
