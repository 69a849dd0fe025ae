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
	clock := testenv.NewClock()
	cfg := testenv.Config(b, testenv.DatabaseURL(b, "sqlite"))
	cfg.Limits.SignupPerAddress.Limit = 1 << 20
	srv := testenv.Start(b, cfg, app.Options{Now: clock.Now})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	base := srv.BaseURL()
	post := func(path string, body any) map[string]any {
		buf, _ := json.Marshal(body)
		resp, err := c.Post(base+path, "application/json", bytes.NewReader(buf))
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			b.Fatalf("%s: %d %s", path, resp.StatusCode, raw)
		}
		var out map[string]any
		json.Unmarshal(raw, &out)
		return out
	}
	creds := map[string]string{"email": "bench2@example.com", "password": "bench challenge passphrase"}
	post("/api/v1/signup", creds)
	// Two-step verification needs a confirmed address.
	u, err := srv.App.DB.UserByEmail(b.Context(), creds["email"])
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.App.DB.MarkEmailVerified(b.Context(), u.ID, u.Email, clock.Now()); err != nil {
		b.Fatal(err)
	}
	f := post("/api/v1/factors/totp", map[string]string{})
	key, err := totp.DecodeSecret(f["secret"].(string))
	if err != nil {
		b.Fatal(err)
	}
	id := f["factor"].(map[string]any)["id"].(string)
	p := totp.DefaultParams()
	post("/api/v1/factors/"+id+"/confirm", map[string]string{"code": totp.Code(key, clock.Now(), p)})
	post("/api/v1/factors/recovery-codes", nil)
	post("/api/v1/two-step/enable", nil)

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
