package api_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/testenv"
)

// twilioSign computes X-Twilio-Signature as Twilio documents it: HMAC-SHA1
// keyed with the auth token over the full URL followed by every POST
// parameter, sorted by name, as name+value; base64.
func twilioSign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		for _, v := range form[k] {
			b.WriteString(k + v)
		}
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestTwilioStatusCallbackRecordsDelivery(t *testing.T) {
	e, tw := startTwilio(t, "sqlite", nil, false)
	c := e.signup("status@example.com")
	e.want(e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": "+447400123456", "channel": "sms"}), 201, "")
	ds, err := e.srv.App.DB.Deliveries(t.Context(), 5)
	if err != nil || len(ds) != 1 || ds[0].ProviderID == "" || ds[0].Status != "sent" {
		t.Fatalf("deliveries = %+v, %v", ds, err)
	}
	callback := e.srv.BaseURL() + "/api/v1/delivery/twilio/status"
	form := url.Values{"MessageSid": {ds[0].ProviderID}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}, "AccountSid": {tw.sid}}
	post := func(sig string) int {
		req, _ := http.NewRequest("POST", callback, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(twilioSign("wrong token", callback, form)); got != http.StatusForbidden {
		t.Fatalf("forged callback = %d, want 403", got)
	}
	if ds, _ := e.srv.App.DB.Deliveries(t.Context(), 5); ds[0].Status != "sent" {
		t.Fatalf("forged callback changed the status to %s", ds[0].Status)
	}
	if got := post(twilioSign(tw.token, callback, form)); got != http.StatusNoContent {
		t.Fatalf("signed callback = %d, want 204", got)
	}
	ds, _ = e.srv.App.DB.Deliveries(t.Context(), 5)
	if ds[0].Status != "undelivered" || !strings.Contains(ds[0].Error, "30003") {
		t.Fatalf("after callback: %+v", ds[0])
	}
}

func TestEmailCodesOnlyWhereAllowed(t *testing.T) {
	e, _ := startTwilio(t, "sqlite", nil, false)
	c := e.signup("mailcode@example.com")
	e.want(e.call(c, "POST", "/api/v1/factors/email", nil), 403, "method_not_allowed")

	e2, _ := startTwilio(t, "sqlite", func(c *config.Config) { c.Methods.Email = true }, false)
	c2 := e2.signup("mailcode@example.com")
	r := e2.call(c2, "POST", "/api/v1/factors/email", nil)
	e2.want(r, 201, "")
	f := r.JSON["factor"].(map[string]any)
	if f["kind"] != "email" || !strings.Contains(f["email_masked"].(string), "•••") {
		t.Fatalf("factor = %v", f)
	}
	var code string
	for _, m := range e2.outbox("mailcode@example.com") {
		if strings.HasPrefix(m.Subject, "Your twostep code") {
			code = m.Code
			if !strings.HasSuffix(m.Body, "#"+code) {
				t.Fatalf("e-mail body %q lacks the origin-bound last line", m.Body)
			}
			break
		}
	}
	if len(code) != 6 {
		t.Fatal("no code e-mail")
	}
	e2.want(e2.call(c2, "POST", "/api/v1/factors/"+f["id"].(string)+"/confirm", map[string]string{"code": code}), 200, "")
	// A used code does not work twice, and resending needs a fresh one.
	e2.advance(31 * time.Second)
	e2.want(e2.call(c2, "POST", "/api/v1/factors/"+f["id"].(string)+"/resend", nil), 202, "")
}

func TestSentCodeAttemptsAndExpiry(t *testing.T) {
	e, tw := startTwilio(t, "sqlite", func(c *config.Config) {
		c.Limits.CodePerAccount.Limit, c.Limits.CodePerAccountDaily.Limit = 100, 100
	}, false)
	c := e.signup("tries@example.com")
	r := e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": "+61412345678", "channel": "sms"})
	e.want(r, 201, "")
	id := r.JSON["factor"].(map[string]any)["id"].(string)
	code := codeOf(t, tw.last(t).Body)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := 0; i < 5; i++ {
		e.want(e.call(c, "POST", "/api/v1/factors/"+id+"/confirm", map[string]string{"code": wrong}), 401, "invalid_code")
	}
	// Five wrong tries use the code up: even the right one fails now.
	e.want(e.call(c, "POST", "/api/v1/factors/"+id+"/confirm", map[string]string{"code": code}), 401, "invalid_code")
	e.advance(31 * time.Second)
	e.want(e.call(c, "POST", "/api/v1/factors/"+id+"/resend", nil), 202, "")
	fresh := codeOf(t, tw.last(t).Body)
	// Codes expire after 10 minutes.
	e.advance(10*time.Minute + time.Second)
	e.want(e.call(c, "POST", "/api/v1/factors/"+id+"/confirm", map[string]string{"code": fresh}), 401, "invalid_code")
}

// TestProductionSetupNeverExposesTheOutbox: with e-mail through SMTP and no
// text or call provider configured, there is no developer outbox (which
// would show codes to anyone) and phones cannot be added.
func TestProductionSetupNeverExposesTheOutbox(t *testing.T) {
	cfg := testenv.Config(t, testenv.DatabaseURL(t, "sqlite"))
	cfg.Delivery.Email = "smtp"
	cfg.Delivery.SMTP = config.SMTP{Host: "127.0.0.1", Port: 1, From: "twostep@example.com", TLS: "none", Timeout: config.Duration(time.Second)}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	srv := testenv.Start(t, cfg, app.Options{})
	e := &env{t: t, srv: srv, clock: testenv.NewClock()}
	if srv.App.Outbox != nil {
		t.Fatal("outbox created in a production setup")
	}
	e.want(e.call(srv.Client(), "GET", "/api/v1/dev/outbox", nil), 404, "not_found")
	c := e.signup("prod@example.com")
	e.want(e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": "+447400123456", "channel": "sms"}), 403, "method_not_allowed")
}

// TestPumpingGuardHoldsUnderConcurrency: ten sign-ups send at once against
// a global budget of four; exactly four texts go out, on both engines.
func TestPumpingGuardHoldsUnderConcurrency(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			e, tw := startTwilio(t, engine, func(c *config.Config) {
				c.Limits.SignupPerAddress.Limit = 100
				c.Limits.SendGlobal = config.Budget{Limit: 4, Window: config.Duration(time.Hour)}
			}, false)
			clients := make([]*http.Client, 10)
			for i := range clients {
				clients[i] = e.signup(fmt.Sprintf("burst%d@example.com", i))
			}
			var wg sync.WaitGroup
			statuses := make(chan int, len(clients))
			for i, c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses <- e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": fmt.Sprintf("+4474001234%02d", i), "channel": "sms"}).Status
				}()
			}
			wg.Wait()
			close(statuses)
			count := map[int]int{}
			for s := range statuses {
				count[s]++
			}
			if count[201] != 4 || count[429] != 6 || len(tw.sent) != 4 {
				t.Fatalf("statuses %v, %d texts; want 4 × 201, 6 × 429, 4 texts", count, len(tw.sent))
			}
		})
	}
}
