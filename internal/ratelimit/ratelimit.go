// Package ratelimit keeps budgets and growing-delay throttles in the
// database, so every twostep instance sees the same counts and a restart
// forgets nothing. Two shapes cover every limit:
//
//   - a Budget allows N events per fixed window (sign-ups per address, code
//     sends per phone number);
//   - a Backoff lets a few failures through free and then makes each further
//     failure wait twice as long as the one before, up to a maximum
//     (password guesses). It slows guessing without ever locking the real
//     user out for good.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"time"

	"twostep/internal/config"
	"twostep/internal/store"
)

// Store is what the limiter needs from the database.
type Store interface {
	ReadCounter(ctx context.Context, key string) (store.Counter, error)
	ResetCounter(ctx context.Context, key string) error
	Reserve(ctx context.Context, now time.Time, wants []store.Want) (*store.Refusal, error)
	Refund(ctx context.Context, keys ...string) error
}

var _ Store = (*store.DB)(nil)

// Limited is the error for a refused request; RetryAfter says exactly when
// to come back.
type Limited struct {
	RetryAfter time.Duration
	Until      time.Time
	// Keys are the limits that refused, when a reservation was refused.
	Keys []string
}

func (e *Limited) Error() string {
	return fmt.Sprintf("rate limited: retry in %s", e.RetryAfter.Round(time.Second))
}

// Seconds is RetryAfter rounded up to whole seconds, at least 1.
func (e *Limited) Seconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// Limiter applies budgets and backoffs.
type Limiter struct {
	st  Store
	now func() time.Time
}

// New returns a limiter over st with the given clock.
func New(st Store, now func() time.Time) *Limiter {
	return &Limiter{st: st, now: now}
}

// Take spends one unit of budget b under key: Reserve of that one unit.
// It returns a *Limited error, spending nothing, once b.Limit units were
// spent in the current window.
func (l *Limiter) Take(ctx context.Context, key string, b config.Budget) error {
	return l.Reserve(ctx, BudgetWant(key, b))
}

// Delay is the wait imposed by the n-th failure past the free ones.
func Delay(b config.Backoff, n int64) time.Duration {
	d := b.Base.D()
	for i := int64(1); i < n; i++ {
		d *= 2
		if d >= b.Max.D() {
			return b.Max.D()
		}
	}
	return min(d, b.Max.D())
}

// Reset forgets key's failures.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	if err := l.st.ResetCounter(ctx, key); err != nil {
		return fmt.Errorf("ratelimit: %w", err)
	}
	return nil
}

// Exhausted returns a *Limited error when key has already spent all of
// budget b in its current window, without counting anything. Used before
// checking a code, so that while locked even a correct code is refused.
func (l *Limiter) Exhausted(ctx context.Context, key string, b config.Budget) error {
	c, err := l.st.ReadCounter(ctx, key)
	if err != nil {
		return fmt.Errorf("ratelimit: %w", err)
	}
	now := l.now()
	until := c.WindowStart.Add(b.Window.D())
	if c.Count >= int64(b.Limit) && until.After(now) {
		return &Limited{RetryAfter: until.Sub(now), Until: until}
	}
	return nil
}

// Want is one unit a request reserves before the work a limit guards.
type Want = store.Want

// BudgetWant is one unit of budget b under key.
func BudgetWant(key string, b config.Budget) Want {
	return Want{Key: key, Window: b.Window.D(), Limit: int64(b.Limit)}
}

// BackoffWant is one attempt under the growing-delay throttle b at key:
// free while fewer than b.Free were made within b.Reset, then each one
// blocks the key for Delay.
func BackoffWant(key string, b config.Backoff) Want {
	return Want{Key: key, Window: b.Reset.D(), Free: int64(b.Free), Delay: func(n int64) time.Duration { return Delay(b, n) }}
}

// Reserve spends one unit of every want before the guarded work is done,
// atomically: either all are spent, or none and a *Limited error says
// when to come back. Spending first is what makes a limit hold under
// concurrency — a limit read before slow work and counted after it lets
// every request of a burst through. Work that turns out not to be a
// failure gives its units back with Refund (or Reset).
func (l *Limiter) Reserve(ctx context.Context, wants ...Want) error {
	now := l.now()
	r, err := l.st.Reserve(ctx, now, wants)
	if err != nil {
		return fmt.Errorf("ratelimit: %w", err)
	}
	if r != nil {
		return &Limited{RetryAfter: r.Until.Sub(now), Until: r.Until, Keys: r.Keys}
	}
	return nil
}

// Refund gives back one unit reserved under each key, at once.
func (l *Limiter) Refund(ctx context.Context, keys ...string) error {
	if err := l.st.Refund(ctx, keys...); err != nil {
		return fmt.Errorf("ratelimit: %w", err)
	}
	return nil
}
