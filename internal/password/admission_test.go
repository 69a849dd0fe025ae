package password

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// The admission tests never depend on how long a real hash takes: the
// test holds the slots itself (a "hash" that runs until the test releases
// it), the rate is set or measured on a fake clock, and the hashes that
// queue use testParams, which cost next to nothing.

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newQueueHasher returns a Hasher with size slots, lanes of which get a
// core each, a maximum wait, and a measured cost of cost per hash (0: not
// measured yet), whose admission reads the returned fake clock.
func newQueueHasher(t *testing.T, size, lanes int, maxWait, cost time.Duration) (*Hasher, *fakeClock) {
	t.Helper()
	h := NewHasher(testParams, size, maxWait)
	c := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	h.adm.mu.Lock()
	h.adm.now, h.adm.lanes, h.adm.cost = c.now, lanes, cost
	h.adm.mu.Unlock()
	return h, c
}

// hold takes n slots, as n hashes that run until the test releases them.
func hold(t *testing.T, a *admission, n int) []ticket {
	t.Helper()
	var ts []ticket
	for range n {
		tk, err := a.acquire(t.Context())
		if err != nil {
			t.Fatalf("acquire a free slot: %v", err)
		}
		ts = append(ts, tk)
	}
	return ts
}

// waitQueued waits until n hashes wait in a's queue.
func waitQueued(t *testing.T, a *admission, n int) {
	t.Helper()
	for {
		a.mu.Lock()
		got := a.queue.Len()
		a.mu.Unlock()
		if got == n {
			return
		}
		if got > n {
			t.Fatalf("%d hashes queued, want %d", got, n)
		}
		runtime.Gosched()
	}
}

func (a *admission) state() (running, waiting int, cost time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.running, a.queue.Len(), a.cost
}

// TestAdmissionByExpectedWait: two slots on two cores at 1 s per hash
// drain 2 hashes a second, so with a 10 s maximum wait the 20 hashes that
// find the slots taken wait their turn and all succeed, and the 21st is
// refused at once (the test never releases a slot before it is answered)
// with a Retry-After of the whole queue's drain: (2 running + 20 waiting)
// ÷ 2 per second = 11 s.
func TestAdmissionByExpectedWait(t *testing.T) {
	h, _ := newQueueHasher(t, 2, 2, 10*time.Second, time.Second)
	held := hold(t, h.adm, 2)

	const queued = 20
	errs := make(chan error, queued)
	for i := range queued {
		go func() {
			_, err := h.Hash(t.Context(), "pw")
			errs <- err
		}()
		waitQueued(t, h.adm, i+1)
	}

	enc, err := h.Hash(t.Context(), "pw")
	var busy *BusyError
	if !errors.As(err, &busy) || !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash behind a full queue = %q, %v; want a *BusyError wrapping ErrBusy", enc, err)
	}
	if busy.RetryAfter != 11*time.Second || busy.Seconds() != 11 || RetryAfterSeconds(err) != 11 {
		t.Errorf("RetryAfter = %v (%d s), want 11s", busy.RetryAfter, busy.Seconds())
	}
	if _, _, err := h.Verify(t.Context(), "pw", h.dummy); !errors.Is(err, ErrBusy) {
		t.Errorf("Verify behind a full queue = %v, want ErrBusy", err)
	}
	if err := h.VerifyDummy(t.Context(), "pw"); !errors.Is(err, ErrBusy) {
		t.Errorf("VerifyDummy behind a full queue = %v, want ErrBusy", err)
	}

	for _, tk := range held {
		h.adm.release(tk, false)
	}
	for range queued {
		if err := <-errs; err != nil {
			t.Errorf("queued Hash = %v, want nil", err)
		}
	}
	if running, waiting, _ := h.adm.state(); running != 0 || waiting != 0 {
		t.Errorf("after the queue drained: %d running, %d waiting; want 0, 0", running, waiting)
	}
}

// TestAdmissionRate: hash durations on the clock move the cost (1/8 of
// each new sample), more hashes than cores count as sharing them, hashes
// at other costs are left out, and admission follows the measured rate.
func TestAdmissionRate(t *testing.T) {
	t.Run("first sample", func(t *testing.T) {
		h, c := newQueueHasher(t, 1, 1, 10*time.Second, 0)
		tk := hold(t, h.adm, 1)[0]
		c.advance(2 * time.Second)
		h.adm.release(tk, true)
		if _, _, cost := h.adm.state(); cost != 2*time.Second {
			t.Errorf("cost after one 2s hash = %v, want 2s", cost)
		}
	})
	t.Run("moving average", func(t *testing.T) {
		h, c := newQueueHasher(t, 1, 1, 10*time.Second, time.Second)
		tk := hold(t, h.adm, 1)[0]
		c.advance(3 * time.Second)
		h.adm.release(tk, true)
		if _, _, cost := h.adm.state(); cost != 1250*time.Millisecond {
			t.Errorf("cost after 1s then a 3s hash = %v, want 1.25s (1s + (3s-1s)/8)", cost)
		}
	})
	t.Run("shared cores", func(t *testing.T) {
		// Four hashes on two cores: each took 4 s but had half a core.
		h, c := newQueueHasher(t, 4, 2, 10*time.Second, 2*time.Second)
		held := hold(t, h.adm, 4)
		c.advance(4 * time.Second)
		h.adm.release(held[0], true)
		if _, _, cost := h.adm.state(); cost != 2*time.Second {
			t.Errorf("cost after four 4s hashes on two cores = %v, want 2s", cost)
		}
	})
	t.Run("other costs left out", func(t *testing.T) {
		h, c := newQueueHasher(t, 1, 1, 10*time.Second, time.Second)
		tk := hold(t, h.adm, 1)[0]
		c.advance(time.Minute)
		h.adm.release(tk, false)
		if _, _, cost := h.adm.state(); cost != time.Second {
			t.Errorf("cost after an unmeasured hash = %v, want 1s", cost)
		}
	})
	t.Run("admission follows", func(t *testing.T) {
		// Measured at 2 s a hash on one slot, a 10 s wait admits five.
		h, c := newQueueHasher(t, 1, 1, 10*time.Second, 0)
		tk := hold(t, h.adm, 1)[0]
		c.advance(2 * time.Second)
		h.adm.release(tk, true)
		tk = hold(t, h.adm, 1)[0]
		errs := make(chan error, 5)
		for i := range 5 {
			go func() {
				_, err := h.Hash(t.Context(), "pw")
				errs <- err
			}()
			waitQueued(t, h.adm, i+1)
		}
		_, err := h.Hash(t.Context(), "pw")
		if RetryAfterSeconds(err) != 12 || !errors.Is(err, ErrBusy) {
			t.Errorf("sixth waiter = %v, want ErrBusy with retry after 12s", err)
		}
		h.adm.release(tk, false)
		for range 5 {
			if err := <-errs; err != nil {
				t.Errorf("queued Hash = %v, want nil", err)
			}
		}
	})
	t.Run("unmeasured", func(t *testing.T) {
		// Before any measurement nothing is refused on a guess.
		h, _ := newQueueHasher(t, 1, 1, time.Nanosecond, 0)
		tk := hold(t, h.adm, 1)[0]
		done := make(chan error)
		go func() {
			_, err := h.Hash(t.Context(), "pw")
			done <- err
		}()
		waitQueued(t, h.adm, 1)
		h.adm.release(tk, false)
		if err := <-done; err != nil {
			t.Errorf("Hash before any measurement = %v, want nil", err)
		}
	})
}

// TestAdmissionNoWait: a maximum wait of zero refuses whatever finds the
// slots taken.
func TestAdmissionNoWait(t *testing.T) {
	h, _ := newQueueHasher(t, 1, 1, 0, time.Millisecond)
	hold(t, h.adm, 1)
	if _, err := h.Hash(t.Context(), "pw"); !errors.Is(err, ErrBusy) {
		t.Errorf("Hash with maxWait 0 and the slot held = %v, want ErrBusy", err)
	}
}

// TestAdmissionOrderAndCancel: slots go to the oldest waiter, and one
// whose context ends leaves the line without taking a slot.
func TestAdmissionOrderAndCancel(t *testing.T) {
	h, _ := newQueueHasher(t, 1, 1, time.Hour, time.Second)
	tk := hold(t, h.adm, 1)[0]

	ctx, cancel := context.WithCancel(t.Context())
	gone := make(chan error)
	go func() {
		_, err := h.adm.acquire(ctx)
		gone <- err
	}()
	waitQueued(t, h.adm, 1)
	got := make(chan int, 2)
	for i := range 2 {
		go func() {
			tk, err := h.adm.acquire(t.Context())
			if err != nil {
				t.Errorf("waiter %d: %v", i, err)
				return
			}
			got <- i
			h.adm.release(tk, false)
		}()
		waitQueued(t, h.adm, i+2)
	}
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Errorf("acquire with a cancelled context = %v, want context.Canceled", err)
	}
	waitQueued(t, h.adm, 2)

	h.adm.release(tk, false)
	if first, second := <-got, <-got; first != 0 || second != 1 {
		t.Errorf("slots went to waiters %d, %d; want 0, 1", first, second)
	}
	if running, waiting, _ := h.adm.state(); running != 0 || waiting != 0 {
		t.Errorf("after all released: %d running, %d waiting; want 0, 0", running, waiting)
	}
}

// TestAdmissionSlowRunningHash: a hash still running after 5 s shows a
// cost of at least 5 s before it finishes, so with a 10 s maximum wait
// only two more may wait behind it, although the average says 1 s.
func TestAdmissionSlowRunningHash(t *testing.T) {
	h, c := newQueueHasher(t, 1, 1, 10*time.Second, time.Second)
	tk := hold(t, h.adm, 1)[0]
	c.advance(5 * time.Second)
	errs := make(chan error, 2)
	for i := range 2 {
		go func() {
			_, err := h.Hash(t.Context(), "pw")
			errs <- err
		}()
		waitQueued(t, h.adm, i+1)
	}
	_, err := h.Hash(t.Context(), "pw")
	if RetryAfterSeconds(err) != 15 || !errors.Is(err, ErrBusy) {
		t.Errorf("third waiter behind a 5s-old hash = %v, want ErrBusy with retry after 15s", err)
	}
	h.adm.release(tk, true)
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("queued Hash = %v, want nil", err)
		}
	}
	if running, waiting, cost := h.adm.state(); running != 0 || waiting != 0 || cost != 1148437500*time.Nanosecond {
		// 1s + (5s-1s)/8 = 1.5s, then two hashes of 0s: 1.5s × (7/8)².
		t.Errorf("after all: %d running, %d waiting, cost %v; want 0, 0, 1.1484375s", running, waiting, cost)
	}
}
