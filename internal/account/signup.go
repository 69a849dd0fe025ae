package account

import (
	"context"
	"errors"

	"twostep/internal/store"
)

// SignUp creates an account, signs it in and sends the verification link.
func (s *Service) SignUp(ctx context.Context, c Client, email, pw string) (store.User, Issued, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return store.User{}, Issued{}, err
	}
	norm, err := s.policy.Check(pw, email)
	if err != nil {
		return store.User{}, Issued{}, err
	}
	if err := s.limiter.Take(ctx, "signup:ip:"+c.IP, s.cfg.Limits.SignupPerAddress); err != nil {
		return store.User{}, Issued{}, err
	}
	hash, err := s.hasher.Hash(ctx, norm)
	if err != nil {
		return store.User{}, Issued{}, err
	}
	now := s.now()
	u := store.User{ID: store.NewID(), Email: email, PasswordHash: hash, CreatedAt: now, PasswordChangedAt: now}
	if err := s.db.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrEmailTaken) {
			return store.User{}, Issued{}, ErrEmailTaken
		}
		return store.User{}, Issued{}, err
	}
	s.record(ctx, c, u.ID, "signup", "success", "")
	if err := s.sendVerification(ctx, u); err != nil {
		s.log.Error("queue verification failed", "err", err)
	}
	iss, err := s.startSession(ctx, c, u, 1, "password", false)
	if err != nil {
		return u, Issued{}, err
	}
	s.record(ctx, c, u.ID, "signin", "success", "after sign-up")
	return u, iss, nil
}
