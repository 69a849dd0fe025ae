package api_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/testenv"
)

// sentSoFar is a copy of what the fake Twilio has sent.
func (f *fakeTwilio) sentSoFar() []twilioRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]twilioRequest(nil), f.sent...)
}

var spokenDigit = regexp.MustCompile(`(\d)\.`)

// codeOfCall reads the code a call reads out (the TwiML says it twice).
func codeOfCall(t *testing.T, twiml string) string {
	t.Helper()
	digits := spokenDigit.FindAllStringSubmatch(twiml, -1)
	if len(digits) < 6 {
		t.Fatalf("TwiML does not read out 6 digits: %s", twiml)
	}
	var code string
	for _, d := range digits[:6] {
		code += d[1]
	}
	return code
}

// codeOfRequest reads the code from a text or a call.
func codeOfRequest(t *testing.T, r twilioRequest) string {
	t.Helper()
	if r.Kind == "Calls" {
		return codeOfCall(t, r.Twiml)
	}
	return codeOf(t, r.Body)
}

// startTwilioInstances runs n twostep instances on one database (same
// data directory, so the same secrets key), one clock and one fake Twilio:
// what several instances behind a load balancer look like.
func startTwilioInstances(t *testing.T, engine string, n int, adjust func(*config.Config)) ([]*env, *fakeTwilio) {
	t.Helper()
	tw := newFakeTwilio(t)
	clock := testenv.NewClock()
	cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
	cfg.Delivery.SMS, cfg.Delivery.Voice = "twilio", "twilio"
	cfg.Delivery.Twilio = config.Twilio{AccountSID: tw.sid, AuthToken: tw.token, From: "+15005550006", BaseURL: tw.srv.URL, VoiceLanguage: "en-GB"}
	cfg.Limits.SignupPerAddress.Limit = 1000
	if adjust != nil {
		adjust(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	envs := make([]*env, n)
	for i := range envs {
		envs[i] = &env{t: t, srv: testenv.Start(t, cfg, app.Options{Now: clock.Now}), clock: clock}
	}
	return envs, tw
}

// burst sends n requests at once through client c, the i-th through
// envs[i%len(envs)] with body(i), and counts the answers by status.
func burst(t *testing.T, envs []*env, c *http.Client, n int, path string, body func(i int) any) map[int]int {
	t.Helper()
	count := map[int]int{}
	for _, r := range fireAll(t, envs, n, func(int) *http.Client { return c }, path, body) {
		count[r.Status]++
	}
	return count
}

// TestOneCodeGoesOutUnderConcurrentSends fires 20 sends for one factor at
// once: resends of a pending phone (one channel), then sign-in sends split
// between texts and calls with no live code yet. Exactly one message per
// channel goes out, every message carries the same code, and a later
// resend within the code's life carries it too. On both engines, and on
// two instances sharing one PostgreSQL.
func TestOneCodeGoesOutUnderConcurrentSends(t *testing.T) {
	cases := []struct {
		name, engine string
		instances    int
	}{{"sqlite", "sqlite", 1}, {"postgres", "postgres", 1}, {"postgres-two-instances", "postgres", 2}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			envs, tw := startTwilioInstances(t, tc.engine, tc.instances, nil)
			e := envs[0]
			const n = 20
			c := e.signup("burst@example.com")
			r := e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": "+447400123456", "channel": "sms"})
			e.want(r, 201, "")
			phoneID := r.JSON["factor"].(map[string]any)["id"].(string)
			first := codeOf(t, tw.last(t).Body)

			// 1. Resends of the pending phone: one text, the same code.
			e.advance(31 * time.Second)
			before := len(tw.sentSoFar())
			count := burst(t, envs, c, n, "/api/v1/factors/"+phoneID+"/resend", func(int) any { return nil })
			sent := tw.sentSoFar()[before:]
			t.Logf("%d concurrent resends: statuses %v, %d texts sent", n, count, len(sent))
			if count[202] != 1 || count[429] != n-1 || len(sent) != 1 {
				t.Fatalf("%d concurrent resends: statuses %v, %d texts; want 1 × 202, %d × 429, 1 text", n, count, len(sent), n-1)
			}
			if got := codeOf(t, sent[0].Body); got != first {
				t.Fatal("a resend within the code's life sent a different code")
			}
			e.want(e.call(c, "POST", "/api/v1/factors/"+phoneID+"/confirm", map[string]string{"code": first}), 200, "")
			e.want(e.call(c, "POST", "/api/v1/factors/recovery-codes", nil), 201, "")
			e.want(e.call(c, "POST", "/api/v1/two-step/enable", nil), 200, "")

			// 2. Sign-in sends with no live code: texts and calls at once,
			// through every instance.
			b := e.srv.Client()
			if si := e.password(b, "burst@example.com"); si.str("default_method_id") != phoneID {
				t.Fatalf("sign-in = %s", si.Body)
			}
			e.advance(31 * time.Second)
			before = len(tw.sentSoFar())
			count = burst(t, envs, b, n, "/api/v1/signin/send", func(i int) any {
				ch := "sms"
				if (i/len(envs))%2 == 1 {
					ch = "voice"
				}
				return map[string]string{"method_id": phoneID, "channel": ch}
			})
			sent = tw.sentSoFar()[before:]
			kinds := map[string]int{}
			codes := map[string]bool{}
			for _, m := range sent {
				kinds[m.Kind]++
				codes[codeOfRequest(t, m)] = true
			}
			t.Logf("%d concurrent sign-in sends (texts and calls): statuses %v, %d messages sent (%v), %d distinct codes", n, count, len(sent), kinds, len(codes))
			if count[202] != 2 || count[429] != n-2 || kinds["Messages"] != 1 || kinds["Calls"] != 1 {
				t.Fatalf("statuses %v, messages %v; want 2 × 202, %d × 429, one text and one call", count, kinds, n-2)
			}
			if len(codes) != 1 {
				t.Fatalf("the text and the call carry %d different codes, want one", len(codes))
			}
			var code string
			for k := range codes {
				code = k
			}
			// A later resend, through the other instance, sends it again.
			e.advance(31 * time.Second)
			last := envs[len(envs)-1]
			last.want(last.call(b, "POST", "/api/v1/signin/send", map[string]string{"method_id": phoneID, "channel": "sms"}), 202, "")
			if got := codeOf(t, tw.last(t).Body); got != code {
				t.Fatal("a resend within the code's life sent a different code")
			}
			e.want(e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": phoneID, "code": code}), 200, "")
		})
	}
}

// TestFailedSendGivesTheCooldownBack: when every provider fails, nothing
// was sent, so the user may try again at once (and gets the same code).
func TestFailedSendGivesTheCooldownBack(t *testing.T) {
	forEngineTwilio(t, func(t *testing.T, e *env, tw *fakeTwilio) {
		c := e.signup("retry@example.com")
		r := e.call(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": "+447400123456", "channel": "sms"})
		e.want(r, 201, "")
		id := r.JSON["factor"].(map[string]any)["id"].(string)
		first := codeOf(t, tw.last(t).Body)
		e.advance(31 * time.Second)
		tw.mu.Lock()
		tw.down = true
		tw.mu.Unlock()
		e.want(e.call(c, "POST", "/api/v1/factors/"+id+"/resend", nil), 503, "delivery_failed")
		tw.mu.Lock()
		tw.down = false
		tw.mu.Unlock()
		e.want(e.call(c, "POST", "/api/v1/factors/"+id+"/resend", nil), 202, "")
		if got := codeOf(t, tw.last(t).Body); got != first {
			t.Fatal("the retry sent a different code")
		}
		r = e.call(c, "POST", "/api/v1/factors/"+id+"/resend", nil)
		e.want(r, 429, "rate_limited")
		if r.JSON["retry_after_s"] != float64(30) {
			t.Fatalf("retry_after_s = %v, want 30", r.JSON["retry_after_s"])
		}
	})
}

// TestConfirmedNumberKeepsItsOwnSendBudget: another account adding the
// owner's confirmed number over and over is refused once the number's
// cross-account budget is spent, and that does not touch the owner: their
// sign-in texts and calls still go out, within their own budget.
func TestConfirmedNumberKeepsItsOwnSendBudget(t *testing.T) {
	forEngineTwilio(t, func(t *testing.T, e *env, tw *fakeTwilio) {
		const number = "+447400123456"
		a := e.signup("owner@example.com")
		r := e.call(a, "POST", "/api/v1/factors/phone", map[string]string{"phone": number, "channel": "sms"})
		e.want(r, 201, "")
		phoneID := r.JSON["factor"].(map[string]any)["id"].(string)
		e.want(e.call(a, "POST", "/api/v1/factors/"+phoneID+"/confirm", map[string]string{"code": codeOf(t, tw.last(t).Body)}), 200, "")
		e.want(e.call(a, "POST", "/api/v1/factors/recovery-codes", nil), 201, "")
		e.want(e.call(a, "POST", "/api/v1/two-step/enable", nil), 200, "")

		// The attacker adds the owner's number until refused: 5 a number
		// an hour while unconfirmed, the owner's enrolment text included.
		b := e.signup("attacker@example.com")
		added := 0
		for {
			e.advance(time.Second)
			rb := e.call(b, "POST", "/api/v1/factors/phone", map[string]string{"phone": "07400 123456", "country": "GB", "channel": "sms"})
			if rb.Status == 429 {
				break
			}
			e.want(rb, 201, "")
			if added++; added > 10 {
				t.Fatal("adding the same number is never refused")
			}
		}
		if added != 4 {
			t.Fatalf("the attacker added the number %d times before refusal, want 4", added)
		}

		// The owner still signs in by text and by call.
		x := e.srv.Client()
		if si := e.password(x, "owner@example.com"); si.str("default_method_id") != phoneID {
			t.Fatalf("sign-in = %s", si.Body)
		}
		e.advance(31 * time.Second) // the enrolment text's cooldown
		e.want(e.call(x, "POST", "/api/v1/signin/send", map[string]string{"method_id": phoneID}), 202, "")
		text := tw.last(t)
		if text.Kind != "Messages" || text.To != number {
			t.Fatalf("sign-in text = %+v", text.Kind)
		}
		code := codeOf(t, text.Body)
		e.want(e.call(x, "POST", "/api/v1/signin/send", map[string]string{"method_id": phoneID, "channel": "voice"}), 202, "")
		if call := tw.last(t); call.Kind != "Calls" || codeOfCall(t, call.Twiml) != code {
			t.Fatal("'Call me instead' did not read out the sign-in code")
		}
		// The owner's own budget for the number: 5 an hour, text and call
		// included, and the attacker is still refused.
		sends := 2
		for {
			e.advance(31 * time.Second)
			rs := e.call(x, "POST", "/api/v1/signin/send", map[string]string{"method_id": phoneID})
			if rs.Status == 429 {
				break
			}
			e.want(rs, 202, "")
			if sends++; sends > 10 {
				t.Fatal("the owner's sends to the number are never limited")
			}
		}
		if sends != 5 {
			t.Fatalf("the owner sent %d codes to the number before refusal, want 5", sends)
		}
		e.want(e.call(b, "POST", "/api/v1/factors/phone", map[string]string{"phone": number, "channel": "sms"}), 429, "rate_limited")
		e.want(e.call(x, "POST", "/api/v1/signin/verify", map[string]any{"method_id": phoneID, "code": code}), 200, "")
	})
}

// TestEmailCodesHaveAPerRecipientBudget: codes by e-mail are bounded per
// address like texts per number: across accounts while the address is
// unconfirmed, per owner once it is, so other accounts cannot spend the
// owner's sign-in codes.
func TestEmailCodesHaveAPerRecipientBudget(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			e, _ := startTwilio(t, engine, func(c *config.Config) {
				c.Methods.Email = true
				c.Limits.SignupPerAddress.Limit = 1000
			}, false)
			codeMails := func(addr string) []string {
				var codes []string
				for _, m := range e.outbox(addr) {
					if strings.HasPrefix(m.Subject, "Your twostep code") {
						codes = append(codes, m.Code)
					}
				}
				return codes
			}

			// Unconfirmed: accounts adding one address share its budget.
			const target = "target@example.com"
			added := 0
			for i := 0; ; i++ {
				c := e.signup(fmt.Sprintf("adder%d@example.com", i))
				r := e.call(c, "POST", "/api/v1/factors/email", map[string]string{"email": target})
				if r.Status == 429 {
					break
				}
				e.want(r, 201, "")
				if added++; added > 10 {
					t.Fatal("adding the same e-mail address is never refused")
				}
			}
			if added != 5 || len(codeMails(target)) != 5 {
				t.Fatalf("%d adds, %d code e-mails to one address before refusal; want 5", added, len(codeMails(target)))
			}

			// Confirmed: the owner's codes use the owner's budget.
			e.advance(time.Hour)
			const owner = "mailowner@example.com"
			o := e.signup(owner)
			r := e.call(o, "POST", "/api/v1/factors/email", nil)
			e.want(r, 201, "")
			mailID := r.JSON["factor"].(map[string]any)["id"].(string)
			e.want(e.call(o, "POST", "/api/v1/factors/"+mailID+"/confirm", map[string]string{"code": codeMails(owner)[0]}), 200, "")
			e.want(e.call(o, "POST", "/api/v1/factors/recovery-codes", nil), 201, "")
			e.want(e.call(o, "POST", "/api/v1/two-step/enable", nil), 200, "")
			for i := 0; i < 4; i++ {
				c := e.signup(fmt.Sprintf("squatter%d@example.com", i))
				e.want(e.call(c, "POST", "/api/v1/factors/email", map[string]string{"email": owner}), 201, "")
			}
			c := e.signup("squatter-last@example.com")
			e.want(e.call(c, "POST", "/api/v1/factors/email", map[string]string{"email": owner}), 429, "rate_limited")

			x := e.srv.Client()
			if si := e.password(x, owner); si.str("default_method_id") != mailID {
				t.Fatalf("sign-in = %s", si.Body)
			}
			mails := len(codeMails(owner))
			sends := 0
			for {
				e.advance(31 * time.Second)
				rs := e.call(x, "POST", "/api/v1/signin/send", map[string]string{"method_id": mailID})
				if rs.Status == 429 {
					break
				}
				e.want(rs, 202, "")
				if sends++; sends > 10 {
					t.Fatal("the owner's e-mail codes are never limited")
				}
			}
			if sends != 5 || len(codeMails(owner)) != mails+5 {
				t.Fatalf("the owner got %d sign-in code e-mails (%d sends) before refusal, want 5", len(codeMails(owner))-mails, sends)
			}
			e.want(e.call(x, "POST", "/api/v1/signin/verify", map[string]any{"method_id": mailID, "code": codeMails(owner)[0]}), 200, "")
		})
	}
}
