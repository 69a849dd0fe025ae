package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadGen signs in over one shared transport, without cookies, so every
// sign-in is a new browser's and each takes one argon2id verify.
type loadGen struct {
	now   func() time.Time
	base  string
	tr    *http.Transport
	c     *http.Client
	users int
	pg    bool // the server runs on PostgreSQL (count its CPU apart)
	// bodies[i] is the JSON body that signs in to account i.
	bodies [][]byte
}

func newLoadGen(now func() time.Time, base string, users int) *loadGen {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0, // no limit over all hosts
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	lg := &loadGen{now: now, base: base, tr: tr, c: &http.Client{Transport: tr, Timeout: 2 * time.Minute}, users: users}
	for i := range users {
		lg.bodies = append(lg.bodies, fmt.Appendf(nil, `{"email":"bench-%d@example.com","password":"bench-%d-correct-horse-battery"}`, i, i))
	}
	return lg
}

// post sends body to path and drains the answer.
func (lg *loadGen) post(ctx context.Context, path string, body []byte) (status int, h http.Header, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, lg.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := lg.c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

// signedIn reports whether the answer set the session cookie.
func signedIn(h http.Header) bool {
	for _, c := range h.Values("Set-Cookie") {
		if strings.HasPrefix(c, "twostep_session=") || strings.HasPrefix(c, "__Host-twostep_session=") {
			return true
		}
	}
	return false
}

// signUpAll creates the accounts, workers at a time.
func (lg *loadGen) signUpAll(ctx context.Context, workers int) error {
	var next atomic.Int64
	errs := make([]error, lg.users)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= lg.users || ctx.Err() != nil {
					return
				}
				status, _, err := lg.post(ctx, "/api/v1/signup", lg.bodies[i])
				if err == nil && status != http.StatusCreated {
					err = fmt.Errorf("status %d", status)
				}
				if err != nil {
					errs[i] = fmt.Errorf("bench: sign up bench-%d@example.com: %w", i, err)
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// levelResult is one concurrency level's outcome.
type levelResult struct {
	outcome
	conc    int
	elapsed time.Duration
	mem     memStats
}

func (r levelResult) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// runLevel runs c clients in a closed loop, each signing in to account
// i%users over and over for d, and samples the server's memory meanwhile.
func (lg *loadGen) runLevel(ctx context.Context, pid, c int, d time.Duration) levelResult {
	per := make([]outcome, c)
	// Room for a sign-in every 5 ms per client, so the loop rarely grows it.
	capacity := int(d/(5*time.Millisecond))/c + 16
	for i := range per {
		per[i].lat = make([]time.Duration, 0, capacity)
	}
	runtime.GC() // start from a clean heap, outside the measured time
	smp := startSampler(lg.now, pid, lg.pg)
	start := lg.now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range c {
		wg.Go(func() {
			o, body := &per[i], lg.bodies[i%lg.users]
			for ctx.Err() == nil && lg.now().Before(deadline) {
				t := lg.now()
				status, h, err := lg.post(ctx, "/api/v1/signin", body)
				o.add(status, h, err, lg.now().Sub(t))
			}
		})
	}
	wg.Wait()
	r := levelResult{conc: c, elapsed: lg.now().Sub(start)}
	r.mem = smp.stop()
	for i := range per {
		r.merge(&per[i])
	}
	slices.Sort(r.lat)
	slices.Sort(r.failLat)
	return r
}
