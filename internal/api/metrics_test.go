package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"twostep/internal/testenv"
)

// TestMetricsCountRealSignIns drives sign-ins through the API and reads
// the counters they moved: sign-ins by result, second steps by method and
// result, a recovery, a refusal by a limit, a code delivery, the hasher's
// queue and request latency by route pattern. The metrics pass the
// Prometheus linter, are served on the metrics handler and never on the
// public listener.
func TestMetricsCountRealSignIns(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		reg := e.srv.App.Metrics.Registry()
		en := e.enroll("metrics@example.com")
		e.want(e.call(en.client, "POST", "/api/v1/signout", nil), 204, "")

		// The enrolment's wrong confirmation code is a second step failed
		// with the app.
		if got := value(t, reg, "twostep_second_steps_total", "method", "totp", "result", "failure"); got != 1 {
			t.Errorf("second steps totp/failure after enrolment = %v, want 1", got)
		}
		before := map[string]float64{}
		for _, r := range []string{"success", "failure", "second_factor_required"} {
			before[r] = value(t, reg, "twostep_signins_total", "result", r)
		}

		// A wrong password, then the right one and a wrong code, then the
		// right code.
		b := e.srv.Client()
		e.want(e.call(b, "POST", "/api/v1/signin", map[string]string{"email": en.email, "password": "not it at all"}), 401, "invalid_credentials")
		e.password(b, en.email)
		e.want(e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": "000000"}), 401, "invalid_code")
		e.advance(30 * time.Second)
		e.want(e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": testenv.OathCode(t, en.secret, e.clock.Now())}), 200, "")

		// Another browser signs in with a recovery code.
		c := e.srv.Client()
		e.password(c, en.email)
		e.want(e.call(c, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.recID, "code": en.recovery[0]}), 200, "")

		for _, tt := range []struct {
			result string
			delta  float64
		}{{"failure", 1}, {"second_factor_required", 2}, {"success", 2}} {
			if got := value(t, reg, "twostep_signins_total", "result", tt.result) - before[tt.result]; got != tt.delta {
				t.Errorf("sign-ins %s moved by %v, want %v", tt.result, got, tt.delta)
			}
		}
		for _, tt := range []struct {
			method, result string
			want           float64
		}{{"totp", "failure", 2}, {"totp", "success", 1}, {"recovery_code", "success", 1}} {
			if got := value(t, reg, "twostep_second_steps_total", "method", tt.method, "result", tt.result); got != tt.want {
				t.Errorf("second steps %s/%s = %v, want %v", tt.method, tt.result, got, tt.want)
			}
		}
		if got := value(t, reg, "twostep_recoveries_total", "stage", "recovery_code"); got != 1 {
			t.Errorf("recoveries by recovery code = %v, want 1", got)
		}
		if got := value(t, reg, "twostep_security_events_total", "kind", "recovery_code_used", "outcome", "success"); got != 1 {
			t.Errorf("security events recovery_code_used/success = %v, want 1", got)
		}

		// Guessing one account's password: the account's throttle refuses
		// once its free attempts are spent.
		x := e.srv.Client()
		refused := false
		for i := 0; i < 10 && !refused; i++ {
			r := e.call(x, "POST", "/api/v1/signin", map[string]string{"email": en.email, "password": "guess number one"})
			refused = r.Status == http.StatusTooManyRequests
		}
		if !refused {
			t.Fatal("ten wrong passwords in a row were never refused")
		}
		if got := value(t, reg, "twostep_rate_limit_refusals_total", "limit", "pw:acct"); got < 1 {
			t.Errorf("refusals by pw:acct = %v, want at least 1", got)
		}
		if got := value(t, reg, "twostep_signins_total", "result", "throttled"); got < 1 {
			t.Errorf("throttled sign-ins = %v, want at least 1", got)
		}

		// A text sent through the outbox provider.
		p := e.signup("phone@example.com")
		e.want(e.call(p, "POST", "/api/v1/factors/phone", map[string]string{"phone": "+447400123456", "channel": "sms"}), 201, "")
		if got := value(t, reg, "twostep_code_deliveries_total", "channel", "sms", "provider", "outbox", "outcome", "sent"); got != 1 {
			t.Errorf("deliveries sms/outbox/sent = %v, want 1", got)
		}

		// Every password hash went through the hasher's queue.
		if n := histogramCount(t, reg, "twostep_argon2_queue_wait_seconds"); n < 5 {
			t.Errorf("argon2 queue waits observed = %d, want every hash (at least 5)", n)
		}

		// Latency by route pattern: the factor's id never becomes a label.
		// The wrong password and the five free guesses answered 401.
		if got := histogramCount(t, reg, "twostep_http_request_duration_seconds", "route", "POST /api/v1/signin", "status", "401"); got != 6 {
			t.Errorf("POST /api/v1/signin answered 401 %d times, want 6", got)
		}
		if got := histogramCount(t, reg, "twostep_http_request_duration_seconds", "route", "POST /api/v1/factors/{id}/confirm", "status", "200"); got != 1 {
			t.Errorf("confirmations by pattern = %d, want 1", got)
		}
		for _, mf := range gather(t, reg) {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if strings.Contains(l.GetValue(), en.totpID) || strings.Contains(l.GetValue(), "@") {
						t.Errorf("%s has label %s=%q: an id or address as a label value", mf.GetName(), l.GetName(), l.GetValue())
					}
				}
			}
		}

		problems, err := testutil.GatherAndLint(reg)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}

		// Served on the metrics handler; the public listener knows no
		// /metrics.
		rec := httptest.NewRecorder()
		e.srv.App.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `twostep_signins_total{result="success"}`) || !strings.Contains(rec.Body.String(), "go_goroutines") || !strings.Contains(rec.Body.String(), "process_") {
			t.Errorf("metrics handler: %d\n%.400s", rec.Code, rec.Body.String())
		}
		resp, err := e.srv.Client().Get(e.srv.BaseURL() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || strings.Contains(string(body), "twostep_") {
			t.Errorf("public GET /metrics = %d %.200s, want 404 and no metrics", resp.StatusCode, body)
		}
	})
}

func gather(t *testing.T, g prometheus.Gatherer) []*dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// series finds the series of name with the given label pairs (others
// may be present); nil when there is none.
func series(t *testing.T, g prometheus.Gatherer, name string, labels ...string) []*dto.Metric {
	t.Helper()
	var out []*dto.Metric
	for _, mf := range gather(t, g) {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metric
				}
			}
			out = append(out, m)
		}
	}
	return out
}

// value is the counter of name with labels: 0 when it has no series yet.
func value(t *testing.T, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	var v float64
	for _, m := range series(t, g, name, labels...) {
		v += m.GetCounter().GetValue()
	}
	return v
}

// histogramCount is how many observations the histograms of name with
// labels hold.
func histogramCount(t *testing.T, g prometheus.Gatherer, name string, labels ...string) uint64 {
	t.Helper()
	var n uint64
	for _, m := range series(t, g, name, labels...) {
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}
