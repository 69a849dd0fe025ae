package account

import (
	"context"
	"errors"
	"time"

	"twostep/internal/audit"
	"twostep/internal/factor"
	"twostep/internal/secret"
	"twostep/internal/store"
)

// Challenge is the second step of a sign-in whose password was right: the
// browser holds Token (in a short-lived cookie) and answers with a code.
type Challenge struct {
	Token     string
	ExpiresAt time.Time
	Methods   []store.Factor
	DefaultID string
}

// challenge starts a pending sign-in, or signs in directly when the
// browser is a remembered device of this user.
func (s *Service) challenge(ctx context.Context, c Client, u store.User, known bool) (Issued, error) {
	now := s.now()
	if d, ok := s.rememberedDevice(ctx, c, u.ID); ok {
		expires := now.Add(s.cfg.TwoStep.DeviceLifetime.D())
		if expires.After(d.MaxExpiresAt) {
			expires = d.MaxExpiresAt
		}
		if err := s.db.UseDevice(ctx, d.ID, c.IP, now, expires); err != nil {
			return Issued{}, err
		}
		iss, err := s.startSession(ctx, c, u, 2, "", known)
		if err != nil {
			return Issued{}, err
		}
		s.record(ctx, c, u.ID, audit.SignIn, audit.Success, "remembered browser: "+d.Label)
		return iss, nil
	}
	methods, err := s.Methods(ctx, u.ID)
	if err != nil {
		return Issued{}, err
	}
	token := secret.NewToken()
	p := store.Pending{ID: store.NewID(), TokenHash: secret.Hash(token), UserID: u.ID, CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.TwoStep.PendingSignInTTL.D()), IP: c.IP, UserAgent: truncate(c.UserAgent, 512)}
	if err := s.db.CreatePending(ctx, p); err != nil {
		return Issued{}, err
	}
	s.record(ctx, c, u.ID, audit.SignIn, audit.SecondFactorRequired, "")
	return Issued{Challenge: &Challenge{Token: token, ExpiresAt: p.ExpiresAt, Methods: methods, DefaultID: defaultMethod(u, methods)}}, nil
}

// rememberedDevice finds, among the device tokens the browser holds, one
// of this user's remembered devices.
func (s *Service) rememberedDevice(ctx context.Context, c Client, userID string) (store.Device, bool) {
	for _, t := range c.DeviceTokens {
		if !secret.WellFormedToken(t) {
			continue
		}
		d, err := s.db.DeviceByTokenHash(ctx, userID, secret.Hash(t), s.now())
		if err == nil {
			return d, true
		}
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("look up device", "err", err)
		}
	}
	return store.Device{}, false
}

// PendingChallenge returns the challenge a pending-sign-in cookie belongs
// to, for the challenge page.
func (s *Service) PendingChallenge(ctx context.Context, token string) (Challenge, store.User, error) {
	if !secret.WellFormedToken(token) {
		return Challenge{}, store.User{}, ErrSignInExpired
	}
	p, err := s.db.PendingByTokenHash(ctx, secret.Hash(token), s.now(), s.cfg.TwoStep.PendingAttempts)
	if errors.Is(err, store.ErrNotFound) {
		return Challenge{}, store.User{}, ErrSignInExpired
	}
	if err != nil {
		return Challenge{}, store.User{}, err
	}
	u, err := s.db.UserByID(ctx, p.UserID)
	if err != nil {
		return Challenge{}, u, err
	}
	methods, err := s.Methods(ctx, u.ID)
	if err != nil {
		return Challenge{}, u, err
	}
	return Challenge{Token: token, ExpiresAt: p.ExpiresAt, Methods: methods, DefaultID: defaultMethod(u, methods)}, u, nil
}

// VerifySignIn finishes a pending sign-in with a code from one of the
// user's methods. Wrong codes count against the pending sign-in (after
// PendingAttempts it is void and the password must be entered again) and
// against the account and address budgets. remember asks not to be asked
// for codes on this browser again.
func (s *Service) VerifySignIn(ctx context.Context, c Client, token, methodID, code string, remember bool) (store.User, Issued, error) {
	if !secret.WellFormedToken(token) {
		return store.User{}, Issued{}, ErrSignInExpired
	}
	p, err := s.db.PendingByTokenHash(ctx, secret.Hash(token), s.now(), s.cfg.TwoStep.PendingAttempts)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, Issued{}, ErrSignInExpired
	}
	if err != nil {
		return store.User{}, Issued{}, err
	}
	u, err := s.db.UserByID(ctx, p.UserID)
	if err != nil {
		return u, Issued{}, err
	}
	f, err := s.db.FactorByID(ctx, u.ID, methodID, s.now())
	if err != nil || f.Status != factor.Active {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return u, Issued{}, err
		}
		return u, Issued{}, ErrFactorNotFound
	}
	// The attempt is spent before the code is checked, so a burst of
	// guesses on one pending sign-in gets no more than PendingAttempts.
	n, err := s.db.ReservePendingAttempt(ctx, p.ID, s.now(), s.cfg.TwoStep.PendingAttempts)
	if errors.Is(err, store.ErrNotFound) {
		return u, Issued{}, ErrSignInExpired
	}
	if err != nil {
		return u, Issued{}, err
	}
	if err := s.checkCode(ctx, c, u, f, code); err != nil {
		var bad *InvalidCodeError
		if !errors.As(err, &bad) {
			// Never checked (a budget refused it): the attempt is given back.
			if rerr := s.db.RefundPendingAttempt(context.WithoutCancel(ctx), p.ID); rerr != nil {
				s.log.Error("refund pending attempt", "err", rerr)
			}
			return u, Issued{}, err
		}
		bad.AttemptsLeft = max(0, s.cfg.TwoStep.PendingAttempts-n)
		if bad.AttemptsLeft == 0 {
			s.record(ctx, c, u.ID, audit.SignIn, audit.Failure, "too many wrong codes: password needed again")
		}
		return u, Issued{}, bad
	}
	if ok, err := s.db.CompletePending(ctx, p.ID, s.now()); err != nil || !ok {
		if err != nil {
			return u, Issued{}, err
		}
		return u, Issued{}, ErrSignInExpired
	}
	iss, err := s.startSession(ctx, c, u, 2, "second_factor", false)
	if err != nil {
		return u, Issued{}, err
	}
	s.record(ctx, c, u.ID, audit.SignIn, audit.Success, "with "+f.Label)
	if f.Kind == KindRecovery {
		left, _ := s.db.RecoveryCodesLeft(ctx, f.ID)
		s.notify(ctx, u, audit.RecoveryCodeUsedToSignIn(u.Email, left))
	}
	if remember {
		tok, err := s.rememberDevice(ctx, c, u)
		if err != nil {
			return u, Issued{}, err
		}
		iss.DeviceToken = tok
	}
	return u, iss, nil
}

// rememberDevice trusts this browser for the user: a new random token,
// stored hashed, one per account, so several people sharing a browser
// each keep their own.
func (s *Service) rememberDevice(ctx context.Context, c Client, u store.User) (string, error) {
	now := s.now()
	token := secret.NewToken()
	d := store.Device{
		ID: store.NewID(), UserID: u.ID, TokenHash: secret.Hash(token), Label: DescribeAgent(c.UserAgent),
		UserAgent: truncate(c.UserAgent, 512), CreatedAt: now, LastUsedAt: now, LastIP: c.IP,
		ExpiresAt: now.Add(s.cfg.TwoStep.DeviceLifetime.D()), MaxExpiresAt: now.Add(s.cfg.TwoStep.DeviceMaxLifetime.D()),
	}
	if err := s.db.CreateDevice(ctx, d); err != nil {
		return "", err
	}
	s.record(ctx, c, u.ID, audit.DeviceRemembered, audit.Success, d.Label)
	s.notify(ctx, u, audit.BrowserRemembered(u.Email, d.Label, c.IP))
	return token, nil
}
