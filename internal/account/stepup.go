package account

import (
	"context"

	"twostep/internal/method"
	"twostep/internal/stepup"
	"twostep/internal/store"
)

// StepUpRequiredError asks the user to prove themselves again: with a
// second factor when 2SV is on (Methods), with the password otherwise.
type StepUpRequiredError = stepup.RequiredError

// ErrTwoStepOff refuses a code step-up to a user with no second factor.
var ErrTwoStepOff = stepup.ErrTwoStepOff

// RequireStepUp returns nil when the session proved its user recently
// enough for a sensitive action; otherwise a *StepUpRequiredError listing
// the methods to use.
func (s *Service) RequireStepUp(ctx context.Context, sess store.Session, u store.User) error {
	return s.stepup.Require(ctx, sess, u)
}

// StepUpPassword re-verifies with the password; enough only while 2SV is
// off.
func (s *Service) StepUpPassword(ctx context.Context, c Client, sess store.Session, u store.User, pw string) error {
	return s.stepup.Password(ctx, c, sess, u, pw)
}

// StepUpCode re-verifies with a second factor.
func (s *Service) StepUpCode(ctx context.Context, c Client, sess store.Session, u store.User, methodID, code string) error {
	return s.stepup.Code(ctx, c, sess, u, methodID, code)
}

// stepupFactors lends the step-up the user's methods and the code check
// with its budgets.
type stepupFactors struct{ s *Service }

var _ stepup.Factors = stepupFactors{}

func (f stepupFactors) Methods(ctx context.Context, userID string) ([]store.Factor, error) {
	return f.s.Methods(ctx, userID)
}

func (f stepupFactors) AMR(m store.Factor) []string { return f.s.AMR(m) }

func (f stepupFactors) CheckCode(ctx context.Context, c Client, u store.User, methodID string, resp method.Response) (store.Factor, error) {
	m, err := f.s.activeFactor(ctx, u.ID, methodID)
	if err != nil {
		return m, err
	}
	return m, f.s.checkCode(ctx, c, u, m, resp)
}
