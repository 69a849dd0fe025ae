// Package sentcode is the method of codes sent by text message, voice
// call or e-mail: 6 digits, stored as a keyed hash, with a few attempts
// each, spent before the typed code is compared.
package sentcode

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"twostep/internal/factor"
	"twostep/internal/method"
	"twostep/internal/session"
	"twostep/internal/store"
)

// Store is what verifying needs from the database.
type Store interface {
	ReserveSentCodeAttempt(ctx context.Context, factorID string, now time.Time, maxAttempts int) (store.SentCode, error)
	UseSentCode(ctx context.Context, id string, now time.Time, maxAttempts int) (bool, error)
}

// SendFunc delivers a code for f by a channel, after the cooldown and the
// send budgets (account.Service owns them).
type SendFunc func(ctx context.Context, c session.Client, f store.Factor, via factor.Kind) (method.Challenge, error)

// Method verifies sent codes and begins by sending one.
type Method struct {
	st       Store
	pepper   []byte
	attempts int
	send     SendFunc
	now      func() time.Time
}

var _ method.Method = (*Method)(nil)

// New returns the method: pepper keys the codes' hashes, attempts is how
// many tries each code allows, send delivers one.
func New(st Store, pepper []byte, attempts int, send SendFunc, now func() time.Time) *Method {
	return &Method{st: st, pepper: pepper, attempts: attempts, send: send, now: now}
}

// CodeHash is how a sent code is stored: HMAC-SHA-256 under the server
// pepper, bound to its factor.
func CodeHash(pepper []byte, factorID, code string) string {
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte("code\x00" + factorID + "\x00" + code))
	return hex.EncodeToString(m.Sum(nil))
}

// Begin sends a code.
func (m *Method) Begin(ctx context.Context, c session.Client, f store.Factor, via factor.Kind) (method.Challenge, error) {
	return m.send(ctx, c, f, via)
}

// Verify spends one attempt of the factor's live code, then compares in
// constant time and, when right, uses the code up.
func (m *Method) Verify(ctx context.Context, f store.Factor, resp method.Response) (method.Result, error) {
	now := m.now()
	live, err := m.st.ReserveSentCodeAttempt(ctx, f.ID, now, m.attempts)
	if errors.Is(err, store.ErrNotFound) {
		return method.Result{}, nil
	}
	if err != nil {
		return method.Result{}, err
	}
	digits := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, resp.Code)
	if len(digits) != 6 || !hmac.Equal([]byte(CodeHash(m.pepper, f.ID, digits)), []byte(live.CodeHash)) {
		return method.Result{}, nil
	}
	ok, err := m.st.UseSentCode(ctx, live.ID, now, m.attempts)
	return method.Result{OK: ok}, err
}

// AMR: "sms" for a text, "tel" for a call, "otp" for an e-mailed code.
func (m *Method) AMR(f store.Factor) []string {
	switch f.Kind {
	case factor.SMS:
		return []string{"sms"}
	case factor.Voice:
		return []string{"tel"}
	}
	return []string{"otp"}
}
