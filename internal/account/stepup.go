package account

import (
	"context"
	"errors"

	"twostep/internal/audit"
	"twostep/internal/factor"
	"twostep/internal/password"
	"twostep/internal/ratelimit"
	"twostep/internal/store"
)

// RequireStepUp returns nil when the session proved its user recently
// enough for a sensitive action: with a second factor within the step-up
// window once 2SV is on, with a password (or more) before. Otherwise a
// *StepUpRequiredError listing the methods to use.
func (s *Service) RequireStepUp(ctx context.Context, sess store.Session, u store.User) error {
	fresh := !sess.StepUpAt.IsZero() && s.now().Sub(sess.StepUpAt) < s.cfg.TwoStep.StepUpWindow.D()
	if fresh && (!u.TwoStepEnabled || sess.StepUpKind == "second_factor") {
		return nil
	}
	e := &StepUpRequiredError{}
	if u.TwoStepEnabled {
		m, err := s.Methods(ctx, u.ID)
		if err != nil {
			return err
		}
		e.Methods = m
	}
	return e
}

// StepUpPassword re-verifies with the password; enough only while 2SV is
// off. Failures count like failed password changes.
func (s *Service) StepUpPassword(ctx context.Context, c Client, sess store.Session, u store.User, pw string) error {
	if u.TwoStepEnabled {
		return s.RequireStepUp(ctx, store.Session{}, u)
	}
	if err := s.verifyOwnPassword(ctx, c, u, pw, audit.StepUp); err != nil {
		return err
	}
	if err := s.db.MarkStepUp(ctx, sess.ID, "password", 1, s.now()); err != nil {
		return err
	}
	s.record(ctx, c, u.ID, audit.StepUp, audit.Success, "password")
	return nil
}

// StepUpCode re-verifies with a second factor.
func (s *Service) StepUpCode(ctx context.Context, c Client, sess store.Session, u store.User, methodID, code string) error {
	if !u.TwoStepEnabled {
		methods, err := s.Methods(ctx, u.ID)
		if err != nil {
			return err
		}
		if len(methods) == 0 {
			return ErrTwoStepOff
		}
	}
	f, err := s.db.FactorByID(ctx, u.ID, methodID, s.now())
	if err != nil || f.Status != factor.Active {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return ErrFactorNotFound
	}
	if err := s.checkCode(ctx, c, u, f, code); err != nil {
		return err
	}
	if err := s.db.MarkStepUp(ctx, sess.ID, "second_factor", 2, s.now()); err != nil {
		return err
	}
	s.record(ctx, c, u.ID, audit.StepUp, audit.Success, f.Label)
	return nil
}

// verifyOwnPassword checks a signed-in person's password (step-up, a
// password change) under a growing-delay throttle of its own, reserved
// before hashing so concurrent guesses cannot outrun it.
func (s *Service) verifyOwnPassword(ctx context.Context, c Client, u store.User, pw string, flow audit.Kind) error {
	key := "pw:change:" + u.ID
	if err := s.limiter.Reserve(ctx, ratelimit.BackoffWant(key, s.cfg.Limits.PasswordPerAccount)); err != nil {
		s.throttled(ctx, c, u.ID, flow, err)
		return err
	}
	norm, err := password.Normalize(pw)
	ok := false
	if err == nil {
		ok, _, err = s.hasher.Verify(ctx, norm, u.PasswordHash)
	} else {
		err = s.hasher.VerifyDummy(ctx, pw)
	}
	if err != nil {
		if rerr := s.limiter.Refund(context.WithoutCancel(ctx), key); rerr != nil {
			s.log.Error("give back a password attempt", "err", rerr)
		}
		return err
	}
	if !ok {
		s.record(ctx, c, u.ID, flow, audit.Failure, "wrong password")
		return ErrWrongPassword
	}
	return s.limiter.Reset(ctx, key)
}
