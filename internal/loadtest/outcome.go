package loadtest

import (
	"cmp"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// outcome counts what the answers were.
type outcome struct {
	ok         int
	status     map[int]int // non-200 answers, and 200s that are not the answer wanted (no session cookie) as status 0
	bad200     string      // how statuses names those 200s; "": "200-no-cookie"
	retryAfter int         // 503s that carried Retry-After
	transport  int         // requests that got no answer
	firstErr   string
	lat        []time.Duration // of 200s with a session cookie
	failLat    []time.Duration // of everything else that was answered
}

// add counts one answer to a sign-in (or err, if there was none) that
// took d: it succeeded if it is a 200 with a session cookie.
func (o *outcome) add(status int, h http.Header, err error, d time.Duration) {
	o.addAnswer(status, status == http.StatusOK && signedIn(h), h, err, d)
}

// addAnswer counts one answer (or err, if there was none) that took d;
// good says a 200 was the answer wanted.
func (o *outcome) addAnswer(status int, good bool, h http.Header, err error, d time.Duration) {
	switch {
	case err != nil:
		o.transport++
		if o.firstErr == "" {
			o.firstErr = err.Error()
		}
		return
	case status == http.StatusOK && good:
		o.ok++
		o.lat = append(o.lat, d)
		return
	case status == http.StatusOK:
		status = 0
	case status == http.StatusServiceUnavailable && h.Get("Retry-After") != "":
		o.retryAfter++
	}
	if o.status == nil {
		o.status = map[int]int{}
	}
	o.status[status]++
	o.failLat = append(o.failLat, d)
}

// merge adds p's counts to o's (latencies unsorted).
func (o *outcome) merge(p *outcome) {
	o.ok += p.ok
	o.retryAfter += p.retryAfter
	o.transport += p.transport
	if o.firstErr == "" {
		o.firstErr = p.firstErr
	}
	for k, v := range p.status {
		if o.status == nil {
			o.status = map[int]int{}
		}
		o.status[k] += v
	}
	o.lat = append(o.lat, p.lat...)
	o.failLat = append(o.failLat, p.failLat...)
}

// errors counts everything but a sign-in.
func (o *outcome) errors() int {
	n := o.transport
	for _, v := range o.status {
		n += v
	}
	return n
}

// others counts the answers that are neither a sign-in nor a 503.
func (o *outcome) others() int {
	n := 0
	for k, v := range o.status {
		if k != http.StatusServiceUnavailable {
			n += v
		}
	}
	return n
}

// statuses lists the answers like "200×812 503×3".
func (o *outcome) statuses() string {
	parts := []string{fmt.Sprintf("200×%d", o.ok)}
	keys := make([]int, 0, len(o.status))
	for k := range o.status {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		name := strconv.Itoa(k)
		if k == 0 {
			name = cmp.Or(o.bad200, "200-no-cookie")
		}
		parts = append(parts, fmt.Sprintf("%s×%d", name, o.status[k]))
	}
	if o.transport > 0 {
		parts = append(parts, fmt.Sprintf("no-answer×%d", o.transport))
	}
	return strings.Join(parts, " ")
}

// pct is the nearest-rank p-quantile of sorted (0 if empty).
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
