package account

import (
	"context"
	"errors"

	"twostep/internal/audit"
	"twostep/internal/session"
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
	if err := s.limiter.Take(ctx, "signup:ip:"+c.LimitAddr(), s.cfg.Limits.SignupPerAddress); err != nil {
		return store.User{}, Issued{}, err
	}
	hash, err := s.hasher.Hash(ctx, norm)
	if err != nil {
		return store.User{}, Issued{}, err
	}
	now := s.now()
	u := store.User{ID: store.NewID(), Email: email, PasswordHash: hash, CreatedAt: now, PasswordChangedAt: now}
	// The account, its verification link and the e-mail carrying it
	// commit together: a failed write leaves no account behind.
	t, m := s.verification(u)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, t); err != nil {
			return err
		}
		return tx.QueueMail(ctx, m)
	})
	if errors.Is(err, store.ErrEmailTaken) {
		return store.User{}, Issued{}, ErrEmailTaken
	}
	if err != nil {
		return store.User{}, Issued{}, err
	}
	s.pokeMail()
	s.record(ctx, c, u.ID, audit.SignUp, audit.Success, "")
	iss, err := s.signin.StartSession(ctx, c, u, 1, "password", []string{session.AMRPassword}, false)
	if err != nil {
		return u, Issued{}, err
	}
	s.record(ctx, c, u.ID, audit.SignIn, audit.Success, "after sign-up")
	return u, iss, nil
}
