package forwardauth_test

// The proxies' check beside /healthz (the same HTTP stack, no database),
// 16 clients at once, on both engines:
//
//	go test -run='^$' -bench=. ./internal/forwardauth
//
// The ratio of the two rates from one run is what the rules and the
// session lookup cost; the target is at least 60 %.

import (
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

func benchCheck(b *testing.B, path string, header map[string]string) {
	for _, engine := range testenv.Engines {
		b.Run(engine, func(b *testing.B) {
			cfg := testenv.Config(b, testenv.DatabaseURL(b, engine))
			cfg.AccessControl = rules
			srv := testenv.Start(b, cfg, app.Options{})
			tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true}
			b.Cleanup(tr.CloseIdleConnections)
			c := &http.Client{Transport: tr, Timeout: time.Minute}
			signup, err := c.Post(srv.URL+"/api/v1/signup", "application/json",
				strings.NewReader(fmt.Sprintf(`{"email":"bench@example.com","password":%q}`, goodPassword)))
			if err != nil || signup.StatusCode != http.StatusCreated {
				b.Fatalf("signup: %v %v", signup, err)
			}
			signup.Body.Close()
			var cookie string
			for _, ck := range signup.Cookies() {
				if ck.Name == "twostep_session" || ck.Name == "__Host-twostep_session" {
					cookie = ck.Name + "=" + ck.Value
				}
			}
			get := func() error {
				req, _ := http.NewRequest("GET", srv.URL+path, nil)
				req.Header.Set("Cookie", cookie)
				for k, v := range header {
					req.Header.Set(k, v)
				}
				resp, err := c.Do(req)
				if err != nil {
					return err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || (header != nil && resp.Header.Get("Remote-User") == "") {
					return fmt.Errorf("GET %s: %s", path, resp.Status)
				}
				return nil
			}
			if err := get(); err != nil {
				b.Fatal(err)
			}
			procs := runtime.GOMAXPROCS(0)
			b.SetParallelism((16 + procs - 1) / procs)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := get(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "checks/s")
		})
	}
}

// BenchmarkForwardAuthParallel: a signed-in browser's request to a
// one_factor app, as Caddy or Traefik ask about it.
func BenchmarkForwardAuthParallel(b *testing.B) {
	benchCheck(b, "/api/v1/authz/forward-auth", map[string]string{
		"X-Forwarded-Method": "GET", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.com", "X-Forwarded-Uri": "/orders?id=7",
		"Accept": "text/html",
	})
}

// BenchmarkHealthzParallel is the HTTP stack alone, for the ratio.
func BenchmarkHealthzParallel(b *testing.B) { benchCheck(b, "/healthz", nil) }
