package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"twostep/internal/audit"
	"twostep/internal/factor"
	"twostep/internal/method"
	"twostep/internal/ratelimit"
	"twostep/internal/secret"
	"twostep/internal/store"
)

// InvalidCodeError is a wrong second-factor code. AttemptsLeft is set at
// the sign-in challenge; ClockOffset when the code matched a time too far
// from now to accept, which means the phone's clock is wrong.
type InvalidCodeError struct {
	AttemptsLeft int // -1 when not counted against a pending sign-in
	ClockOffset  time.Duration
}

func (e *InvalidCodeError) Error() string { return "account: wrong code" }

// ClockHint is the user-facing sentence about a phone's clock, or "".
func (e *InvalidCodeError) ClockHint() string {
	if e.ClockOffset == 0 {
		return ""
	}
	d, dir := e.ClockOffset, "ahead"
	if d < 0 {
		d, dir = -d, "behind"
	}
	return fmt.Sprintf("That code is from a different time: your phone's clock looks about %s %s. Turn on automatic date and time on your phone and try again.", roundHuman(d), dir)
}

func roundHuman(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", int(d.Seconds()))
	}
	m := int((d + 30*time.Second) / time.Minute)
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// Second-factor rate-limit keys: counted across all of a user's methods,
// apart from password failures.
func codeAccountKey(userID string) string { return "code:acct:" + userID }

func codeAccountDailyKey(userID string) string { return "code:acct:day:" + userID }

func codeAddressKey(ip string) string { return "code:ip:" + ip }

// reserveCode spends, before a code is checked, one unit of every budget
// of wrong codes the check draws on — in one atomic step, so a burst of
// concurrent guesses, on any number of instances, gets no more checks
// than the budgets allow. While a budget is spent even a correct code is
// refused, so a lockout cannot be guessed through. The per-address budget
// does not bind a browser this account has signed in with before: many
// accounts behind one address (an office, a carrier's NAT) must not lock
// out each other's owners. It returns the keys to give back when the code
// turns out right.
func (s *Service) reserveCode(ctx context.Context, c Client, userID string, known bool) ([]string, error) {
	l := s.cfg.Limits
	wants := []ratelimit.Want{
		ratelimit.BudgetWant(codeAccountKey(userID), l.CodePerAccount),
		ratelimit.BudgetWant(codeAccountDailyKey(userID), l.CodePerAccountDaily),
	}
	if !known {
		wants = append(wants, ratelimit.BudgetWant(codeAddressKey(c.LimitAddr()), l.CodePerAddress))
	}
	if err := s.limiter.Reserve(ctx, wants...); err != nil {
		var lim *ratelimit.Limited
		if errors.As(err, &lim) {
			s.throttled(ctx, c, "", audit.SecondFactor, err)
			s.record(ctx, c, userID, audit.SecondFactor, audit.Locked, strings.Join(lim.Keys, ","))
		}
		return nil, err
	}
	keys := make([]string, len(wants))
	for i, w := range wants {
		keys[i] = w.Key
	}
	return keys, nil
}

// codeRight gives back the units reserved for a code that was right.
func (s *Service) codeRight(ctx context.Context, keys []string) {
	if err := s.limiter.Refund(context.WithoutCancel(ctx), keys...); err != nil {
		s.log.Error("refund code reservation", "err", err)
	}
}

// codeWrong records a wrong code (already counted by reserveCode), and a
// lockout when it spent the last unit of a budget.
func (s *Service) codeWrong(ctx context.Context, c Client, userID, detail string) {
	s.record(ctx, c, userID, audit.SecondFactor, audit.Failure, detail)
	l := s.cfg.Limits
	for _, b := range []struct {
		key    string
		budget ratelimitBudget
	}{{codeAccountKey(userID), l.CodePerAccount}, {codeAccountDailyKey(userID), l.CodePerAccountDaily}} {
		if err := s.limiter.Exhausted(ctx, b.key, b.budget); err != nil {
			var lim *ratelimit.Limited
			if errors.As(err, &lim) {
				s.log.Warn("second-factor budget spent: codes refused", "limit", audit.LimitKind(b.key), "retry_after_s", lim.Seconds())
				s.record(ctx, c, userID, audit.SecondFactor, audit.Lockout, "too many wrong codes")
			}
			return
		}
	}
}

// checkCode verifies a code against one of the user's methods, with every
// budget of wrong codes reserved first (reserveCode) and the replay guard.
// It returns nil or an *InvalidCodeError (or a limit error).
func (s *Service) checkCode(ctx context.Context, c Client, u store.User, f store.Factor, code string) error {
	known, err := s.knownBrowser(ctx, c, u.ID)
	if err != nil {
		return err
	}
	return s.checkCodeAs(ctx, c, u, f, code, known)
}

// knownBrowser reports whether the asking browser has signed in to the
// user's account before.
func (s *Service) knownBrowser(ctx context.Context, c Client, userID string) (bool, error) {
	if !secret.WellFormedToken(c.BrowserID) {
		return false, nil
	}
	return s.db.KnownBrowser(ctx, userID, secret.Hash(c.BrowserID), s.now())
}

// checkCodeAs is checkCode for a browser already known (or not) to the
// account.
func (s *Service) checkCodeAs(ctx context.Context, c Client, u store.User, f store.Factor, code string, known bool) error {
	keys, err := s.reserveCode(ctx, c, u.ID, known)
	if err != nil {
		return err
	}
	ok, bad, err := s.evaluateCode(ctx, c, u, f, code)
	if err != nil {
		s.codeRight(ctx, keys) // not evaluated: nothing was guessed
		return err
	}
	if ok {
		s.codeRight(ctx, keys)
		return nil
	}
	detail := f.Label
	if f.Status == factor.Pending {
		detail = "confirm " + f.Label
	}
	s.codeWrong(ctx, c, u.ID, detail)
	return bad
}

// AMR is what a success with f adds to a sign-in's amr (RFC 8176), as its
// method says; nil for a kind no method handles.
func (s *Service) AMR(f store.Factor) []string {
	m, ok := s.methods.For(f.Kind)
	if !ok {
		return nil
	}
	return m.AMR(f)
}

// evaluateCode checks code against factor f through its method: true
// when it is right and what it used is consumed, a pending f then
// activated (the one activation path for every kind); else the
// wrong-code error to show.
func (s *Service) evaluateCode(ctx context.Context, c Client, u store.User, f store.Factor, code string) (bool, *InvalidCodeError, error) {
	m, ok := s.methods.For(f.Kind)
	if !ok {
		return false, nil, ErrFactorNotFound
	}
	res, err := m.Verify(ctx, f, method.Response{Code: code})
	if err != nil {
		return false, nil, err
	}
	if !res.OK {
		return false, &InvalidCodeError{AttemptsLeft: -1, ClockOffset: res.ClockOffset}, nil
	}
	if f.Status == factor.Pending {
		if err := s.db.ActivateFactor(ctx, u.ID, f.ID, res.Step, res.Drift, s.now()); err != nil {
			return false, nil, err
		}
	}
	if f.Kind == KindRecovery {
		s.record(ctx, c, u.ID, audit.RecoveryCodeUsed, audit.Success, res.Detail)
	}
	return true, nil, nil
}
