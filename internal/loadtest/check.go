package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"
)

// The forward-auth phase asks the check a reverse proxy asks before every
// request to a protected app, for checkHost, which the child's config
// (checkConfig) puts under a one_factor rule, with the session of a
// signed-in account, and asks /healthz in the same run for the ratio.
const (
	checkPath = "/api/v1/authz/forward-auth"
	checkHost = "app.bench.example"
	checkURI  = "/orders?id=7"
)

// checkConfig is the YAML config file the child reads with --config:
// access rules are YAML-only. Everything else stays at the defaults.
const checkConfig = `# twostep bench: the access rules of the forward-auth phase
access_control:
  default_policy: deny
  rules:
    - domain: ["` + checkHost + `"]
      policy: one_factor
`

// writeCheckConfig writes checkConfig into dir and returns its path.
func writeCheckConfig(dir string) (string, error) {
	path := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(path, []byte(checkConfig), 0o600); err != nil {
		return "", fmt.Errorf("bench: write the server's config: %w", err)
	}
	return path, nil
}

// checkHeaders are what Caddy and Traefik send about a signed-in browser's
// GET of a page of the app.
func checkHeaders(cookie string) http.Header {
	return http.Header{
		"Cookie":             {cookie},
		"X-Forwarded-Method": {http.MethodGet},
		"X-Forwarded-Proto":  {"https"},
		"X-Forwarded-Host":   {checkHost},
		"X-Forwarded-Uri":    {checkURI},
		"Accept":             {"text/html"},
	}
}

// checkSlice is how long all clients ask one endpoint before they switch
// to the other together: about 250 ms, and d is a whole number of pairs
// of slices, so both endpoints get half of d.
func checkSlice(d time.Duration) time.Duration {
	pairs := max(1, int((d+250*time.Millisecond)/(500*time.Millisecond)))
	return d / time.Duration(2*pairs)
}

// signInAll signs in to every account once and returns the session
// cookies ("name=value"), account i's at i.
func (lg *loadGen) signInAll(ctx context.Context) ([]string, error) {
	cookies := make([]string, lg.users)
	for i := range lg.users {
		status, h, err := lg.post(ctx, "/api/v1/signin", lg.bodies[i])
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("status %d", status)
		}
		if err != nil {
			return nil, fmt.Errorf("bench: sign in to bench-%d@example.com: %w", i, err)
		}
		for _, c := range (&http.Response{Header: h}).Cookies() {
			if c.Name == "twostep_session" || c.Name == "__Host-twostep_session" {
				cookies[i] = c.Name + "=" + c.Value
			}
		}
		if cookies[i] == "" {
			return nil, fmt.Errorf("bench: sign in to bench-%d@example.com: no session cookie", i)
		}
	}
	return cookies, nil
}

// get sends a GET of path with header and drains the answer.
func (lg *loadGen) get(ctx context.Context, path string, header http.Header) (status int, h http.Header, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, lg.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := lg.c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

// checkResult is one concurrency level of the forward-auth phase.
type checkResult struct {
	conc    int
	fa, hz  outcome       // forward-auth checks and /healthz
	each    time.Duration // time given to each endpoint (half the phase)
	slice   time.Duration
	elapsed time.Duration // until the last client finished
	mem     memStats
}

func (r checkResult) faRate() float64 { return float64(r.fa.ok) / r.each.Seconds() }
func (r checkResult) hzRate() float64 { return float64(r.hz.ok) / r.each.Seconds() }

// ratio is forward-auth checks/s ÷ /healthz answers/s in percent, or -1
// when /healthz answered nothing.
func (r checkResult) ratio() float64 {
	if r.hz.ok == 0 {
		return -1
	}
	return 100 * r.faRate() / r.hzRate()
}

func (r checkResult) errors() int { return r.fa.errors() + r.hz.errors() }

// runChecks runs c clients in a closed loop for d; all of them ask the
// forward-auth check for a slice of time, then /healthz for the next, and
// so on, so both endpoints are measured under the same load, interleaved.
// Client i carries the session of account i mod len(cookies). A check
// counts when it is a 200 naming the user (Remote-User); /healthz when it
// is a 200.
func (lg *loadGen) runChecks(ctx context.Context, pid, c int, d time.Duration, cookies []string) checkResult {
	slice := checkSlice(d)
	fa, hz := make([]outcome, c), make([]outcome, c)
	capacity := int(d/(200*time.Microsecond))/c + 16
	for i := range c {
		fa[i] = outcome{bad200: "200-no-user", lat: make([]time.Duration, 0, capacity)}
		hz[i] = outcome{lat: make([]time.Duration, 0, capacity)}
	}
	headers := make([]http.Header, len(cookies))
	for i, ck := range cookies {
		headers[i] = checkHeaders(ck)
	}
	runtime.GC()
	smp := startSampler(lg.now, pid, lg.pg)
	start := lg.now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range c {
		wg.Go(func() {
			hdr := headers[i%len(headers)]
			for ctx.Err() == nil {
				t := lg.now()
				if !t.Before(deadline) {
					return
				}
				if (t.Sub(start)/slice)%2 == 0 {
					status, h, err := lg.get(ctx, checkPath, hdr)
					fa[i].addAnswer(status, status == http.StatusOK && h.Get("Remote-User") != "", h, err, lg.now().Sub(t))
				} else {
					status, h, err := lg.get(ctx, "/healthz", nil)
					hz[i].addAnswer(status, true, h, err, lg.now().Sub(t))
				}
			}
		})
	}
	wg.Wait()
	r := checkResult{conc: c, each: d / 2, slice: slice, elapsed: lg.now().Sub(start)}
	r.mem = smp.stop()
	r.fa.bad200 = "200-no-user"
	for i := range c {
		r.fa.merge(&fa[i])
		r.hz.merge(&hz[i])
	}
	for _, o := range []*outcome{&r.fa, &r.hz} {
		slices.Sort(o.lat)
		slices.Sort(o.failLat)
	}
	return r
}
