package account

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"twostep/internal/audit"
	"twostep/internal/config"
	"twostep/internal/factor"
	"twostep/internal/method"
	"twostep/internal/ratelimit"
	"twostep/internal/secret"
	"twostep/internal/signin"
	"twostep/internal/store"
)

// InvalidCodeError is a wrong second-factor code. AttemptsLeft is set at
// the sign-in challenge; ClockOffset when the code matched a time too far
// from now to accept, which means the phone's clock is wrong.
type InvalidCodeError struct {
	AttemptsLeft int // -1 when not counted against a pending sign-in
	ClockOffset  time.Duration
	// Credential: the answer was a security key's, not a typed code.
	Credential bool
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

// A browser that has completed a second step for the account before
// (signin.PassedMark) is judged by budgets of its own, of the account's
// sizes, instead of the account's: guessing from other browsers cannot
// lock it out, as for passwords (signin.SignIn).
//
// The worst case is unchanged: someone who only has the password has no
// such browser — getting one takes a second step passed — so all their
// guesses draw on the account's budgets, at most CodePerAccountDaily (20)
// a day, each matching at most 3 of 10^6 codes: 20 × 3 / 10^6 = 6 × 10⁻⁵
// a day, about 1 in 16,700, under the 1 in 10,000 aimed for (README,
// "Guessing a code: the worst case").
func codeBrowserKey(browserID, userID string) string {
	return "code:browser:" + signin.PassedMark(browserID)[:32] + ":" + userID
}

func codeBrowserDailyKey(browserID, userID string) string {
	return "code:browser:day:" + signin.PassedMark(browserID)[:32] + ":" + userID
}

// lockMailKey keeps the e-mail about the lockout that ends at until to one,
// however many wrong codes see it spent.
func lockMailKey(userID string, until time.Time) string {
	return "code:lockmail:" + userID + ":" + strconv.FormatInt(until.Unix(), 10)
}

// codeBudget is one budget of wrong codes a check draws on.
type codeBudget struct {
	key    string
	budget ratelimitBudget
	// account marks the account's own budgets, whose lockout the owner is
	// told about.
	account bool
}

// codeBudgets are the budgets of wrong codes a check by c draws on: its
// own when the browser has passed a second step for this account before,
// the account's otherwise; and the address's unless the browser is known
// to the account (many accounts behind one address — an office, a
// carrier's NAT — must not lock out each other's owners).
func (s *Service) codeBudgets(ctx context.Context, c Client, userID string, known bool) ([]codeBudget, error) {
	l := s.cfg.Limits
	passed, err := signin.PassedSecondStep(ctx, s.db, c, userID, s.now())
	if err != nil {
		return nil, err
	}
	var bs []codeBudget
	if passed {
		bs = []codeBudget{{key: codeBrowserKey(c.BrowserID, userID), budget: l.CodePerAccount},
			{key: codeBrowserDailyKey(c.BrowserID, userID), budget: l.CodePerAccountDaily}}
	} else {
		bs = []codeBudget{{key: codeAccountKey(userID), budget: l.CodePerAccount, account: true},
			{key: codeAccountDailyKey(userID), budget: l.CodePerAccountDaily, account: true}}
	}
	if !known && !passed {
		bs = append(bs, codeBudget{key: codeAddressKey(c.LimitAddr()), budget: l.CodePerAddress})
	}
	return bs, nil
}

// reserveCode spends, before a code is checked, one unit of every budget
// of wrong codes the check draws on (codeBudgets) — in one atomic step, so
// a burst of concurrent guesses, on any number of instances, gets no more
// checks than the budgets allow. While a budget is spent even a correct
// code is refused, so a lockout cannot be guessed through. It returns the
// budgets, whose keys are given back when the code turns out right.
func (s *Service) reserveCode(ctx context.Context, c Client, userID string, known bool) ([]codeBudget, error) {
	bs, err := s.codeBudgets(ctx, c, userID, known)
	if err != nil {
		return nil, err
	}
	wants := make([]ratelimit.Want, len(bs))
	for i, b := range bs {
		wants[i] = ratelimit.BudgetWant(b.key, b.budget)
	}
	if err := s.limiter.Reserve(ctx, wants...); err != nil {
		var lim *ratelimit.Limited
		if errors.As(err, &lim) {
			s.throttled(ctx, c, "", audit.SecondFactor, err)
			s.record(ctx, c, userID, audit.SecondFactor, audit.Locked, strings.Join(lim.Keys, ","))
		}
		return nil, err
	}
	return bs, nil
}

// AccountLocked reports whether err is a code refused because the
// account's own budget of wrong codes is spent — the lockout that a
// password change ends — rather than a browser's or an address's.
func AccountLocked(err error) (*ratelimit.Limited, bool) {
	var lim *ratelimit.Limited
	if !errors.As(err, &lim) {
		return nil, false
	}
	for _, k := range lim.Keys {
		if strings.HasPrefix(k, "code:acct:") {
			return lim, true
		}
	}
	return lim, false
}

// codeRight gives back the units reserved for a code that was right.
func (s *Service) codeRight(ctx context.Context, bs []codeBudget) {
	keys := make([]string, len(bs))
	for i, b := range bs {
		keys[i] = b.key
	}
	if err := s.limiter.Refund(context.WithoutCancel(ctx), keys...); err != nil {
		s.log.Error("refund code reservation", "err", err)
	}
}

// codeWrong records a wrong code (already counted by reserveCode), and a
// lockout when it spent the last unit of a budget. When that budget is the
// account's, the owner is told at once by e-mail — once per lockout,
// however many wrong codes find it spent.
func (s *Service) codeWrong(ctx context.Context, c Client, u store.User, bs []codeBudget, detail string) {
	s.record(ctx, c, u.ID, audit.SecondFactor, audit.Failure, detail)
	for _, b := range bs {
		if b.key == codeAddressKey(c.LimitAddr()) {
			continue
		}
		err := s.limiter.Exhausted(ctx, b.key, b.budget)
		var lim *ratelimit.Limited
		if !errors.As(err, &lim) {
			if err != nil {
				s.log.Error("read second-factor budget", "err", err)
			}
			continue
		}
		s.log.Warn("second-factor budget spent: codes refused", "limit", audit.LimitKind(b.key), "retry_after_s", lim.Seconds())
		if !b.account {
			s.record(ctx, c, u.ID, audit.SecondFactor, audit.Lockout, "too many wrong codes on one browser")
			return
		}
		// Only the first to see this lockout tells the owner.
		once := config.Budget{Limit: 1, Window: config.Duration(lim.RetryAfter + time.Minute)}
		if s.limiter.Take(ctx, lockMailKey(u.ID, lim.Until), once) != nil {
			return
		}
		s.record(ctx, c, u.ID, audit.SecondFactor, audit.Lockout, "too many wrong codes; the owner was told by e-mail")
		s.notify(ctx, u, audit.SecondStepLocked(u.Email, lim.Until, s.baseURL))
		return
	}
}

// forgetCodeGuesses clears the account's budgets of wrong codes: after a
// password reset or change, whoever was guessing no longer has the
// password, and the owner must not stay locked out by their guesses.
func (s *Service) forgetCodeGuesses(ctx context.Context, userID string) {
	for _, k := range []string{codeAccountKey(userID), codeAccountDailyKey(userID)} {
		if err := s.limiter.Reset(context.WithoutCancel(ctx), k); err != nil {
			s.log.Error("forget wrong codes after a password change", "err", err)
		}
	}
}

// checkCode verifies a code against one of the user's methods, with every
// budget of wrong codes reserved first (reserveCode) and the replay guard.
// It returns nil or an *InvalidCodeError (or a limit error).
func (s *Service) checkCode(ctx context.Context, c Client, u store.User, f store.Factor, resp method.Response) error {
	known, err := s.knownBrowser(ctx, c, u.ID)
	if err != nil {
		return err
	}
	if err := s.checkCodeAs(ctx, c, u, f, resp, known); err != nil {
		return err
	}
	s.markPassed(ctx, c, u.ID)
	return nil
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
func (s *Service) checkCodeAs(ctx context.Context, c Client, u store.User, f store.Factor, resp method.Response, known bool) error {
	bs, err := s.reserveCode(ctx, c, u.ID, known)
	if err != nil {
		return err
	}
	ok, bad, err := s.evaluateCode(ctx, c, u, f, resp)
	if err != nil {
		s.codeRight(ctx, bs) // not evaluated: nothing was guessed
		return err
	}
	if ok {
		s.codeRight(ctx, bs)
		return nil
	}
	detail := f.Label
	if f.Status == factor.Pending {
		detail = "confirm " + f.Label
	}
	s.codeWrong(ctx, c, u, bs, detail)
	return bad
}

// markPassed notes that the browser c, signed in, just passed a second
// step (a step-up, a confirmed method): from now on its wrong codes are
// judged apart from the account's. A sign-in notes it in the transaction
// that completes it (signin.Service.VerifySignIn), where the browser may
// only then get its id.
func (s *Service) markPassed(ctx context.Context, c Client, userID string) {
	if !secret.WellFormedToken(c.BrowserID) {
		return
	}
	now := s.now()
	if err := s.db.RememberBrowser(ctx, userID, signin.PassedMark(c.BrowserID), now, s.sessions.KnownUntil(now)); err != nil {
		s.log.Error("note a browser that passed a second step", "err", err)
	}
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
func (s *Service) evaluateCode(ctx context.Context, c Client, u store.User, f store.Factor, resp method.Response) (bool, *InvalidCodeError, error) {
	m, ok := s.methods.For(f.Kind)
	if !ok {
		return false, nil, ErrFactorNotFound
	}
	res, err := m.Verify(ctx, f, resp)
	if err != nil {
		return false, nil, s.keyRefused(ctx, c, u, f, err)
	}
	if !res.OK {
		return false, &InvalidCodeError{AttemptsLeft: -1, ClockOffset: res.ClockOffset, Credential: f.Kind == factor.WebAuthn}, nil
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
