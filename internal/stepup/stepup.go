// Package stepup is re-verification before a sensitive action: a session
// that proved its user recently enough — with a second factor within the
// step-up window once two-step verification is on, with a password (or
// more) before — may act; any other is asked to prove it again.
package stepup

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"twostep/internal/audit"
	"twostep/internal/config"
	"twostep/internal/method"
	"twostep/internal/password"
	"twostep/internal/ratelimit"
	"twostep/internal/session"
	"twostep/internal/store"
)

// ErrTwoStepOff refuses a code step-up to a user with no second factor:
// the password is the way.
var ErrTwoStepOff = errors.New("stepup: two-step verification is off")

// ErrWrongPassword is a signed-in user's wrong password.
var ErrWrongPassword = errors.New("stepup: current password is wrong")

// RequiredError asks the user to prove themselves again: with a second
// factor when 2SV is on (Methods), with the password otherwise.
type RequiredError struct {
	Methods []store.Factor
}

func (e *RequiredError) Error() string { return "stepup: re-verification required" }

// Store marks a session as stepped up.
type Store interface {
	// MarkStepUp replaces the session's amr unless amr is empty.
	MarkStepUp(ctx context.Context, sessionID, kind string, aal int, amr []string, now time.Time) error
}

// Factors are the user's second factors: the ones to step up with, and
// the check of a code from one of them.
type Factors interface {
	// Methods lists the user's active methods.
	Methods(ctx context.Context, userID string) ([]store.Factor, error)
	// CheckCode checks a code from the user's active method methodID
	// under the budgets that limit guessing, and returns that method.
	CheckCode(ctx context.Context, c session.Client, u store.User, methodID string, resp method.Response) (store.Factor, error)
	// AMR is what a success with f adds to a session's amr (RFC 8176).
	AMR(f store.Factor) []string
}

// Hasher verifies passwords (password.Hasher).
type Hasher interface {
	Verify(ctx context.Context, pw, encoded string) (ok, needsRehash bool, err error)
	VerifyDummy(ctx context.Context, pw string) error
}

// Limiter throttles password guesses (ratelimit.Limiter).
type Limiter interface {
	Reserve(ctx context.Context, wants ...ratelimit.Want) error
	Refund(ctx context.Context, keys ...string) error
	Reset(ctx context.Context, key string) error
}

// Options wires a Service.
type Options struct {
	DB      Store
	Factors Factors
	Hasher  Hasher
	Limiter Limiter
	// Window is how long a step-up lasts.
	Window time.Duration
	// Guesses is the growing delay on a signed-in user's wrong passwords.
	Guesses config.Backoff
	Audit   *audit.Recorder
	Now     func() time.Time
	Log     *slog.Logger
}

// Service checks and renews step-ups.
type Service struct {
	db      Store
	factors Factors
	hasher  Hasher
	limiter Limiter
	window  time.Duration
	guesses config.Backoff
	audit   *audit.Recorder
	now     func() time.Time
	log     *slog.Logger
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Service{db: o.DB, factors: o.Factors, hasher: o.Hasher, limiter: o.Limiter, window: o.Window, guesses: o.Guesses, audit: o.Audit, now: o.Now, log: o.Log}
}

// Require returns nil when the session proved its user recently enough
// for a sensitive action; otherwise a *RequiredError listing the methods
// to use.
func (s *Service) Require(ctx context.Context, sess store.Session, u store.User) error {
	fresh := !sess.StepUpAt.IsZero() && s.now().Sub(sess.StepUpAt) < s.window
	if fresh && (!u.TwoStepEnabled || sess.StepUpKind == "second_factor") {
		return nil
	}
	e := &RequiredError{}
	if u.TwoStepEnabled {
		m, err := s.factors.Methods(ctx, u.ID)
		if err != nil {
			return err
		}
		e.Methods = m
	}
	return e
}

// Password re-verifies with the password; enough only while 2SV is off.
// Failures count like failed password changes.
func (s *Service) Password(ctx context.Context, c session.Client, sess store.Session, u store.User, pw string) error {
	if u.TwoStepEnabled {
		return s.Require(ctx, store.Session{}, u)
	}
	if err := s.CheckPassword(ctx, c, u, pw, audit.StepUp); err != nil {
		return err
	}
	if err := s.db.MarkStepUp(ctx, sess.ID, "password", 1, nil, s.now()); err != nil {
		return err
	}
	s.audit.Record(ctx, c.Audit(), u.ID, audit.StepUp, audit.Success, "password")
	return nil
}

// Code re-verifies with a second factor's code.
func (s *Service) Code(ctx context.Context, c session.Client, sess store.Session, u store.User, methodID, code string) error {
	return s.Verify(ctx, c, sess, u, methodID, method.Response{Code: code})
}

// Key re-verifies with a security key's answer (PublicKeyCredential JSON)
// to the ceremony begun for this session (Owner).
func (s *Service) Key(ctx context.Context, c session.Client, sess store.Session, u store.User, methodID string, credential json.RawMessage) error {
	return s.Verify(ctx, c, sess, u, methodID, method.Response{Credential: credential, Owner: Owner(sess)})
}

// Owner is what a step-up's security-key ceremony is bound to: the
// session asking.
func Owner(sess store.Session) string { return "stepup:" + sess.ID }

// Verify re-verifies with a second factor's answer.
func (s *Service) Verify(ctx context.Context, c session.Client, sess store.Session, u store.User, methodID string, resp method.Response) error {
	if !u.TwoStepEnabled {
		methods, err := s.factors.Methods(ctx, u.ID)
		if err != nil {
			return err
		}
		if len(methods) == 0 {
			return ErrTwoStepOff
		}
	}
	f, err := s.factors.CheckCode(ctx, c, u, methodID, resp)
	if err != nil {
		return err
	}
	// A one-step session now has two factors; one that had two keeps
	// the amr of its sign-in.
	var amr []string
	if sess.AAL < 2 {
		first := sess.AMR
		if len(first) == 0 {
			first = []string{session.AMRPassword}
		}
		amr = session.JoinAMR(first, s.factors.AMR(f), []string{session.AMRMultiFactor})
	}
	if err := s.db.MarkStepUp(ctx, sess.ID, "second_factor", 2, amr, s.now()); err != nil {
		return err
	}
	s.audit.Record(ctx, c.Audit(), u.ID, audit.StepUp, audit.Success, f.Label)
	return nil
}

// CheckPassword checks a signed-in person's password (a step-up, a
// password change: flow) under a growing-delay throttle of its own,
// reserved before hashing so concurrent guesses cannot outrun it.
func (s *Service) CheckPassword(ctx context.Context, c session.Client, u store.User, pw string, flow audit.Kind) error {
	key := "pw:change:" + u.ID
	if err := s.limiter.Reserve(ctx, ratelimit.BackoffWant(key, s.guesses)); err != nil {
		s.audit.Throttled(ctx, c.Audit(), u.ID, flow, err)
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
		s.audit.Record(ctx, c.Audit(), u.ID, flow, audit.Failure, "wrong password")
		return ErrWrongPassword
	}
	return s.limiter.Reset(ctx, key)
}
