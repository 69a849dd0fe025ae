package password

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"
)

// BusyError is the error for a hash refused at admission: the hashes
// already admitted could not finish soon enough for it to start within the
// Hasher's maximum wait. It wraps [ErrBusy].
type BusyError struct {
	// RetryAfter estimates when the hashes admitted so far will have
	// finished at the measured rate, so that a retry then finds the queue
	// empty. Telling every refused client the same short delay would only
	// bring them back while the queue is still full.
	RetryAfter time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("%v: retry in %s", ErrBusy, e.RetryAfter.Round(time.Second))
}

// Unwrap returns [ErrBusy].
func (e *BusyError) Unwrap() error { return ErrBusy }

// Seconds is RetryAfter rounded up to whole seconds, at least 1.
func (e *BusyError) Seconds() int { return max(1, int(math.Ceil(e.RetryAfter.Seconds()))) }

// RetryAfterSeconds returns, for an error wrapping [ErrBusy], how many
// whole seconds the client should wait before trying again: the estimate a
// [*BusyError] in err carries, or 1 without one.
func RetryAfterSeconds(err error) int {
	var busy *BusyError
	if errors.As(err, &busy) {
		return busy.Seconds()
	}
	return 1
}

// admission lets at most size hashes run at once and decides at once, for
// every hash that finds them all taken, whether it may wait for one: it
// may when the hashes queued ahead of it can finish within maxWait at the
// measured rate, and is refused with a [*BusyError] otherwise. A waiting
// hash holds a goroutine and a channel, never its memory block, which the
// hash allocates only once it runs; so memory stays bounded by size
// however many wait. Slots are handed on oldest waiter first.
type admission struct {
	size    int           // hashes that may run at once
	lanes   int           // of those, how many get a whole core: min(size, GOMAXPROCS)
	maxWait time.Duration // the longest expected wait still accepted
	now     func() time.Time

	mu      sync.Mutex
	running int           // hashes holding a slot; equals size while anyone waits
	free    []int         // slot numbers not held
	started []time.Time   // by slot number: when the hash holding it started
	queue   list.List     // of chan ticket, sent the slot when it is handed over
	cost    time.Duration // moving average of one hash's time on a core of its own; 0: not measured yet

	obs Observer // nil: nothing observed
}

// Observer is told how long each admitted hash waited for a slot and
// about each hash refused at admission (the metrics).
type Observer interface {
	HashWaited(d time.Duration)
	HashRefused()
}

// costWeight is the weight of the newest sample in the moving average of
// hash costs: 1/8, the smoothing TCP uses for round-trip times (RFC 6298).
const costWeight = 8

func newAdmission(size int, maxWait time.Duration) *admission {
	size = max(size, 1)
	a := &admission{
		size:    size,
		lanes:   max(min(size, runtime.GOMAXPROCS(0)), 1),
		maxWait: maxWait,
		now:     time.Now,
		started: make([]time.Time, size),
	}
	for i := range size {
		a.free = append(a.free, i)
	}
	return a
}

// ticket is a slot held by a running hash, with what release needs to
// measure it.
type ticket struct {
	slot    int
	start   time.Time
	running int // hashes running when it started, itself included
}

// acquire takes a slot, waiting for one only if the queue ahead can drain
// within maxWait at the measured rate. It returns a [*BusyError] at once
// otherwise, and ctx's error if ctx ends while waiting.
func (a *admission) acquire(ctx context.Context) (ticket, error) {
	if err := ctx.Err(); err != nil {
		return ticket{}, err
	}
	a.mu.Lock()
	if a.running < a.size {
		a.running++
		t := ticket{slot: a.free[len(a.free)-1], start: a.now(), running: a.running}
		a.free = a.free[:len(a.free)-1]
		a.started[t.slot] = t.start
		a.mu.Unlock()
		if a.obs != nil {
			a.obs.HashWaited(0)
		}
		return t, nil
	}
	cost := a.currentCost()
	if wait := a.expected(a.queue.Len()+1, cost); a.maxWait <= 0 || wait > a.maxWait {
		err := &BusyError{RetryAfter: a.expected(a.running+a.queue.Len(), cost)}
		a.mu.Unlock()
		if a.obs != nil {
			a.obs.HashRefused()
		}
		return ticket{}, err
	}
	ready := make(chan ticket, 1)
	e := a.queue.PushBack(ready)
	queued := a.now()
	a.mu.Unlock()

	select {
	case t := <-ready:
		if a.obs != nil {
			a.obs.HashWaited(t.start.Sub(queued))
		}
		return t, nil
	case <-ctx.Done():
	}
	a.mu.Lock()
	select {
	case t := <-ready:
		// The slot came just as ctx ended: pass it on.
		a.mu.Unlock()
		a.release(t, false)
	default:
		a.queue.Remove(e)
		a.mu.Unlock()
	}
	return ticket{}, ctx.Err()
}

// currentCost is the cost to plan with while every slot is taken: the
// average, or more if the oldest running hash has already run longer than
// the average says a hash takes. Its age is known before it finishes, so a
// sudden slow-down (a burst's other work, another process taking the
// cores) counts at once, not only as the slow hashes finish — by then a
// burst has long been admitted on the old rate.
//
// It is asked only while every slot is taken, so every start is current.
func (a *admission) currentCost() time.Duration {
	now := a.now()
	var age time.Duration
	for _, t := range a.started {
		age = max(age, now.Sub(t))
	}
	if a.running > a.lanes {
		age = age * time.Duration(a.lanes) / time.Duration(a.running)
	}
	return max(a.cost, age)
}

// expected is how long n hashes take to finish at cost each, with lanes
// of them progressing at once. Before the first measurement the cost is 0,
// so nothing is refused on a guess.
func (a *admission) expected(n int, cost time.Duration) time.Duration {
	return time.Duration(n) * cost / time.Duration(a.lanes)
}

// release gives back t's slot, handing it to the oldest waiter if any.
// With measure set, the hash's duration updates the rate; it is left out
// for hashes of other costs (a stored hash with older parameters, bcrypt).
func (a *admission) release(t ticket, measure bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if measure {
		a.measure(a.now().Sub(t.start), max(t.running, a.running))
	}
	if e := a.queue.Front(); e != nil {
		// Handed over: running stays at size.
		next := ticket{slot: t.slot, start: a.now(), running: a.size}
		a.started[t.slot] = next.start
		a.queue.Remove(e).(chan ticket) <- next
		return
	}
	a.running--
	a.free = append(a.free, t.slot)
}

// measure folds a hash that took d, while up to running hashes ran at
// once, into the average cost. More hashes than lanes share the cores, so
// each took longer than on a core of its own: d is scaled back by
// lanes/running. Time taken from the server by other work (requests, GC,
// other processes) stays in, because it slows the queue just as much.
func (a *admission) measure(d time.Duration, running int) {
	if running > a.lanes {
		d = d * time.Duration(a.lanes) / time.Duration(running)
	}
	if a.cost == 0 {
		a.cost = d
		return
	}
	a.cost += (d - a.cost) / costWeight
}
