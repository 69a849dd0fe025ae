// Package recoverycode is the recovery-code method: single-use codes
// (package factor/recovery makes and hashes them), each consumed with one
// conditional UPDATE.
package recoverycode

import (
	"context"
	"fmt"
	"time"

	"twostep/internal/factor/recovery"
	"twostep/internal/method"
	"twostep/internal/store"
)

// Store is what the method needs from the database.
type Store interface {
	ConsumeRecoveryCode(ctx context.Context, factorID, hash string, now time.Time) (bool, error)
	RecoveryCodesLeft(ctx context.Context, factorID string) (int, error)
}

// Method verifies recovery codes.
type Method struct {
	method.NothingToSend
	st     Store
	pepper []byte
	now    func() time.Time
}

var _ method.Method = (*Method)(nil)

// New returns the method; pepper keys the codes' hashes.
func New(st Store, pepper []byte, now func() time.Time) *Method {
	return &Method{st: st, pepper: pepper, now: now}
}

// Verify consumes one unused code of the set (case, spaces and dashes do
// not matter).
func (m *Method) Verify(ctx context.Context, f store.Factor, resp method.Response) (method.Result, error) {
	n, ok := recovery.Normalize(resp.Code)
	if !ok {
		return method.Result{}, nil
	}
	used, err := m.st.ConsumeRecoveryCode(ctx, f.ID, recovery.Hash(m.pepper, f.UserID, n), m.now())
	if err != nil || !used {
		return method.Result{}, err
	}
	left, err := m.st.RecoveryCodesLeft(ctx, f.ID)
	if err != nil {
		return method.Result{}, err
	}
	return method.Result{OK: true, Detail: fmt.Sprintf("%d left", left)}, nil
}

// AMR: a one-time password.
func (m *Method) AMR(store.Factor) []string { return []string{"otp"} }
