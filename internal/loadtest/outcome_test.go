package loadtest

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestPct(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, ms(i))
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, .5, 0},
		{"one p0", []time.Duration{ms(7)}, 0, ms(7)},
		{"one p50", []time.Duration{ms(7)}, .5, ms(7)},
		{"one max", []time.Duration{ms(7)}, 1, ms(7)},
		{"two p50 is the lower (nearest rank)", []time.Duration{ms(1), ms(9)}, .5, ms(1)},
		{"two p51", []time.Duration{ms(1), ms(9)}, .51, ms(9)},
		{"hundred p50", hundred, .5, ms(50)},
		{"hundred p99", hundred, .99, ms(99)},
		{"hundred max", hundred, 1, ms(100)},
		{"hundred p0 is the min", hundred, 0, ms(1)},
		{"four p99", []time.Duration{ms(1), ms(2), ms(3), ms(4)}, .99, ms(4)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pct(tc.sorted, tc.p); got != tc.want {
				t.Fatalf("pct(%d values, %v) = %v, want %v", len(tc.sorted), tc.p, got, tc.want)
			}
		})
	}
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestSignedIn(t *testing.T) {
	for _, tc := range []struct {
		h    http.Header
		want bool
	}{
		{header("Set-Cookie", "twostep_session=abc; Path=/; HttpOnly"), true},
		{header("Set-Cookie", "__Host-twostep_session=abc; Path=/; Secure"), true},
		{header("Set-Cookie", "twostep_pending=abc", "Set-Cookie", "twostep_session=x"), true},
		{header("Set-Cookie", "twostep_pending=abc; Path=/"), false},
		{header(), false},
		{nil, false},
	} {
		if got := signedIn(tc.h); got != tc.want {
			t.Errorf("signedIn(%v) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestOutcomeCountsEveryKindOfAnswer(t *testing.T) {
	session := header("Set-Cookie", "twostep_session=abc")
	var a, b outcome
	a.add(200, session, nil, 40*time.Millisecond)
	a.add(200, session, nil, 60*time.Millisecond)
	a.add(200, header(), nil, time.Millisecond) // a challenge, not a session
	a.add(503, header("Retry-After", "2"), nil, 2*time.Millisecond)
	b.add(503, header(), nil, 3*time.Millisecond)
	b.add(429, header("Retry-After", "1"), nil, 4*time.Millisecond)
	b.add(0, nil, errors.New("connection refused"), 5*time.Millisecond)
	b.add(0, nil, errors.New("second error"), 5*time.Millisecond)
	b.add(200, session, nil, 50*time.Millisecond)
	a.merge(&b)

	if a.ok != 3 || len(a.lat) != 3 {
		t.Errorf("ok = %d with %d latencies, want 3 and 3", a.ok, len(a.lat))
	}
	if a.retryAfter != 1 {
		t.Errorf("retryAfter = %d, want 1 (only 503s count)", a.retryAfter)
	}
	if a.transport != 2 || a.firstErr != "connection refused" {
		t.Errorf("transport = %d, firstErr %q; want 2, %q", a.transport, a.firstErr, "connection refused")
	}
	if got := a.errors(); got != 6 {
		t.Errorf("errors() = %d, want 6", got)
	}
	if got := a.others(); got != 2 {
		t.Errorf("others() = %d, want 2 (the 200 without a cookie and the 429)", got)
	}
	if len(a.failLat) != 4 {
		t.Errorf("%d failure latencies, want 4 (answered failures only)", len(a.failLat))
	}
	if got, want := a.statuses(), "200×3 200-no-cookie×1 429×1 503×2 no-answer×2"; got != want {
		t.Errorf("statuses() = %q, want %q", got, want)
	}
	var empty outcome
	if got := empty.statuses(); got != "200×0" {
		t.Errorf("empty statuses() = %q, want %q", got, "200×0")
	}
}
