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

func TestSpendAndExhausted(t *testing.T) {
	ctx := context.Background()
	lim, clock := newLimiter(t)
	b := config.Budget{Limit: 3, Window: d(time.Hour)}
	start := clock.Now()

	for i := 1; i < b.Limit; i++ {
		if err := lim.Exhausted(ctx, "k", b); err != nil {
			t.Fatalf("Exhausted before failure #%d: got %v, want nil", i, err)
		}
		if err := lim.Spend(ctx, "k", b); err != nil {
			t.Fatalf("Spend #%d of %d: got %v, want nil", i, b.Limit, err)
		}
		clock.Advance(10 * time.Minute)
	}
	// The failure that uses the budget up is reported...
	limited(t, "Spend using up the budget", lim.Spend(ctx, "k", b), 40*time.Minute, start.Add(time.Hour))
	// ...and from then on Exhausted refuses without counting.
	clock.Advance(30 * time.Minute)
	for i := 0; i < 3; i++ {
		limited(t, "Exhausted with the budget used up", lim.Exhausted(ctx, "k", b), 10*time.Minute, start.Add(time.Hour))
	}
	if err := lim.Exhausted(ctx, "other", b); err != nil {
		t.Errorf("Exhausted of another key: got %v, want nil", err)
	}
	clock.Advance(10 * time.Minute)
	if err := lim.Exhausted(ctx, "k", b); err != nil {
		t.Errorf("Exhausted when the window has ended: got %v, want nil", err)
	}
	if err := lim.Spend(ctx, "k", b); err != nil {
		t.Errorf("Spend in a new window: got %v, want nil", err)
	}
}

func TestBackoff(t *testing.T) {
	ctx := context.Background()
	lim, clock := newLimiter(t)
	b := config.Backoff{Free: 3, Base: d(time.Second), Max: d(10 * time.Second), Reset: d(time.Hour)}

	if err := lim.Check(ctx, "k"); err != nil {
		t.Fatalf("Check of a fresh key: got %v, want nil", err)
	}
	for i, want := range []time.Duration{
		0, 0, 0, // free
		time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		10 * time.Second, 10 * time.Second, // capped at Max
	} {
		got, err := lim.Fail(ctx, "k", b)
		if err != nil || got != want {
			t.Fatalf("Fail #%d: got (%v, %v), want (%v, nil)", i+1, got, err, want)
		}
		if want == 0 {
			if err := lim.Check(ctx, "k"); err != nil {
				t.Errorf("Check after free failure #%d: got %v, want nil", i+1, err)
			}
			continue
		}
		now := clock.Now()
		limited(t, fmt.Sprintf("Check right after failure #%d", i+1), lim.Check(ctx, "k"), want, now.Add(want))
		clock.Advance(want / 2)
		limited(t, fmt.Sprintf("Check half-way through block #%d", i+1), lim.Check(ctx, "k"), want-want/2, now.Add(want))
		clock.Advance(want - want/2)
		if err := lim.Check(ctx, "k"); err != nil {
			t.Errorf("Check when block #%d has passed: got %v, want nil", i+1, err)
		}
	}
	// Another key is not held back.
	if _, err := lim.Fail(ctx, "other", b); err != nil {
		t.Fatal(err)
	}
	if err := lim.Check(ctx, "other"); err != nil {
		t.Errorf("Check of another key: got %v, want nil", err)
	}

	// Reset forgets the failures and the block.
	if _, err := lim.Fail(ctx, "k", b); err != nil {
		t.Fatal(err)
	}
	if err := lim.Check(ctx, "k"); err == nil {
		t.Fatalf("Check before Reset: got nil, want a block")
	}
	if err := lim.Reset(ctx, "k"); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if err := lim.Check(ctx, "k"); err != nil {
		t.Errorf("Check after Reset: got %v, want nil", err)
	}
	for i := 1; i <= b.Free; i++ {
		if got, err := lim.Fail(ctx, "k", b); err != nil || got != 0 {
			t.Errorf("Fail #%d after Reset: got (%v, %v), want (0, nil)", i, got, err)
		}
	}
	if got, err := lim.Fail(ctx, "k", b); err != nil || got != time.Second {
		t.Errorf("first non-free Fail after Reset: got (%v, %v), want (1s, nil)", got, err)
	}
}

func TestBackoffForgetsAfterReset(t *testing.T) {
	ctx := context.Background()
	lim, clock := newLimiter(t)
	b := config.Backoff{Free: 1, Base: d(time.Second), Max: d(time.Minute), Reset: d(time.Hour)}
	for i, want := range []time.Duration{0, time.Second, 2 * time.Second} {
		if got, err := lim.Fail(ctx, "k", b); err != nil || got != want {
			t.Fatalf("Fail #%d: got (%v, %v), want (%v, nil)", i+1, got, err, want)
		}
	}
	clock.Advance(time.Hour)
	if err := lim.Check(ctx, "k"); err != nil {
		t.Errorf("Check after the reset period: got %v, want nil", err)
	}
	if got, err := lim.Fail(ctx, "k", b); err != nil || got != 0 {
		t.Errorf("Fail after the reset period: got (%v, %v), want (0, nil): failures should be forgotten", got, err)
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

func (failingStore) CountHit(context.Context, string, time.Time, time.Duration) (store.Counter, error) {
	return store.Counter{}, errStore
}
func (failingStore) Block(context.Context, string, time.Time, time.Time) error { return errStore }
func (failingStore) ReadCounter(context.Context, string) (store.Counter, error) {
	return store.Counter{}, errStore
}
func (failingStore) ResetCounter(context.Context, string) error { return errStore }

func TestStoreErrors(t *testing.T) {
	ctx := context.Background()
	lim := ratelimit.New(failingStore{}, newClock().Now)
	_, failErr := lim.Fail(ctx, "k", config.Backoff{Free: 0, Base: d(time.Second), Max: d(time.Second), Reset: d(time.Hour)})
	budget := config.Budget{Limit: 1, Window: d(time.Hour)}
	for name, err := range map[string]error{
		"Take":      lim.Take(ctx, "k", budget),
		"Check":     lim.Check(ctx, "k"),
		"Fail":      failErr,
		"Reset":     lim.Reset(ctx, "k"),
		"Spend":     lim.Spend(ctx, "k", budget),
		"Exhausted": lim.Exhausted(ctx, "k", budget),
	} {
		var l *ratelimit.Limited
		if !errors.Is(err, errStore) || errors.As(err, &l) {
			t.Errorf("%s with a failing store: got %v, want an error wrapping %v (not *Limited)", name, err, errStore)
		}
	}
}
