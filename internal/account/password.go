package account

import (
	"context"
	"errors"
	"strconv"
	"time"

	"twostep/internal/delivery"
	"twostep/internal/password"
	"twostep/internal/secret"
	"twostep/internal/store"
)

// Token kinds.
const (
	tokenReset  = "password_reset"
	tokenVerify = "verify_email"
)

// ChangePassword replaces the password after checking the current one, and
// ends every other session.
func (s *Service) ChangePassword(ctx context.Context, c Client, sess store.Session, current, next string) error {
	u, err := s.db.UserByID(ctx, sess.UserID)
	if err != nil {
		return err
	}
	if u.TwoStepEnabled {
		if err := s.RequireStepUp(ctx, sess, u); err != nil {
			return err
		}
	}
	normNext, err := s.policy.Check(next, u.Email)
	if err != nil {
		return err
	}
	key := "pw:change:" + u.ID
	if err := s.limiter.Check(ctx, key); err != nil {
		return err
	}
	normCur, err := password.Normalize(current)
	ok := false
	if err == nil {
		ok, _, err = s.hasher.Verify(ctx, normCur, u.PasswordHash)
	} else {
		err = s.hasher.VerifyDummy(ctx, current)
	}
	if err != nil {
		return err
	}
	if !ok {
		if _, err := s.limiter.Fail(ctx, key, s.cfg.Limits.PasswordPerAccount); err != nil {
			return err
		}
		s.record(ctx, c, u.ID, "password_change", "failure", "current password wrong")
		return ErrWrongPassword
	}
	hash, err := s.hasher.Hash(ctx, normNext)
	if err != nil {
		return err
	}
	now := s.now()
	if err := s.db.SetPassword(ctx, u.ID, hash, now); err != nil {
		return err
	}
	s.limiter.Reset(ctx, key)
	n, err := s.db.RevokeSessions(ctx, u.ID, sess.ID, now)
	if err != nil {
		return err
	}
	s.record(ctx, c, u.ID, "password_change", "success", sessionsEnded(n))
	s.notify(u, "Your password was changed", "The password of your account "+u.Email+" was changed at "+now.UTC().Format(time.RFC1123)+". Your other sessions were signed out.")
	return nil
}

func sessionsEnded(n int64) string {
	if n == 1 {
		return "1 other session ended"
	}
	return itoa(n) + " other sessions ended"
}

// RequestReset e-mails a single-use reset link if the address has an
// account. It answers the same, in the same time, whether or not it does.
func (s *Service) RequestReset(ctx context.Context, c Client, email string) error {
	email, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := s.limiter.Take(ctx, "reset:ip:"+c.IP, s.cfg.Limits.ResetPerAddress); err != nil {
		return err
	}
	u, err := s.db.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		s.record(ctx, c, "", "password_reset_request", "unknown_email", "")
		return nil
	}
	if err != nil {
		return err
	}
	// Per account, a quiet limit: the caller sees the same answer, the
	// mailbox is not flooded.
	if err := s.limiter.Take(ctx, "reset:acct:"+u.ID, s.cfg.Limits.ResetPerAccount); err != nil {
		s.record(ctx, c, u.ID, "password_reset_request", "throttled", "")
		return nil
	}
	token := secret.NewToken()
	now := s.now()
	if err := s.db.CreateToken(ctx, store.Token{
		Hash: secret.Hash(token), Kind: tokenReset, UserID: u.ID, Email: u.Email,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.Tokens.ResetTTL.D()),
	}); err != nil {
		return err
	}
	s.record(ctx, c, u.ID, "password_reset_request", "success", "")
	s.send(delivery.Message{
		Channel: delivery.Email, To: u.Email, Code: token,
		Subject: "Reset your " + s.cfg.Server.SiteName + " password",
		Body: "Someone asked to reset the password of " + u.Email + ".\n\n" +
			"Open this link to choose a new password (it works once, for " + s.cfg.Tokens.ResetTTL.D().String() + "):\n" +
			s.baseURL + "/reset-password?token=" + token + "\n\n" +
			"If it was not you, ignore this message: your password stays as it is.\n",
	}, "password reset")
	return nil
}

// CheckResetToken tells whether a reset link is still usable.
func (s *Service) CheckResetToken(ctx context.Context, token string) error {
	if !secret.WellFormedToken(token) {
		return ErrInvalidToken
	}
	if _, err := s.db.PeekToken(ctx, secret.Hash(token), tokenReset, s.now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrInvalidToken
		}
		return err
	}
	return nil
}

// ResetPassword sets a new password with a reset link, uses up every reset
// link of the account and ends all its sessions.
func (s *Service) ResetPassword(ctx context.Context, c Client, token, next string) error {
	if !secret.WellFormedToken(token) {
		return ErrInvalidToken
	}
	hash := secret.Hash(token)
	now := s.now()
	t, err := s.db.PeekToken(ctx, hash, tokenReset, now)
	if errors.Is(err, store.ErrNotFound) {
		return ErrInvalidToken
	}
	if err != nil {
		return err
	}
	// Check the new password before using the link up, so a refused
	// password does not cost the user their link.
	norm, err := s.policy.Check(next, t.Email)
	if err != nil {
		return err
	}
	pwHash, err := s.hasher.Hash(ctx, norm)
	if err != nil {
		return err
	}
	t, err = s.db.ConsumeToken(ctx, hash, tokenReset, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrInvalidToken
	}
	if err != nil {
		return err
	}
	u, err := s.db.UserByID(ctx, t.UserID)
	if err != nil {
		return err
	}
	now = s.now()
	if err := s.db.SetPassword(ctx, u.ID, pwHash, now); err != nil {
		return err
	}
	if err := s.db.UseAllTokens(ctx, u.ID, tokenReset, now); err != nil {
		return err
	}
	n, err := s.db.RevokeSessions(ctx, u.ID, "", now)
	if err != nil {
		return err
	}
	if _, err := s.db.DeleteDevices(ctx, u.ID); err != nil {
		return err
	}
	// Whoever was guessing the old password starts again from nothing, and
	// so does the owner.
	s.limiter.Reset(ctx, accountKey(u.Email))
	s.record(ctx, c, u.ID, "password_reset", "success", itoa(n)+" sessions ended")
	s.notify(u, "Your password was reset", "The password of your account "+u.Email+" was reset with an e-mailed link at "+now.UTC().Format(time.RFC1123)+". Every session was signed out.")
	return nil
}

// sendVerification e-mails a link that proves the user reads the mailbox.
func (s *Service) sendVerification(ctx context.Context, u store.User) error {
	token := secret.NewToken()
	now := s.now()
	if err := s.db.CreateToken(ctx, store.Token{
		Hash: secret.Hash(token), Kind: tokenVerify, UserID: u.ID, Email: u.Email,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.Tokens.VerifyTTL.D()),
	}); err != nil {
		return err
	}
	s.send(delivery.Message{
		Channel: delivery.Email, To: u.Email, Code: token,
		Subject: "Confirm your e-mail address for " + s.cfg.Server.SiteName,
		Body: "Welcome to " + s.cfg.Server.SiteName + ".\n\nOpen this link to confirm that " + u.Email + " is yours:\n" +
			s.baseURL + "/verify-email?token=" + token + "\n",
	}, "verification")
	return nil
}

// ResendVerification sends a new verification link, within a budget.
func (s *Service) ResendVerification(ctx context.Context, c Client, u store.User) error {
	if !u.EmailVerifiedAt.IsZero() {
		return nil
	}
	if err := s.limiter.Take(ctx, "verify:acct:"+u.ID, s.cfg.Limits.VerifyPerAccount); err != nil {
		return err
	}
	return s.sendVerification(ctx, u)
}

// VerifyEmail uses a verification link.
func (s *Service) VerifyEmail(ctx context.Context, c Client, token string) (store.User, error) {
	if !secret.WellFormedToken(token) {
		return store.User{}, ErrInvalidToken
	}
	t, err := s.db.ConsumeToken(ctx, secret.Hash(token), tokenVerify, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrInvalidToken
	}
	if err != nil {
		return store.User{}, err
	}
	if err := s.db.MarkEmailVerified(ctx, t.UserID, t.Email, s.now()); err != nil {
		return store.User{}, err
	}
	s.record(ctx, c, t.UserID, "email_verified", "success", "")
	return s.db.UserByID(ctx, t.UserID)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
