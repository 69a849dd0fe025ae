package loadtest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"twostep/internal/password"
)

// hashBound is the bare argon2id rate: no server can sign in faster.
type hashBound struct {
	rate    float64 // verifies per second over all goroutines
	n       int64
	elapsed time.Duration
	perHash time.Duration // mean time of one verify on a busy machine
	cpu     cpuUse        // of the machine meanwhile (gen: this process)
}

// cpuPerHash is this process's CPU time per verify while measuring (GC
// included), or 0 if unknown.
func (hb hashBound) cpuPerHash() time.Duration {
	if hb.cpu.genTime <= 0 || hb.n == 0 {
		return 0
	}
	return hb.cpu.genTime / time.Duration(hb.n)
}

// measureHashRate runs workers goroutines that verify a default-parameter
// hash for about d, and returns the rate over the time until the last one
// finished.
func measureHashRate(ctx context.Context, now func() time.Time, workers int, d time.Duration) (hashBound, error) {
	const pw = "bench-bound-passphrase-42"
	h := password.NewHasher(password.DefaultParams(), workers, time.Minute)
	enc, err := h.Hash(ctx, pw)
	if err != nil {
		return hashBound{}, err
	}
	var n, busy atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	cw := startCPUWatch(now, 0, false)
	start := now()
	deadline := start.Add(d)
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil && now().Before(deadline) {
				t := now()
				ok, _, err := h.Verify(ctx, pw, enc)
				if err != nil || !ok {
					e := fmt.Errorf("verify = %v, %v", ok, err)
					failed.CompareAndSwap(nil, &e)
					return
				}
				busy.Add(int64(now().Sub(t)))
				n.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := now().Sub(start)
	use := cw.stop()
	if err := ctx.Err(); err != nil {
		return hashBound{}, err
	}
	if e := failed.Load(); e != nil {
		return hashBound{}, fmt.Errorf("bench: argon2id baseline: %w", *e)
	}
	return hashBound{
		rate: float64(n.Load()) / elapsed.Seconds(), n: n.Load(), elapsed: elapsed,
		perHash: time.Duration(busy.Load() / max(n.Load(), 1)), cpu: use,
	}, nil
}
