package app_test

// Sign-in benchmarks at the DEFAULT argon2id parameters (m=19456 KiB, t=2,
// p=1), next to the bare hash they are bound by, so that the overhead of
// everything else (HTTP, JSON, rate-limit checks, session and event writes)
// shows as the difference:
//
//	go test -run='^$' -bench=. -benchmem ./internal/app
//
// Compare BenchmarkSignInRequest with BenchmarkArgon2idBaseline (one core)
// and BenchmarkSignInRequestParallel with BenchmarkArgon2idBaselineParallel
// (all cores): the signins/s and hashes/s metrics should be close. On a
// machine shared with other work those wall-clock rates are disturbed; the
// cpu-ms/op metric (this process's CPU time per operation, client and
// server together, from /proc on Linux) is not, and compares the same way.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/password"
	"twostep/internal/session"
	"twostep/internal/testenv"
)

const (
	benchEmail    = "bench@example.com"
	benchPassword = "bench-sign-in-passphrase-42"
)

// signInTarget is a twostep on SQLite with default password parameters and
// one account, plus what a request needs.
type signInTarget struct {
	srv        *testenv.Server
	client     *http.Client
	url        string
	body       []byte
	cookieName string
}

// startDefault starts twostep the way `twostep serve` would hash: the test
// config (temp dirs, SQLite) with the password parameters put back to the
// defaults. The rate limits stay at their defaults: successful sign-ins are
// not failures, so they never throttle (every request below must get 200).
func startDefault(b *testing.B) *signInTarget {
	b.Helper()
	cfg := testenv.Config(b, testenv.DatabaseURL(b, "sqlite"))
	p := password.DefaultParams()
	cfg.Password.MemoryKiB, cfg.Password.Iterations, cfg.Password.Parallelism = p.MemoryKiB, p.Iterations, p.Parallelism
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	srv := testenv.Start(b, cfg, app.Options{})
	if got := srv.App.Config.Password; got.MemoryKiB != 19456 || got.Iterations != 2 || got.Parallelism != 1 {
		b.Fatalf("password params = %+v, want the defaults m=19456 t=2 p=1", got)
	}
	tr := &http.Transport{Proxy: nil, MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	t := &signInTarget{
		srv:        srv,
		client:     &http.Client{Transport: tr, Timeout: time.Minute}, // no jar: every sign-in comes without cookies
		url:        srv.URL + "/api/v1/signin",
		body:       fmt.Appendf(nil, `{"email":%q,"password":%q}`, benchEmail, benchPassword),
		cookieName: session.NewCookies(srv.BaseURL()).SessionName(),
	}
	resp, err := t.client.Post(srv.URL+"/api/v1/signup", "application/json", bytes.NewReader(t.body))
	if err != nil {
		b.Fatalf("sign up: %v", err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("sign up: %s: %s", resp.Status, msg)
	}
	return t
}

// processCPU is this process's user+system CPU time from /proc/self/stat,
// or -1 where there is none.
func processCPU() time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return -1
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64) // utime, in USER_HZ (100) ticks
	s, err2 := strconv.ParseInt(f[12], 10, 64) // stime
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(u+s) * (time.Second / 100)
}

// cpuMeter reports CPU time per operation as the cpu-ms/op metric.
type cpuMeter struct{ start time.Duration }

func startCPU() cpuMeter { return cpuMeter{processCPU()} }

// report adds cpu-ms/op and the rate (per second of wall time) as unit.
func (m cpuMeter) report(b *testing.B, unit string) {
	if b.N == 0 {
		return
	}
	if end := processCPU(); m.start >= 0 && end >= 0 {
		b.ReportMetric(float64(end-m.start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

// signIn posts the credentials and checks for 200 and a session cookie.
func (t *signInTarget) signIn(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(t.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("sign in: %s (Retry-After %q): %s", resp.Status, resp.Header.Get("Retry-After"), msg)
	}
	io.Copy(io.Discard, resp.Body)
	for _, c := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, t.cookieName+"=") {
			return nil
		}
	}
	return fmt.Errorf("sign in: 200 without a %s cookie (Set-Cookie %q)", t.cookieName, resp.Header.Values("Set-Cookie"))
}

// BenchmarkSignInRequest is one client signing in over and over: the whole
// request over HTTP, at default password parameters, on SQLite.
func BenchmarkSignInRequest(b *testing.B) {
	t := startDefault(b)
	ctx := b.Context()
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		if err := t.signIn(ctx); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b, "signins/s")
}

// BenchmarkSignInRequestParallel is GOMAXPROCS clients signing in at once.
func BenchmarkSignInRequestParallel(b *testing.B) {
	t := startDefault(b)
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := t.signIn(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
	cpu.report(b, "signins/s")
}

// baselineHasher is a Hasher at the default parameters with a stored hash
// of benchPassword, as sign-in verifies it.
func baselineHasher(b *testing.B) (*password.Hasher, string) {
	b.Helper()
	h := password.NewHasher(password.DefaultParams(), 2*runtime.NumCPU(), time.Minute)
	enc, err := h.Hash(b.Context(), benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	return h, enc
}

// BenchmarkArgon2idBaseline is the bare Hasher.Verify at the default
// parameters on one goroutine: the floor under BenchmarkSignInRequest.
func BenchmarkArgon2idBaseline(b *testing.B) {
	h, enc := baselineHasher(b)
	ctx := b.Context()
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		ok, _, err := h.Verify(ctx, benchPassword, enc)
		if err != nil || !ok {
			b.Fatalf("verify = %v, %v", ok, err)
		}
	}
	cpu.report(b, "hashes/s")
}

// BenchmarkArgon2idBaselineParallel is the bare Verify on GOMAXPROCS
// goroutines: the bound for BenchmarkSignInRequestParallel.
func BenchmarkArgon2idBaselineParallel(b *testing.B) {
	h, enc := baselineHasher(b)
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ok, _, err := h.Verify(ctx, benchPassword, enc)
			if err != nil || !ok {
				b.Errorf("verify = %v, %v", ok, err)
				return
			}
		}
	})
	cpu.report(b, "hashes/s")
}
