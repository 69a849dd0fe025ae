package api_test

// The cost of a passkey sign-in next to a password sign-in, in the same
// run, at the default argon2id parameters:
//
//	go test -run='^$' -bench=PasskeyVsPassword -benchtime=50x ./internal/api
//
// A passkey sign-in is two requests (begin: a ceremony stored; finish: it
// consumed, an ECDSA P-256 signature checked, the counter and a session
// written); a password sign-in is one, bound by argon2id. The
// authenticator's signing (the browser's work) is not timed. The
// passkey/password metric is the ratio of the two.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/password"
	"twostep/internal/testenv"
)

func BenchmarkPasskeyVsPasswordSignIn(b *testing.B) {
	cfg := testenv.Config(b, testenv.DatabaseURL(b, "sqlite"))
	p := password.DefaultParams()
	cfg.Password.MemoryKiB, cfg.Password.Iterations, cfg.Password.Parallelism = p.MemoryKiB, p.Iterations, p.Parallelism
	srv := testenv.Start(b, cfg, app.Options{})
	e := &env{srv: srv}
	call := func(c *http.Client, path string, body any) map[string]any {
		var rd io.Reader
		if body != nil {
			buf, _ := json.Marshal(body)
			rd = bytes.NewReader(buf)
		}
		req, _ := http.NewRequest("POST", srv.BaseURL()+path, rd)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			b.Fatalf("POST %s = %d %s", path, resp.StatusCode, raw)
		}
		var out map[string]any
		json.Unmarshal(raw, &out)
		return out
	}
	opts := func(r map[string]any) string {
		pk, _ := json.Marshal(r["publicKey"])
		return string(pk)
	}
	owner := srv.Client()
	call(owner, "/api/v1/signup", map[string]string{"email": "bench@example.com", "password": goodPassword})
	k := e.newKey(true, true)
	r := call(owner, "/api/v1/factors/webauthn", map[string]any{"passkey": true})
	call(owner, "/api/v1/factors/"+r["factor"].(map[string]any)["id"].(string)+"/confirm", map[string]any{"credential": k.attest(b, opts(r))})

	var pw, pass time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if r := call(srv.Client(), "/api/v1/signin", map[string]string{"email": "bench@example.com", "password": goodPassword}); r["status"] != "signed_in" {
			b.Fatalf("password sign-in = %v", r)
		}
		pw += time.Since(start)

		c := srv.Client()
		start = time.Now()
		begin := call(c, "/api/v1/signin/passkey/begin", nil)
		pass += time.Since(start)
		cred := k.assert(b, opts(begin))
		start = time.Now()
		if r := call(c, "/api/v1/signin/passkey/finish", map[string]any{"credential": cred}); r["status"] != "signed_in" {
			b.Fatalf("passkey sign-in = %v", r)
		}
		pass += time.Since(start)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(pw.Microseconds())/1000/n, "password-ms/op")
	b.ReportMetric(float64(pass.Microseconds())/1000/n, "passkey-ms/op")
	b.ReportMetric(float64(pass)/float64(pw), "passkey/password")
}
