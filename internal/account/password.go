package account

import (
	"context"
	"errors"
	"strconv"

	"twostep/internal/audit"
	"twostep/internal/delivery"
	"twostep/internal/secret"
	"twostep/internal/signin"
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
	if err := s.stepup.CheckPassword(ctx, c, u, current, audit.PasswordChange); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, normNext)
	if err != nil {
		return err
	}
	now := s.now()
	// The new password, the sessions and sign-ins it ends and the e-mail
	// saying so commit together.
	note := s.mailRow(u.ID, audit.MailKind, s.audit.Message(u, audit.PasswordChanged(u.Email, now)))
	var n int64
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetPassword(ctx, u.ID, hash, now); err != nil {
			return err
		}
		var err error
		if n, err = tx.RevokeSessions(ctx, u.ID, sess.ID, now); err != nil {
			return err
		}
		if _, err := tx.RevokePendingSignins(ctx, u.ID, now); err != nil {
			return err
		}
		return tx.QueueMail(ctx, note)
	})
	if err != nil {
		return err
	}
	s.forgetCodeGuesses(ctx, u.ID)
	s.record(ctx, c, u.ID, audit.PasswordChange, audit.Success, sessionsEnded(n))
	s.pokeMail()
	return nil
}

func sessionsEnded(n int64) string {
	if n == 1 {
		return "1 other session ended"
	}
	return itoa(n) + " other sessions ended"
}

// RequestReset e-mails a single-use reset link if the address has an
// account. It answers the same, in the same time, whether or not it does:
// both paths take the same budgets, seal a message of the same size and
// run the same transaction, whose inserts match no user for an unknown
// address; the mail itself leaves in the background.
func (s *Service) RequestReset(ctx context.Context, c Client, email string) error {
	email, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := s.limiter.Take(ctx, "reset:ip:"+c.LimitAddr(), s.cfg.Limits.ResetPerAddress); err != nil {
		return err
	}
	u, err := s.db.UserByEmail(ctx, email)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// Per recipient, a quiet limit: the caller sees the same answer, the
	// mailbox is not flooded. Keyed by the address, so unknown addresses
	// spend a budget too.
	if err := s.limiter.Take(ctx, "reset:to:"+email, s.cfg.Limits.ResetPerAccount); err != nil {
		s.record(ctx, c, u.ID, audit.PasswordResetRequest, audit.Throttled, "")
		return nil
	}
	token := secret.NewToken()
	now := s.now()
	t := store.Token{
		Hash: secret.Hash(token), Kind: tokenReset, UserID: u.ID, Email: email,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.Tokens.ResetTTL.D()),
	}
	l := s.speaking(u)
	m := s.mailRow(u.ID, "password reset", delivery.Message{
		Channel: delivery.Email, To: email, Code: token,
		Subject: l.T("mail.reset_subject"),
		Body:    l.T("mail.reset_body", "Email", email, "TTL", l.Duration(s.cfg.Tokens.ResetTTL.D()), "Link", s.baseURL+"/reset-password?token="+token) + "\n",
	})
	outcome := audit.Success
	if !known {
		// The message is recorded as never sent, without its body: a
		// write of the same shape, and a trace for the operator.
		outcome = audit.UnknownEmail
		m.Sealed, m.FailedAt, m.LastError = "", now, "no account with this address"
	}
	// The same statements and writes on both paths: a transaction that
	// writes less commits faster. Only the token is not written for an
	// unknown address (it would need an account).
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateTokenForUser(ctx, t); err != nil {
			return err
		}
		if err := tx.QueueMail(ctx, m); err != nil {
			return err
		}
		return tx.AddEvent(ctx, s.event(c, u.ID, audit.PasswordResetRequest, outcome, ""))
	})
	if err != nil {
		return err
	}
	if known {
		s.pokeMail()
	}
	return nil
}

// CheckResetToken tells whether a reset link is still usable.
func (s *Service) CheckResetToken(ctx context.Context, token string) error {
	_, err := s.ResetEmail(ctx, token)
	return err
}

// ResetEmail is the address a still-usable reset link was sent to: the
// reset page names it for password managers, which file the new password
// under it.
func (s *Service) ResetEmail(ctx context.Context, token string) (string, error) {
	if !secret.WellFormedToken(token) {
		return "", ErrInvalidToken
	}
	t, err := s.db.PeekToken(ctx, secret.Hash(token), tokenReset, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrInvalidToken
	}
	if err != nil {
		return "", err
	}
	return t.Email, nil
}

// ResetPassword sets a new password with a reset link, uses up every reset
// link of the account and ends all its sessions. Remembered browsers stay,
// unless forgetBrowsers: they only skip the second step and still need
// the new password, so forgetting them would punish the owner and stop no
// one. Whoever was guessing codes with the old password is stopped too:
// the account's budgets of wrong codes start again.
//
// ResetPassword is the API's reset, which forgets the remembered browsers
// as it always has; the reset page asks (ResetPasswordWith).
func (s *Service) ResetPassword(ctx context.Context, c Client, token, next string) error {
	return s.ResetPasswordWith(ctx, c, token, next, ResetOptions{ForgetBrowsers: true})
}

// ResetOptions are the choices a reset may come with.
type ResetOptions struct {
	// ForgetBrowsers forgets the remembered browsers as well.
	ForgetBrowsers bool
}

// ResetPasswordWith is ResetPassword with the choices in o.
func (s *Service) ResetPasswordWith(ctx context.Context, c Client, token, next string, o ResetOptions) error {
	forgetBrowsers := o.ForgetBrowsers
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
	u, err := s.db.UserByID(ctx, t.UserID)
	if err != nil {
		return err
	}
	// Everything the reset changes commits together with the e-mail that
	// tells the owner, or nothing does (and the link stays usable).
	var ended int64
	var verified, cleared bool
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		now = s.now()
		if _, err := tx.ConsumeToken(ctx, hash, tokenReset, now); err != nil {
			return err
		}
		if err := tx.SetPassword(ctx, u.ID, pwHash, now); err != nil {
			return err
		}
		if err := tx.UseAllTokens(ctx, u.ID, tokenReset, now); err != nil {
			return err
		}
		var err error
		if ended, err = tx.RevokeSessions(ctx, u.ID, "", now); err != nil {
			return err
		}
		if _, err := tx.RevokePendingSignins(ctx, u.ID, now); err != nil {
			return err
		}
		if forgetBrowsers {
			if _, err := tx.DeleteDevices(ctx, u.ID); err != nil {
				return err
			}
		}
		// Opening the link proves the address. If it was never proved
		// before, any two-step set up on the account was set up by someone
		// who did not read this mailbox: it goes.
		if verified, err = tx.MarkEmailVerified(ctx, u.ID, t.Email, now); err != nil {
			return err
		}
		if verified {
			wasOn, removed, err := tx.ClearTwoStep(ctx, u.ID)
			if err != nil {
				return err
			}
			cleared = wasOn || removed > 0
		}
		// Clearing two-step removed the methods; the remembered browsers
		// then skip nothing.
		if cleared && !forgetBrowsers {
			if _, err := tx.DeleteDevices(ctx, u.ID); err != nil {
				return err
			}
		}
		r := audit.Reset{TwoStepCleared: cleared, TwoStepOn: u.TwoStepEnabled && !cleared, BrowsersForgotten: forgetBrowsers || cleared}
		note := s.mailRow(u.ID, audit.MailKind, s.audit.Message(u, audit.PasswordWasReset(u.Email, now, r)))
		return tx.QueueMail(ctx, note)
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrInvalidToken
	}
	if err != nil {
		return err
	}
	// Whoever was guessing the old password starts again from nothing, and
	// so does the owner.
	if err := s.limiter.Reset(ctx, signin.AccountKey(u.Email)); err != nil {
		s.log.Error("forget password failures after a reset", "err", err)
	}
	s.forgetCodeGuesses(ctx, u.ID)
	s.record(ctx, c, u.ID, audit.PasswordReset, audit.Success, itoa(ended)+" sessions ended")
	if verified {
		s.record(ctx, c, u.ID, audit.EmailVerified, audit.Success, "by password reset")
	}
	if cleared {
		s.record(ctx, c, u.ID, audit.TwoStepDisabled, audit.Success, "set up before the e-mail address was confirmed; cleared by password reset")
	}
	s.pokeMail()
	return nil
}

// verification builds a verification link for u: the token to store and
// the queued e-mail carrying it.
func (s *Service) verification(u store.User) (store.Token, store.Mail) {
	token := secret.NewToken()
	now := s.now()
	t := store.Token{
		Hash: secret.Hash(token), Kind: tokenVerify, UserID: u.ID, Email: u.Email,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.Tokens.VerifyTTL.D()),
	}
	l := s.speaking(u)
	m := s.mailRow(u.ID, "verification", delivery.Message{
		Channel: delivery.Email, To: u.Email, Code: token,
		Subject: l.T("mail.verify_subject"),
		Body:    l.T("mail.verify_body", "Email", u.Email, "Link", s.baseURL+"/verify-email?token="+token) + "\n",
	})
	return t, m
}

// ResendVerification sends a new verification link, within a budget.
func (s *Service) ResendVerification(ctx context.Context, c Client, u store.User) error {
	if !u.EmailVerifiedAt.IsZero() {
		return nil
	}
	if err := s.limiter.Take(ctx, "verify:acct:"+u.ID, s.cfg.Limits.VerifyPerAccount); err != nil {
		return err
	}
	t, m := s.verification(u)
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateToken(ctx, t); err != nil {
			return err
		}
		return tx.QueueMail(ctx, m)
	})
	if err != nil {
		return err
	}
	s.pokeMail()
	return nil
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
	s.record(ctx, c, t.UserID, audit.EmailVerified, audit.Success, "")
	return s.db.UserByID(ctx, t.UserID)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
