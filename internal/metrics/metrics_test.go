package metrics

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestLint: every twostep metric passes the Prometheus linter (names,
// units, help, counters ending in _total), the registry's Go and process
// collectors included, and every one of ours is named twostep_….
func TestLint(t *testing.T) {
	m := New()
	// Give every vector a series, so the linter sees them all.
	ctx := m.Begin(context.Background())
	m.FactorRead(ctx, "totp")
	m.Event(ctx, "second_factor", "failure")
	m.Event(ctx, "admin_disable", "success")
	m.Refused("pw:ip:192.0.2.1")
	m.Delivered("sms", "twilio", true, time.Second)
	m.HashWaited(0)
	m.HashRefused()
	m.End(ctx, "GET /api/v1/me", 200, time.Millisecond)
	m.Failed("read", errors.New("connection refused"))

	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	for _, c := range m.collectors() {
		problems, err := testutil.CollectAndLint(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
		if testutil.CollectAndCount(c) == 0 {
			t.Errorf("%v collected nothing", c)
		}
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	ours := 0
	for _, mf := range mfs {
		name := mf.GetName()
		switch {
		case strings.HasPrefix(name, "twostep_"):
			ours++
		case strings.HasPrefix(name, "go_"), strings.HasPrefix(name, "process_"):
		default:
			t.Errorf("metric %s is neither twostep's nor the Go or process collector's", name)
		}
	}
	if ours != len(m.collectors()) {
		t.Errorf("%d twostep_ metrics gathered, want %d", ours, len(m.collectors()))
	}
}

// TestEventsFeedTheirMetrics: what the store records is counted where the
// README says, with label values from a fixed set.
func TestEventsFeedTheirMetrics(t *testing.T) {
	m := New()
	req := func(method string) context.Context {
		ctx := m.Begin(context.Background())
		if method != "" {
			m.FactorRead(ctx, method)
		}
		return ctx
	}
	m.Event(req(""), "signin", "failure")
	m.Event(req(""), "signin", "second_factor_required")
	m.Event(req(""), "signin", "success")    // no second step: password or remembered browser
	m.Event(req("sms"), "signin", "success") // completed with a text
	m.Event(req("sms"), "second_factor", "failure")
	m.Event(req("totp"), "step_up", "success")
	m.Event(req(""), "step_up", "success") // with the password: no second step
	m.Event(context.Background(), "second_factor", "locked")
	m.Event(req("recovery_code"), "recovery_code_used", "success")
	m.Event(req(""), "signin", "something new")
	m.Event(req(""), "admin_reset_two_step", "success")
	m.Event(req(""), "admin_whatever", "success")
	m.Event(req(""), "Weird Kind!", "success")

	want := []struct {
		name   string
		got    float64
		expect float64
	}{
		{"signins failure", testutil.ToFloat64(m.signIns.WithLabelValues("failure")), 1},
		{"signins second_factor_required", testutil.ToFloat64(m.signIns.WithLabelValues("second_factor_required")), 1},
		{"signins success", testutil.ToFloat64(m.signIns.WithLabelValues("success")), 2},
		{"signins other", testutil.ToFloat64(m.signIns.WithLabelValues("other")), 1},
		{"second steps sms success", testutil.ToFloat64(m.secondSteps.WithLabelValues("sms", "success")), 1},
		{"second steps sms failure", testutil.ToFloat64(m.secondSteps.WithLabelValues("sms", "failure")), 1},
		{"second steps totp success (step-up)", testutil.ToFloat64(m.secondSteps.WithLabelValues("totp", "success")), 1},
		{"second steps unknown locked", testutil.ToFloat64(m.secondSteps.WithLabelValues("unknown", "locked")), 1},
		{"recoveries by code", testutil.ToFloat64(m.recoveries.WithLabelValues("recovery_code")), 1},
		{"admin reset_two_step", testutil.ToFloat64(m.adminActions.WithLabelValues("reset_two_step")), 1},
		{"admin other", testutil.ToFloat64(m.adminActions.WithLabelValues("other")), 1},
		{"events of an odd kind", testutil.ToFloat64(m.events.WithLabelValues("other", "success")), 1},
	}
	for _, w := range want {
		if w.got != w.expect {
			t.Errorf("%s = %v, want %v", w.name, w.got, w.expect)
		}
	}
	if n := testutil.CollectAndCount(m.secondSteps); n != 4 {
		t.Errorf("%d second-step series, want 4 (no step-up with a password, no success without a method)", n)
	}
}

func TestLimit(t *testing.T) {
	for _, tt := range []struct {
		key, want string
		counted   bool
	}{
		{"pw:acct:0123456789abcdef", "pw:acct", true},
		{"pw:ip:2001:db8::1", "pw:ip", true},
		{"code:acct:day:u1", "code:acct:day", true},
		{"code:browser:day:abc:u1", "code:browser:day", true},
		{"send:phone:day:u1:hash", "send:phone:day", true},
		{"send:phone:u1:hash", "send:phone", true},
		{"send:global", "send:global", true},
		{"send:country:GB", "send:country", true},
		{"oidc:client:hash", "oidc:client", true},
		{"brand:new:key", "other", true},
		{"code:lockmail:u1:123", "", false},
	} {
		got, counted := Limit(tt.key)
		if got != tt.want || counted != tt.counted {
			t.Errorf("Limit(%q) = %q, %v; want %q, %v", tt.key, got, counted, tt.want, tt.counted)
		}
	}
}

// TestGatherAndCompare pins the exposition of a few counters, as a
// dashboard reads them.
func TestGatherAndCompare(t *testing.T) {
	m := New()
	m.Refused("pw:acct:x")
	m.Refused("pw:acct:y")
	m.Refused("code:lockmail:u:1") // keeps a notice to one: refuses no one
	m.Failed("write", errors.New("conn closed"))
	m.Failed("read", context.Canceled)
	m.Failed("read", fmt.Errorf("list events: %w", context.Canceled))
	m.HashRefused()
	want := `
# HELP twostep_rate_limit_refusals_total Requests refused because a limit was spent, by limit (pw:acct, code:ip, send:phone:day…).
# TYPE twostep_rate_limit_refusals_total counter
twostep_rate_limit_refusals_total{limit="pw:acct"} 2
# HELP twostep_database_errors_total Statements the database failed, by operation (read or write); a row not found is no error.
# TYPE twostep_database_errors_total counter
twostep_database_errors_total{operation="read"} 0
twostep_database_errors_total{operation="write"} 1
# HELP twostep_argon2_admission_refusals_total Password hashes refused at admission: every slot was taken and the queue could not drain within password.max_wait.
# TYPE twostep_argon2_admission_refusals_total counter
twostep_argon2_admission_refusals_total 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"twostep_rate_limit_refusals_total", "twostep_database_errors_total", "twostep_argon2_admission_refusals_total"); err != nil {
		t.Error(err)
	}
}

// TestREADMEListsEveryMetric: the README's "Metrics" section names every
// metric twostep registers, for the dashboards built from it.
func TestREADMEListsEveryMetric(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Metrics\n")
	if !ok {
		t.Fatal(`README has no "## Metrics" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	m := New()
	for _, c := range m.collectors() {
		ch := make(chan *prometheus.Desc, 4)
		c.Describe(ch)
		close(ch)
		for d := range ch {
			name := strings.Split(strings.TrimPrefix(d.String(), `Desc{fqName: "`), `"`)[0]
			if !strings.Contains(section, "`"+name+"`") {
				t.Errorf("README's Metrics section does not list %s", name)
			}
		}
	}
}
