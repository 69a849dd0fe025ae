package app_test

// Benchmarks of the hot signed-in read, /api/v1/me, next to /healthz (the
// same HTTP stack with no database), on both engines, 16 clients at once:
//
//	go test -run='^$' -bench='Me|Healthz' ./internal/app
//
// Compare the checks/s of BenchmarkMeParallel with BenchmarkHealthzParallel
// from the same run: the ratio is what the session lookup costs, and it is
// less disturbed by a busy machine than either rate alone. For a profile of
// where /me spends its time, add -cpuprofile and read it with go tool pprof.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/testenv"
)

// benchClients is how many requests run at once (the profile).
const benchClients = 16

// meTarget is a running twostep with one signed-in account.
type meTarget struct {
	srv    *testenv.Server
	client *http.Client
	cookie string // name=value of the session cookie
}

// startSignedIn signs an account up on engine and signs it in.
func startSignedIn(b *testing.B, engine string) *meTarget {
	b.Helper()
	srv := testenv.Start(b, testenv.Config(b, testenv.DatabaseURL(b, engine)), app.Options{})
	tr := &http.Transport{Proxy: nil, MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	t := &meTarget{srv: srv, client: &http.Client{Transport: tr, Timeout: time.Minute}}
	body := fmt.Appendf(nil, `{"email":%q,"password":%q}`, benchEmail, benchPassword)
	for _, step := range []struct {
		path string
		want int
	}{{"/api/v1/signup", http.StatusCreated}, {"/api/v1/signin", http.StatusOK}} {
		resp, err := t.client.Post(srv.URL+step.path, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatalf("%s: %v", step.path, err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != step.want {
			b.Fatalf("%s: %s: %s", step.path, resp.Status, msg)
		}
		for _, c := range resp.Cookies() {
			if strings.Contains(c.Name, "session") && c.Value != "" {
				t.cookie = c.Name + "=" + c.Value
			}
		}
	}
	if t.cookie == "" {
		b.Fatal("no session cookie after sign-in")
	}
	return t
}

// get asks for path with the session cookie and wants 200.
func (t *meTarget) get(path string) error {
	req, err := http.NewRequest(http.MethodGet, t.srv.URL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Cookie", t.cookie)
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, msg)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// benchGetParallel runs GET path from benchClients goroutines on each
// engine and reports checks/s and cpu-ms/op.
func benchGetParallel(b *testing.B, path string) {
	for _, engine := range testenv.Engines {
		b.Run(engine, func(b *testing.B) {
			t := startSignedIn(b, engine)
			if err := t.get(path); err != nil {
				b.Fatal(err)
			}
			b.SetParallelism((benchClients + runtimeProcs() - 1) / runtimeProcs())
			b.ReportAllocs()
			b.ResetTimer()
			cpu := startCPU()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := t.get(path); err != nil {
						b.Error(err)
						return
					}
				}
			})
			cpu.report(b, "checks/s")
		})
	}
}

// BenchmarkMeParallel is 16 signed-in clients asking who they are: a
// session lookup (one read) per request.
func BenchmarkMeParallel(b *testing.B) { benchGetParallel(b, "/api/v1/me") }

// BenchmarkHealthzParallel is the same 16 clients on /healthz, which
// touches no database: the HTTP stack's share of BenchmarkMeParallel.
func BenchmarkHealthzParallel(b *testing.B) { benchGetParallel(b, "/healthz") }

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
