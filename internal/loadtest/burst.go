package loadtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"time"
)

// burstResult is the outcome of sign-ins released at the same moment.
type burstResult struct {
	outcome
	n       int
	elapsed time.Duration // until the last answer
	mem     memStats
}

// runBurst fires n sign-ins at the same moment: every goroutine has its
// request built and waits on one channel.
func (lg *loadGen) runBurst(ctx context.Context, pid, n int) burstResult {
	per := make([]outcome, n)
	start := make(chan struct{})
	var ready, wg sync.WaitGroup
	for i := range n {
		ready.Add(1)
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, lg.base+"/api/v1/signin", bytes.NewReader(lg.bodies[i%lg.users]))
			if err != nil {
				ready.Done()
				per[i].add(0, nil, err, 0)
				return
			}
			req.Header.Set("Content-Type", "application/json")
			ready.Done()
			<-start
			t := lg.now()
			resp, err := lg.c.Do(req)
			if err != nil {
				per[i].add(0, nil, err, lg.now().Sub(t))
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			per[i].add(resp.StatusCode, resp.Header, nil, lg.now().Sub(t))
		})
	}
	ready.Wait()
	runtime.GC()
	smp := startSampler(lg.now, pid, lg.pg)
	t0 := lg.now()
	close(start)
	wg.Wait()
	r := burstResult{n: n, elapsed: lg.now().Sub(t0)}
	r.mem = smp.stop()
	for i := range per {
		r.merge(&per[i])
	}
	slices.Sort(r.lat)
	slices.Sort(r.failLat)
	return r
}
