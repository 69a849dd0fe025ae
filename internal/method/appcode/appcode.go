// Package appcode is the authenticator-app method: codes from an RFC 6238
// app (package factor/totp does the arithmetic), each time step accepted
// once, and steps a code matched outside the window burned.
package appcode

import (
	"context"
	"fmt"
	"time"

	"twostep/internal/factor"
	"twostep/internal/factor/totp"
	"twostep/internal/method"
	"twostep/internal/secret"
	"twostep/internal/store"
)

// Store is what the method needs from the database.
type Store interface {
	AcceptStep(ctx context.Context, factorID string, step, drift int64, now time.Time) (bool, error)
	BurnStep(ctx context.Context, factorID string, step int64, expires time.Time) error
}

// Opener opens sealed secrets.
type Opener interface {
	Open(sealed, context string) ([]byte, error)
}

// Method verifies authenticator-app codes.
type Method struct {
	method.NothingToSend
	st     Store
	keys   Opener
	params totp.Params
	now    func() time.Time
}

var _ method.Method = (*Method)(nil)

// New returns the method.
func New(st Store, keys Opener, p totp.Params, now func() time.Time) *Method {
	return &Method{st: st, keys: keys, params: p, now: now}
}

// Verify checks a code. A code of a step accepted before is refused (the
// replay guard: one conditional UPDATE, so two instances cannot both
// accept it). A code that matches a step further ahead than the window
// earns the clock hint and burns that step, so a guess that hit it is
// worth nothing when the step comes round.
func (m *Method) Verify(ctx context.Context, f store.Factor, resp method.Response) (method.Result, error) {
	key, err := m.keys.Open(f.Secret, secret.TOTPKeyContext(f.ID))
	if err != nil {
		return method.Result{}, fmt.Errorf("open totp secret: %w", err)
	}
	now := m.now()
	p := m.params
	res := totp.Verify(key, resp.Code, now, p, f.LastStep)
	current := totp.Step(now, p)
	switch {
	case res.OK && f.Status == factor.Pending:
		return method.Result{OK: true, Step: res.Step, Drift: res.Step - current}, nil
	case res.OK:
		fresh, err := m.st.AcceptStep(ctx, f.ID, res.Step, res.Step-current, now)
		return method.Result{OK: fresh, Step: res.Step, Drift: res.Step - current}, err
	case res.ClockOff:
		if res.Step > current {
			until := time.Unix((res.Step+int64(p.Skew)+1)*int64(p.Period), 0)
			if err := m.st.BurnStep(ctx, f.ID, res.Step, until); err != nil {
				return method.Result{}, err
			}
		}
		return method.Result{ClockOffset: res.Offset}, nil
	}
	return method.Result{}, nil
}

// AMR: a one-time password.
func (m *Method) AMR(store.Factor) []string { return []string{"otp"} }
