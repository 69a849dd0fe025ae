package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/factor/totp"
	"twostep/internal/testenv"
)

// BenchmarkChallengeVerifyRequest measures POST /api/v1/signin/verify: the
// pending sign-in lookup, lockout checks, TOTP verification with the
// replay guard, the session and its events. The password step before each
// verify is outside the timer (cheap test hashing parameters, since the
// hash is not what is measured here). An injected clock moves 30 s per
// iteration so every code is a new step.
func BenchmarkChallengeVerifyRequest(b *testing.B) {
	a := newTwoStepAccount(b, "sqlite")
	c, base, clock, creds, id, key, p, post := a.client, a.srv.BaseURL(), a.clock, a.creds, a.factorID, a.key, a.params, a.post

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		clock.Advance(30 * time.Second)
		if r := post("/api/v1/signin", creds); r["status"] != "second_factor_required" {
			b.Fatalf("sign-in = %v", r)
		}
		body := fmt.Sprintf(`{"method_id":%q,"code":%q}`, id, totp.Code(key, clock.Now(), p))
		b.StartTimer()
		resp, err := c.Post(base+"/api/v1/signin/verify", "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("verify: %d", resp.StatusCode)
		}
	}
}

// twoStepAccount is a running twostep with one account that has an
// authenticator app, recovery codes and two-step verification on, and a
// client signed in to it.
type twoStepAccount struct {
	srv      *testenv.Server
	clock    *testenv.Clock
	client   *http.Client
	creds    map[string]string
	factorID string
	key      []byte
	params   totp.Params
	post     func(path string, body any) map[string]any
}

func newTwoStepAccount(tb testing.TB, engine string) *twoStepAccount {
	tb.Helper()
	clock := testenv.NewClock()
	cfg := testenv.Config(tb, testenv.DatabaseURL(tb, engine))
	cfg.Limits.SignupPerAddress.Limit = 1 << 20
	srv := testenv.Start(tb, cfg, app.Options{Now: clock.Now})
	jar, _ := cookiejar.New(nil)
	a := &twoStepAccount{srv: srv, clock: clock, client: &http.Client{Jar: jar}, params: totp.DefaultParams(),
		creds: map[string]string{"email": "bench2@example.com", "password": "bench challenge passphrase"}}
	a.post = func(path string, body any) map[string]any {
		buf, _ := json.Marshal(body)
		resp, err := a.client.Post(srv.BaseURL()+path, "application/json", bytes.NewReader(buf))
		if err != nil {
			tb.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			tb.Fatalf("%s: %d %s", path, resp.StatusCode, raw)
		}
		var out map[string]any
		json.Unmarshal(raw, &out)
		return out
	}
	a.post("/api/v1/signup", a.creds)
	// Two-step verification needs a confirmed address.
	u, err := srv.App.DB.UserByEmail(tb.Context(), a.creds["email"])
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.App.DB.MarkEmailVerified(tb.Context(), u.ID, u.Email, clock.Now()); err != nil {
		tb.Fatal(err)
	}
	f := a.post("/api/v1/factors/totp", map[string]string{})
	if a.key, err = totp.DecodeSecret(f["secret"].(string)); err != nil {
		tb.Fatal(err)
	}
	a.factorID = f["factor"].(map[string]any)["id"].(string)
	a.post("/api/v1/factors/"+a.factorID+"/confirm", map[string]string{"code": totp.Code(a.key, clock.Now(), a.params)})
	a.post("/api/v1/factors/recovery-codes", nil)
	a.post("/api/v1/two-step/enable", nil)
	return a
}
