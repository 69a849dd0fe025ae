package account

import (
	"context"
	"errors"
	"time"

	"twostep/internal/store"
)

// ErrTwoStepRequired refuses everything but setting up two-step
// verification to someone whose grace period under two_step.required is
// over.
var ErrTwoStepRequired = errors.New("account: set up two-step verification first")

// policyTwoStepRequired names the two_step.required policy's mark: when
// a server first enforced it on this database.
const policyTwoStepRequired = "two_step_required"

// Requirement is where an account stands under two_step.required.
type Requirement struct {
	// Required: the policy is on and the account has no two-step
	// verification yet; it must set it up by Deadline.
	Required bool
	// PolicySince is when the policy was first enforced on this database.
	PolicySince time.Time
	// Deadline is the end of the grace period: two_step.required_grace
	// after the later of the account's creation and PolicySince.
	Deadline time.Time
	// Blocked: the grace period is over; only setting up two-step
	// verification (and signing out) is allowed.
	Blocked bool
}

// TwoStepRequirement says where u stands under two_step.required. The
// grace period counts from the later of the account's creation and the
// policy's first enforcement, so turning the policy on gives every
// existing account the whole grace period, and each new one its own.
func (s *Service) TwoStepRequirement(ctx context.Context, u store.User) (Requirement, error) {
	if !s.cfg.TwoStep.Required || u.TwoStepEnabled {
		return Requirement{}, nil
	}
	now := s.now()
	since, err := s.db.PolicySince(ctx, policyTwoStepRequired, now)
	if err != nil {
		return Requirement{}, err
	}
	start := since
	if u.CreatedAt.After(start) {
		start = u.CreatedAt
	}
	r := Requirement{Required: true, PolicySince: since, Deadline: start.Add(s.cfg.TwoStep.RequiredGrace.D())}
	r.Blocked = !now.Before(r.Deadline)
	return r, nil
}

// CheckTwoStepRequirement returns ErrTwoStepRequired when u's grace
// period is over.
func (s *Service) CheckTwoStepRequirement(ctx context.Context, u store.User) error {
	r, err := s.TwoStepRequirement(ctx, u)
	if err != nil {
		return err
	}
	if r.Blocked {
		return ErrTwoStepRequired
	}
	return nil
}
