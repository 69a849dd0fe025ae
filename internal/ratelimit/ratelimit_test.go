package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"twostep/internal/config"
	"twostep/internal/ratelimit"
	"twostep/internal/store"
)

func d(v time.Duration) config.Duration { return config.Duration(v) }

// clock is a settable clock. (testenv has one too, but importing testenv
// would pull in the whole app; these tests need only the store.)
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// newLimiter returns a limiter over a fresh SQLite store and the clock it
// reads.
func newLimiter(t *testing.T) (*ratelimit.Limiter, *clock) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+t.TempDir()+"/twostep.db", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c := newClock()
	return ratelimit.New(db, c.Now), c
}

// limited asserts that err is a *ratelimit.Limited with exactly retry and
// until.
func limited(t *testing.T, what string, err error, retry time.Duration, until time.Time) {
	t.Helper()
	var l *ratelimit.Limited
	if !errors.As(err, &l) {
		t.Errorf("%s: got %v, want *ratelimit.Limited{RetryAfter: %v}", what, err, retry)
		return
	}
	if l.RetryAfter != retry || !l.Until.Equal(until) {
		t.Errorf("%s: got RetryAfter %v, Until %v; want %v, %v", what, l.RetryAfter, l.Until, retry, until)
	}
}

func TestTake(t *testing.T) {
	ctx := context.Background()
	lim, clock := newLimiter(t)
	b := config.Budget{Limit: 3, Window: d(time.Hour)}
	start := clock.Now()

	for i := 1; i <= b.Limit; i++ {
		if err := lim.Take(ctx, "k", b); err != nil {
			t.Fatalf("Take #%d of %d: got %v, want nil", i, b.Limit, err)
		}
		clock.Advance(10 * time.Minute)
	}
	// 30 minutes into the window: the next take waits for the other 30.
	limited(t, "Take over the limit", lim.Take(ctx, "k", b), 30*time.Minute, start.Add(time.Hour))
	clock.Advance(29*time.Minute + 59*time.Second + 500*time.Millisecond)
	err := lim.Take(ctx, "k", b)
	limited(t, "Take just before the window ends", err, 500*time.Millisecond, start.Add(time.Hour))
	var l *ratelimit.Limited
	if errors.As(err, &l) && l.Seconds() != 1 {
		t.Errorf("Seconds() for 500ms: got %d, want 1", l.Seconds())
	}

	// Another key has its own budget.
	if err := lim.Take(ctx, "other", b); err != nil {
		t.Errorf("Take of another key: got %v, want nil", err)
	}

	// A new window starts when the old one ends.
	clock.Advance(500 * time.Millisecond)
	for i := 1; i <= b.Limit; i++ {
		if err := lim.Take(ctx, "k", b); err != nil {
			t.Fatalf("Take #%d in the next window: got %v, want nil", i, err)
		}
	}
	limited(t, "Take over the limit in the next window", lim.Take(ctx, "k", b), time.Hour, start.Add(2*time.Hour))
}

func TestReserveBudgetAndExhausted(t *testing.T) {
	ctx := context.Background()
	lim, clock := newLimiter(t)
	b := config.Budget{Limit: 3, Window: d(time.Hour)}
	want := ratelimit.BudgetWant("k", b)
	start := clock.Now()

	for i := 1; i <= b.Limit; i++ {
		if err := lim.Exhausted(ctx, "k", b); err != nil {
			t.Fatalf("Exhausted before unit #%d: got %v, want nil", i, err)
		}
		if err := lim.Reserve(ctx, want); err != nil {
			t.Fatalf("Reserve #%d of %d: got %v, want nil", i, b.Limit, err)
		}
		clock.Advance(10 * time.Minute)
	}
	// Spent: both refuse until the window ends, and a refusal counts nothing.
	for i := 0; i < 3; i++ {
		limited(t, "Reserve with the budget spent", lim.Reserve(ctx, want), 30*time.Minute, start.Add(time.Hour))
		limited(t, "Exhausted with the budget spent", lim.Exhausted(ctx, "k", b), 30*time.Minute, start.Add(time.Hour))
	}
	// A refund gives one unit back.
	if err := lim.Refund(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := lim.Reserve(ctx, want); err != nil {
		t.Errorf("Reserve after a refund: got %v, want nil", err)
	}
	if err := lim.Reserve(ctx, ratelimit.BudgetWant("other", b)); err != nil {
		t.Errorf("Reserve of another key: got %v, want nil", err)
	}
	clock.Advance(30 * time.Minute)
	if err := lim.Exhausted(ctx, "k", b); err != nil {
		t.Errorf("Exhausted when the window has ended: got %v, want nil", err)
	}
	if err := lim.Reserve(ctx, want); err != nil {
		t.Errorf("Reserve in a new window: got %v, want nil", err)
	}
}

func TestReserveBackoff(t *testing.T) {
	ctx := context.Background()
	lim, clock := newLimiter(t)
	b := config.Backoff{Free: 3, Base: d(time.Second), Max: d(10 * time.Second), Reset: d(time.Hour)}
	want := ratelimit.BackoffWant("k", b)

	for i, delay := range []time.Duration{
		0, 0, 0, // free
		time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		10 * time.Second, 10 * time.Second, // capped at Max
	} {
		if err := lim.Reserve(ctx, want); err != nil {
			t.Fatalf("Reserve #%d: got %v, want nil", i+1, err)
		}
		if delay == 0 {
			continue
		}
		now := clock.Now()
		limited(t, fmt.Sprintf("Reserve right after attempt #%d", i+1), lim.Reserve(ctx, want), delay, now.Add(delay))
		clock.Advance(delay / 2)
		limited(t, fmt.Sprintf("Reserve half-way through block #%d", i+1), lim.Reserve(ctx, want), delay-delay/2, now.Add(delay))
		clock.Advance(delay - delay/2)
	}
	// Another key is not held back.
	if err := lim.Reserve(ctx, ratelimit.BackoffWant("other", b)); err != nil {
		t.Errorf("Reserve of another key: got %v, want nil", err)
	}
	// All or nothing: with "k" blocked, "fresh" is not charged.
	if err := lim.Reserve(ctx, want); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := lim.Reserve(ctx, ratelimit.BackoffWant("fresh", b), want); err == nil {
			t.Fatal("Reserve with a blocked want: got nil")
		}
	}
	for i := 1; i <= b.Free; i++ {
		if err := lim.Reserve(ctx, ratelimit.BackoffWant("fresh", b)); err != nil {
			t.Fatalf("fresh was charged by refused reservations: attempt #%d refused: %v", i, err)
		}
	}

	// Reset forgets the attempts and the block.
	if err := lim.Reset(ctx, "k"); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	for i := 1; i <= b.Free+1; i++ {
		if err := lim.Reserve(ctx, want); err != nil {
			t.Errorf("Reserve #%d after Reset: got %v, want nil", i, err)
		}
	}
	limited(t, "after Reset, the first delay", lim.Reserve(ctx, want), time.Second, clock.Now().Add(time.Second))
}

func TestBackoffForgetsAfterResetPeriod(t *testing.T) {
	ctx := context.Background()
	lim, clock := newLimiter(t)
	b := config.Backoff{Free: 1, Base: d(time.Second), Max: d(time.Minute), Reset: d(time.Hour)}
	want := ratelimit.BackoffWant("k", b)
	for i := 0; i < 2; i++ {
		if err := lim.Reserve(ctx, want); err != nil {
			t.Fatalf("Reserve #%d: %v", i+1, err)
		}
	}
	if err := lim.Reserve(ctx, want); err == nil {
		t.Fatal("no block after the free attempt and one more")
	}
	clock.Advance(time.Hour)
	for i := 0; i < 2; i++ {
		if err := lim.Reserve(ctx, want); err != nil {
			t.Errorf("Reserve #%d after the reset period: got %v, want nil: attempts should be forgotten", i+1, err)
		}
	}
}

func TestDelay(t *testing.T) {
	for _, tt := range []struct {
		base, max time.Duration
		n         int64
		want      time.Duration
	}{
		{time.Second, 10 * time.Second, 1, time.Second},
		{time.Second, 10 * time.Second, 2, 2 * time.Second},
		{time.Second, 10 * time.Second, 3, 4 * time.Second},
		{time.Second, 10 * time.Second, 4, 8 * time.Second},
		{time.Second, 10 * time.Second, 5, 10 * time.Second},
		{time.Second, 10 * time.Second, 6, 10 * time.Second},
		{time.Second, 8 * time.Second, 4, 8 * time.Second}, // exactly Max
		{time.Second, time.Second, 1, time.Second},
		{time.Second, time.Second, 2, time.Second},
		{3 * time.Second, 10 * time.Second, 3, 10 * time.Second}, // 12s capped
		{time.Second, 15 * time.Minute, 11, 15 * time.Minute},    // 1024s capped
		{time.Second, 15 * time.Minute, 10, 512 * time.Second},
		// Far past the cap: no overflow into negative or tiny delays.
		{time.Second, 15 * time.Minute, 64, 15 * time.Minute},
		{time.Second, 15 * time.Minute, 1 << 40, 15 * time.Minute},
		{time.Hour, 24 * time.Hour, 100, 24 * time.Hour},
	} {
		b := config.Backoff{Free: 0, Base: d(tt.base), Max: d(tt.max), Reset: d(time.Hour)}
		if got := ratelimit.Delay(b, tt.n); got != tt.want {
			t.Errorf("Delay(base %v, max %v, n %d): got %v, want %v", tt.base, tt.max, tt.n, got, tt.want)
		}
	}
}

func TestLimitedError(t *testing.T) {
	for _, tt := range []struct {
		retry time.Duration
		secs  int
		text  string
	}{
		{0, 1, "0s"},
		{time.Microsecond, 1, "0s"},
		{time.Second, 1, "1s"},
		{1500 * time.Millisecond, 2, "2s"},
		{30 * time.Minute, 1800, "30m0s"},
		{30*time.Minute + time.Nanosecond, 1801, "30m0s"},
	} {
		l := &ratelimit.Limited{RetryAfter: tt.retry}
		if got := l.Seconds(); got != tt.secs {
			t.Errorf("Seconds() for %v: got %d, want %d", tt.retry, got, tt.secs)
		}
		if got := l.Error(); !strings.Contains(got, tt.text) {
			t.Errorf("Error() for %v: got %q, want it to contain %q", tt.retry, got, tt.text)
		}
	}
}

// failingStore makes every call fail, to check errors are passed on.
type failingStore struct{}

var errStore = errors.New("database down")

func (failingStore) ReadCounter(context.Context, string) (store.Counter, error) {
	return store.Counter{}, errStore
}
func (failingStore) ResetCounter(context.Context, string) error { return errStore }
func (failingStore) Reserve(context.Context, time.Time, []store.Want) (*store.Refusal, error) {
	return nil, errStore
}
func (failingStore) Refund(context.Context, ...string) error { return errStore }

func TestStoreErrors(t *testing.T) {
	ctx := context.Background()
	lim := ratelimit.New(failingStore{}, newClock().Now)
	budget := config.Budget{Limit: 1, Window: d(time.Hour)}
	for name, err := range map[string]error{
		"Take":      lim.Take(ctx, "k", budget),
		"Reserve":   lim.Reserve(ctx, ratelimit.BackoffWant("k", config.Backoff{Free: 0, Base: d(time.Second), Max: d(time.Second), Reset: d(time.Hour)})),
		"Refund":    lim.Refund(ctx, "k"),
		"Reset":     lim.Reset(ctx, "k"),
		"Exhausted": lim.Exhausted(ctx, "k", budget),
	} {
		var l *ratelimit.Limited
		if !errors.Is(err, errStore) || errors.As(err, &l) {
			t.Errorf("%s with a failing store: got %v, want an error wrapping %v (not *Limited)", name, err, errStore)
		}
	}
}
