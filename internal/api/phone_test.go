package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/testenv"
)

// fakeTwilio speaks the shape of Twilio's REST API (2010-04-01): form
// POSTs with basic auth to Messages.json and Calls.json, 201 with a JSON
// resource, or Twilio's JSON error body. It is the edge no test can reach
// for real: a phone carrier.
type fakeTwilio struct {
	mu       sync.Mutex
	sid      string
	token    string
	failNext int  // answer 500 this many times
	down     bool // answer 500 always
	sent     []twilioRequest
	srv      *httptest.Server
}

type twilioRequest struct {
	Kind  string // Messages or Calls
	To    string
	Body  string
	Twiml string
}

func newFakeTwilio(t *testing.T) *fakeTwilio {
	f := &fakeTwilio{sid: "AC0123456789abcdef0123456789abcdef", token: "test-auth-token"}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	user, pass, ok := r.BasicAuth()
	if !ok || user != f.sid || pass != f.token {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		fmt.Fprint(w, `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`)
		return
	}
	m := regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/(Messages|Calls)\.json$`).FindStringSubmatch(r.URL.Path)
	if r.Method != "POST" || m == nil || m[1] != f.sid || r.ParseForm() != nil {
		w.WriteHeader(404)
		fmt.Fprint(w, `{"code":20404,"message":"The requested resource was not found","status":404}`)
		return
	}
	if f.down || f.failNext > 0 {
		if f.failNext > 0 {
			f.failNext--
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(500)
		fmt.Fprint(w, `{"code":20500,"message":"Internal Server Error","status":500}`)
		return
	}
	req := twilioRequest{Kind: m[2], To: r.PostForm.Get("To"), Body: r.PostForm.Get("Body"), Twiml: r.PostForm.Get("Twiml")}
	f.sent = append(f.sent, req)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(201)
	prefix := "SM"
	if m[2] == "Calls" {
		prefix = "CA"
	}
	json.NewEncoder(w).Encode(map[string]any{"sid": fmt.Sprintf("%s%032d", prefix, len(f.sent)), "status": "queued", "to": req.To, "from": r.PostForm.Get("From")})
}

func (f *fakeTwilio) last(t *testing.T) twilioRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sent) == 0 {
		t.Fatal("nothing sent through Twilio")
	}
	return f.sent[len(f.sent)-1]
}

var sixDigits = regexp.MustCompile(`#(\d{6})$`)

// codeOf reads the code from an SMS in the origin-bound format.
func codeOf(t *testing.T, body string) string {
	t.Helper()
	if !strings.HasPrefix(body, "Your twostep code is ") {
		t.Fatalf("SMS %q does not start with the site's code sentence", body)
	}
	m := sixDigits.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("SMS %q does not end with @domain #code", body)
	}
	return m[1]
}

// startTwilio runs twostep with SMS and voice through the fake Twilio
// (and, when fallback is set, the outbox after it).
func startTwilio(t *testing.T, engine string, adjust func(*config.Config), fallback bool) (*env, *fakeTwilio) {
	t.Helper()
	tw := newFakeTwilio(t)
	clock := testenv.NewClock()
	cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
	cfg.Delivery.SMS, cfg.Delivery.Voice = "twilio", "twilio"
	if fallback {
		cfg.Delivery.SMS = "twilio,outbox"
	}
	cfg.Delivery.Twilio = config.Twilio{AccountSID: tw.sid, AuthToken: tw.token, From: "+15005550006", BaseURL: tw.srv.URL, VoiceLanguage: "en-GB"}
	cfg.Delivery.Retries = 2
	if adjust != nil {
		adjust(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: testenv.Start(t, cfg, app.Options{Now: clock.Now}), clock: clock}, tw
}

func TestPhoneEnrolmentAcrossCountries(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			e, tw := startTwilio(t, engine, nil, false)
			cases := []struct{ country, input, e164, last3 string }{
				{"CA", "(506) 234-5678", "+15062345678", "678"},
				{"US", "+1 (201) 555-0123", "+12015550123", "123"},
				{"GB", "07400 123456", "+447400123456", "456"},
				{"DE", "0151 23456789", "+4915123456789", "789"},
				{"IN", "+91 98765 43210", "+919876543210", "210"},
				{"AU", "0412 345 678", "+61412345678", "678"},
			}
			for i, tc := range cases {
				t.Run(tc.country, func(t *testing.T) {
					c := e.signup(fmt.Sprintf("p%d@example.com", i))
					channel := "sms"
					if i%2 == 1 {
						channel = "voice"
					}
					r := e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": tc.input, "country": tc.country, "channel": channel})
					e.want(r, 201, "")
					f := r.JSON["factor"].(map[string]any)
					masked := f["phone_masked"].(string)
					if f["status"] != "pending" || !strings.HasSuffix(masked, tc.last3) || strings.Contains(masked, tc.e164[len(tc.e164)-6:len(tc.e164)-3]) {
						t.Fatalf("factor = %v, want pending and masked to the last 3 digits", f)
					}
					sent := tw.last(t)
					if sent.To != tc.e164 {
						t.Fatalf("sent to %q, want %q", sent.To, tc.e164)
					}
					var code string
					if channel == "sms" {
						code = codeOf(t, sent.Body)
					} else {
						if sent.Kind != "Calls" {
							t.Fatalf("voice enrolment went to %s", sent.Kind)
						}
						digits := regexp.MustCompile(`(\d)\.`).FindAllStringSubmatch(sent.Twiml, -1)
						if len(digits) < 12 {
							t.Fatalf("TwiML does not read 6 digits twice: %s", sent.Twiml)
						}
						for _, d := range digits[:6] {
							code += d[1]
						}
					}
					e.want(e.call(c, "POST", "/api/v1/factors/"+f["id"].(string)+"/confirm", map[string]string{"code": "000000"}), 401, "invalid_code")
					conf := e.call(c, "POST", "/api/v1/factors/"+f["id"].(string)+"/confirm", map[string]string{"code": code})
					e.want(conf, 200, "")
					if conf.JSON["factor"].(map[string]any)["status"] != "active" {
						t.Fatalf("not active: %s", conf.Body)
					}
				})
			}
			c := e.signup("bad@example.com")
			for _, bad := range []struct{ phone, country, channel string }{
				{"12", "GB", "sms"},
				{"not a number", "US", "sms"},
				{"020 7946 0018", "GB", "sms"}, // a London landline: no texts
				{"+1 800 555 0199", "", "sms"}, // toll-free
				{"(506) 234-5678", "XX", "sms"},
				{"", "", "sms"},
			} {
				r := e.call(c, "POST", "/api/v1/factors/phone", bad)
				e.want(r, 400, "invalid_phone")
				if r.str("field") != "phone" {
					t.Fatalf("field = %q", r.str("field"))
				}
			}
			// A landline can take a call.
			e.want(e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": "020 7946 0018", "country": "GB", "channel": "voice"}), 201, "")
			e.want(e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": "07400 123456", "country": "GB", "channel": "pigeon"}), 403, "method_not_allowed")
		})
	}
}

func TestSendLimits(t *testing.T) {
	forEngineTwilio(t, func(t *testing.T, e *env, tw *fakeTwilio) {
		a := e.signup("a@example.com")
		r := e.call(a, "POST", "/api/v1/factors/phone", map[string]string{"phone": "+447400123456", "channel": "sms"})
		e.want(r, 201, "")
		id := r.JSON["factor"].(map[string]any)["id"].(string)
		first := codeOf(t, tw.last(t).Body)
		// Cooldown: 30 s between sends.
		r = e.call(a, "POST", "/api/v1/factors/"+id+"/resend", nil)
		e.want(r, 429, "rate_limited")
		if r.JSON["retry_after_s"] != float64(30) {
			t.Fatalf("retry_after_s = %v, want 30", r.JSON["retry_after_s"])
		}
		e.advance(30 * time.Second)
		r = e.call(a, "POST", "/api/v1/factors/"+id+"/resend", nil)
		e.want(r, 202, "")
		if r.JSON["resend_after_s"] != float64(30) || r.JSON["expires_in_s"] != float64(570) {
			t.Fatalf("resend = %s", r.Body)
		}
		if again := codeOf(t, tw.last(t).Body); again != first {
			t.Fatalf("resend within validity sent %s, want the same code %s", again, first)
		}
		// A second account with the same number shares its hourly budget:
		// 5 sends per number per hour.
		b := e.signup("b@example.com")
		for i := 0; i < 3; i++ {
			e.advance(31 * time.Second)
			rb := e.call(b, "POST", "/api/v1/factors/phone", map[string]string{"phone": "07400 123456", "country": "GB", "channel": "sms"})
			e.want(rb, 201, "")
		}
		e.advance(31 * time.Second)
		rb := e.call(b, "POST", "/api/v1/factors/phone", map[string]string{"phone": "07400123456", "country": "GB", "channel": "sms"})
		e.want(rb, 429, "rate_limited")
		if !strings.Contains(rb.str("detail"), "minutes") || !strings.Contains(rb.str("detail"), "UTC") {
			t.Fatalf("detail %q does not say exactly when", rb.str("detail"))
		}
		// Daily: 10 per number, even across hours.
		sent := 5
		for hour := 1; sent < 10; hour++ {
			e.advance(time.Hour)
			c := e.signup(fmt.Sprintf("c%d@example.com", hour))
			for i := 0; i < 5 && sent < 10; i++ {
				e.advance(31 * time.Second)
				e.want(e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": "+447400123456", "channel": "sms"}), 201, "")
				sent++
			}
		}
		e.advance(time.Hour)
		d := e.signup("d@example.com")
		r = e.call(d, "POST", "/api/v1/factors/phone", map[string]string{"phone": "+447400123456", "channel": "sms"})
		e.want(r, 429, "rate_limited")
		if r.JSON["retry_after_s"].(float64) < 3600 {
			t.Fatalf("daily limit retry_after_s = %v, want hours", r.JSON["retry_after_s"])
		}
	})
}

func forEngineTwilio(t *testing.T, f func(t *testing.T, e *env, tw *fakeTwilio)) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			e, tw := startTwilio(t, engine, func(c *config.Config) { c.Limits.SignupPerAddress.Limit = 1000 }, false)
			f(t, e, tw)
		})
	}
}

func TestSMSPumpingGuard(t *testing.T) {
	e, _ := startTwilio(t, "sqlite", func(c *config.Config) {
		c.Limits.SendPerCountry = config.Budget{Limit: 2, Window: config.Duration(time.Hour)}
		c.Codes.Countries = "GB,CA,US"
	}, false)
	c := e.signup("pump@example.com")
	for _, n := range []string{"+447400123456", "+447400123457"} {
		e.want(e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": n, "channel": "sms"}), 201, "")
	}
	r := e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": "+447400123458", "channel": "sms"})
	e.want(r, 429, "rate_limited")
	// Canada has its own budget.
	e.want(e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": "+15062345678", "channel": "sms"}), 201, "")
	// Countries off the allow-list are refused.
	e.want(e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": "+4915123456789", "channel": "sms"}), 400, "invalid_phone")
	if !strings.Contains(string(e.call(c, "GET", "/api/v1/events", nil).Body), `"send_budget"`) {
		t.Fatal("spent budget not recorded as an event")
	}
}

func TestProviderRetryFailoverAndHonestFailure(t *testing.T) {
	// 5xx then success: retried.
	e, tw := startTwilio(t, "sqlite", nil, false)
	c := e.signup("retry@example.com")
	tw.failNext = 1
	e.want(e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": "+447400123456", "channel": "sms"}), 201, "")
	ds, err := e.srv.App.DB.Deliveries(t.Context(), 10)
	if err != nil || len(ds) != 2 || ds[0].Provider != "twilio" {
		t.Fatalf("deliveries = %+v, %v; want a failed and a sent twilio attempt", ds, err)
	}
	statuses := ds[0].Status + "," + ds[1].Status
	if !strings.Contains(statuses, "failed") || !strings.Contains(statuses, "sent") {
		t.Fatalf("statuses = %s", statuses)
	}
	for _, d := range ds {
		if strings.Contains(d.Recipient, "7400123") || strings.Contains(d.Error, tw.sent[0].Body[21:27]) {
			t.Fatalf("delivery record leaks the number or code: %+v", d)
		}
	}

	// Down for good: the honest answer, with the other ways.
	tw.down = true
	e.advance(time.Minute)
	r := e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": "+447400123457", "channel": "sms"})
	e.want(r, 503, "delivery_failed")
	if !strings.Contains(r.str("title"), "couldn't send") {
		t.Fatalf("title = %q", r.str("title"))
	}

	// With a failover provider, the outbox takes over.
	e2, tw2 := startTwilio(t, "sqlite", nil, true)
	tw2.down = true
	c2 := e2.signup("failover@example.com")
	e2.want(e2.call(c2, "POST", "/api/v1/factors/phone", map[string]string{"phone": "+447400123456", "channel": "sms"}), 201, "")
	if msgs := e2.outbox("+447400123456"); len(msgs) != 1 || !strings.HasSuffix(msgs[0].Body, "#"+msgs[0].Code) {
		t.Fatalf("outbox after failover = %+v", msgs)
	}
}

func TestSignInByTextAndCallAndRemovePhone(t *testing.T) {
	forEngineTwilio(t, func(t *testing.T, e *env, tw *fakeTwilio) {
		c := e.signup("sms@example.com")
		r := e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": "(506) 234-5678", "country": "CA", "channel": "sms"})
		e.want(r, 201, "")
		phoneID := r.JSON["factor"].(map[string]any)["id"].(string)
		e.want(e.call(c, "POST", "/api/v1/factors/"+phoneID+"/confirm", map[string]string{"code": codeOf(t, tw.last(t).Body)}), 200, "")
		rc := e.call(c, "POST", "/api/v1/factors/recovery-codes", nil)
		e.want(rc, 201, "")
		e.want(e.call(c, "POST", "/api/v1/two-step/enable", nil), 200, "") // one phone + recovery codes is enough

		b := e.srv.Client()
		si := e.password(b, "sms@example.com")
		if si.str("default_method_id") != phoneID {
			t.Fatalf("default = %s", si.Body)
		}
		e.advance(31 * time.Second)
		s := e.call(b, "POST", "/api/v1/signin/send", map[string]string{"method_id": phoneID})
		e.want(s, 202, "")
		if s.JSON["resend_after_s"] != float64(30) || s.JSON["expires_in_s"] != float64(600) {
			t.Fatalf("send = %s", s.Body)
		}
		code := codeOf(t, tw.last(t).Body)
		// Call me instead: the same code, read out.
		e.advance(31 * time.Second)
		e.want(e.call(b, "POST", "/api/v1/signin/send", map[string]string{"method_id": phoneID, "channel": "voice"}), 202, "")
		call := tw.last(t)
		if call.Kind != "Calls" || call.To != "+15062345678" || !strings.Contains(call.Twiml, strings.Join(strings.Split(code, ""), ". ")) || !strings.Contains(call.Twiml, `language="en-GB"`) {
			t.Fatalf("call = %+v, want the code %s read out in en-GB", call, code)
		}
		e.want(e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": phoneID, "code": code}), 200, "")
		e.wantAMR(b, "pwd", "sms", "mfa") // the phone's method, whichever channel carried the code
		e.want(e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": phoneID, "code": code}), 401, "signin_expired")

		// The only phone cannot be removed while 2SV is on; a pending app
		// does not change that, a confirmed one does. Then the phone goes,
		// its number and codes with it.
		e.want(e.call(b, "DELETE", "/api/v1/factors/"+phoneID, nil), 409, "last_factor")
		app := e.call(b, "POST", "/api/v1/factors/totp", nil)
		e.want(app, 201, "")
		e.want(e.call(b, "DELETE", "/api/v1/factors/"+phoneID, nil), 409, "last_factor")
		oathSecret := app.str("secret")
		appID := app.JSON["factor"].(map[string]any)["id"].(string)
		e.want(e.call(b, "POST", "/api/v1/factors/"+appID+"/confirm", map[string]string{"code": testenv.OathCode(t, oathSecret, e.clock.Now())}), 200, "")
		e.want(e.call(b, "DELETE", "/api/v1/factors/"+phoneID, nil), 204, "")
		for _, table := range []string{"factors WHERE kind = 'sms'", "sent_codes"} {
			var n int
			if err := rawDB(t, e).QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil || n != 0 {
				t.Fatalf("%s: %d rows left after removing the phone (%v)", table, n, err)
			}
		}
		e.advance(30 * time.Second)
		x := e.srv.Client()
		if r := e.password(x, "sms@example.com"); r.str("default_method_id") != appID {
			t.Fatalf("after removing the phone the default is %s, want the app", r.Body)
		}
	})
}

// TestPhoneNumbersAreEncryptedAtRest looks at the SQLite files themselves:
// the digits of an enrolled number must not be there.
func TestPhoneNumbersAreEncryptedAtRest(t *testing.T) {
	e, tw := startTwilio(t, "sqlite", nil, false)
	c := e.signup("rest@example.com")
	r := e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": "0412 345 678", "country": "AU", "channel": "sms"})
	e.want(r, 201, "")
	id := r.JSON["factor"].(map[string]any)["id"].(string)
	e.want(e.call(c, "POST", "/api/v1/factors/"+id+"/confirm", map[string]string{"code": codeOf(t, tw.last(t).Body)}), 200, "")
	e.srv.App.Account.Flush()
	dir := filepath.Dir(strings.TrimPrefix(e.srv.App.Config.Database.URL, "sqlite:"))
	files, _ := filepath.Glob(filepath.Join(dir, "twostep.db*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, needle := range []string{"61412345678", "412345678", "412 345 678"} {
			if bytes.Contains(b, []byte(needle)) {
				t.Fatalf("%s contains the phone number %q in the clear", filepath.Base(f), needle)
			}
		}
	}
}
