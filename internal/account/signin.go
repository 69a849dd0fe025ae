package account

import (
	"context"
	"errors"

	"twostep/internal/audit"
	"twostep/internal/delivery"
	"twostep/internal/factor"
	"twostep/internal/method"
	"twostep/internal/signin"
	"twostep/internal/store"
)

// Issued is what a successful sign-in or sign-up hands to the browser.
type Issued = signin.Issued

// Challenge is the second step of a sign-in whose password was right.
type Challenge = signin.Challenge

// ErrSignInExpired is a pending sign-in that expired, ended or had too
// many wrong codes.
var ErrSignInExpired = signin.ErrExpired

// SignIn checks an e-mail and password, and starts a session or a second
// step (signin.Service.SignIn).
//
// A right password on an account that must choose a new one is refused
// (signin.ErrPasswordResetRequired) and a fresh reset link is sent, under
// the reset link's own budgets.
func (s *Service) SignIn(ctx context.Context, c Client, email, pw string) (store.User, Issued, error) {
	u, iss, err := s.signin.SignIn(ctx, c, email, pw)
	if errors.Is(err, signin.ErrPasswordResetRequired) {
		if rerr := s.RequestReset(ctx, c, email); rerr != nil {
			s.log.Warn("reset link for a required new password", "err", rerr)
		}
	}
	return u, iss, err
}

// PendingChallenge returns the challenge a pending-sign-in cookie belongs
// to, for the challenge page.
func (s *Service) PendingChallenge(ctx context.Context, token string) (Challenge, store.User, error) {
	return s.signin.PendingChallenge(ctx, token)
}

// VerifySignIn finishes a pending sign-in with a code from one of the
// user's methods; remember asks not to be asked for codes on this browser
// again.
func (s *Service) VerifySignIn(ctx context.Context, c Client, token, methodID, code string, remember bool) (store.User, Issued, error) {
	return s.signin.VerifySignIn(ctx, c, token, methodID, code, remember)
}

// throttled records and logs a request refused by a limit.
func (s *Service) throttled(ctx context.Context, c Client, userID string, flow audit.Kind, err error) {
	s.audit.Throttled(ctx, c.Audit(), userID, flow, err)
}

// activeFactor is the user's active method id, or ErrFactorNotFound.
func (s *Service) activeFactor(ctx context.Context, userID, id string) (store.Factor, error) {
	f, err := s.db.FactorByID(ctx, userID, id, s.now())
	if err != nil || f.Status != factor.Active {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return f, err
		}
		return f, ErrFactorNotFound
	}
	return f, nil
}

// signinAccount lends the sign-in the e-mail rules, the user's methods,
// the budgeted code check and the mail queue.
type signinAccount struct{ s *Service }

var _ signin.Account = signinAccount{}

func (a signinAccount) NormalizeEmail(email string) (string, error) { return NormalizeEmail(email) }

func (a signinAccount) Methods(ctx context.Context, userID string) ([]store.Factor, error) {
	return a.s.Methods(ctx, userID)
}

func (a signinAccount) DefaultMethod(u store.User, methods []store.Factor) string {
	return defaultMethod(u, methods)
}

func (a signinAccount) ActiveFactor(ctx context.Context, userID, id string) (store.Factor, error) {
	return a.s.activeFactor(ctx, userID, id)
}

func (a signinAccount) AMR(f store.Factor) []string { return a.s.AMR(f) }

func (a signinAccount) CheckCode(ctx context.Context, c Client, u store.User, f store.Factor, resp method.Response, known bool, attemptsLeft int) (bool, error) {
	err := a.s.checkCodeAs(ctx, c, u, f, resp, known)
	var bad *InvalidCodeError
	if !errors.As(err, &bad) {
		return false, err
	}
	bad.AttemptsLeft = attemptsLeft
	return true, bad
}

func (a signinAccount) MailRow(userID, kind string, m delivery.Message) store.Mail {
	return a.s.mailRow(userID, kind, m)
}

func (a signinAccount) PokeMail() { a.s.pokeMail() }

func (a signinAccount) CompleteRecovery(ctx context.Context, c Client, u store.User) (bool, error) {
	return a.s.CompleteRecovery(ctx, c, u)
}

func (a signinAccount) EndRecoveryBySignIn(ctx context.Context, c Client, u store.User) {
	a.s.EndRecoveryBySignIn(ctx, c, u)
}
