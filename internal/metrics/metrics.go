// Package metrics counts what an operator watches a running twostep by:
// sign-ins, second steps, refusals by a limit, code deliveries, the
// password hasher's queue, request latency, database errors, recoveries
// and admin actions. Every metric lives in the registry of one Metrics
// (never the global one), served apart from the public listener.
//
// Most counts are derived from what already passes through the store —
// every security event is recorded with AddEvent, every limit spends its
// units through Reserve — so the flows need no hooks of their own: the
// store, the hasher, the delivery chain and the HTTP middleware tell a
// Metrics, which turns their words into a small, fixed set of label values.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds twostep's metrics and their registry.
type Metrics struct {
	reg *prometheus.Registry

	events       *prometheus.CounterVec
	signIns      *prometheus.CounterVec
	secondSteps  *prometheus.CounterVec
	recoveries   *prometheus.CounterVec
	adminActions *prometheus.CounterVec
	refusals     *prometheus.CounterVec
	deliveries   *prometheus.CounterVec
	deliveryTime *prometheus.HistogramVec
	hashWait     prometheus.Histogram
	hashRefused  prometheus.Counter
	requests     *prometheus.HistogramVec
	dbErrors     *prometheus.CounterVec
}

// New returns a Metrics with its own registry, holding twostep's metrics
// and the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "twostep_security_events_total",
			Help: "Security events recorded, by kind and outcome (the values of GET /api/v1/events).",
		}, []string{"kind", "outcome"}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "twostep_signins_total",
			Help: "Sign-in attempts by result: success, second_factor_required, failure, throttled, locked or other.",
		}, []string{"result"}),
		secondSteps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "twostep_second_steps_total",
			Help: "Second-step codes checked, by method (totp, sms, voice, email, recovery_code, webauthn, unknown) and result (success, failure, locked, lockout).",
		}, []string{"method", "result"}),
		recoveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "twostep_recoveries_total",
			Help: "Account recoveries by stage: recovery_code (a recovery code used), or a stage of the recovery with a waiting period.",
		}, []string{"stage"}),
		adminActions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "twostep_admin_actions_total",
			Help: "Operator actions recorded as security events (kinds admin_*), by action.",
		}, []string{"action"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "twostep_rate_limit_refusals_total",
			Help: "Requests refused because a limit was spent, by limit (pw:acct, code:ip, send:phone:day…).",
		}, []string{"limit"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "twostep_code_deliveries_total",
			Help: "Attempts to deliver a code, by channel, provider and outcome (sent or failed); retries and failovers count each attempt.",
		}, []string{"channel", "provider", "outcome"}),
		deliveryTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "twostep_code_delivery_duration_seconds",
			Help:    "How long a provider took to accept (or refuse) a code, by channel and provider.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"channel", "provider"}),
		hashWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "twostep_argon2_queue_wait_seconds",
			Help:    "How long an admitted password hash waited for a hashing slot (0 when one was free).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		hashRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "twostep_argon2_admission_refusals_total",
			Help: "Password hashes refused at admission: every slot was taken and the queue could not drain within password.max_wait.",
		}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "twostep_http_request_duration_seconds",
			Help:    "HTTP requests on the public listener, by route pattern (never the raw path) and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "status"}),
		dbErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "twostep_database_errors_total",
			Help: "Statements the database failed, by operation (read or write); a row not found is no error.",
		}, []string{"operation"}),
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(m.collectors()...)
	// The series a dashboard plots from the start exist at zero, so a
	// rate() shows the first event instead of a gap.
	for _, r := range signInResults {
		m.signIns.WithLabelValues(r)
	}
	for _, op := range []string{"read", "write"} {
		m.dbErrors.WithLabelValues(op)
	}
	for _, s := range recoveryStages {
		m.recoveries.WithLabelValues(s)
	}
	return m
}

// collectors are twostep's own metrics.
func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		m.events, m.signIns, m.secondSteps, m.recoveries, m.adminActions, m.refusals,
		m.deliveries, m.deliveryTime, m.hashWait, m.hashRefused, m.requests, m.dbErrors,
	}
}

// Registry is where the metrics are registered: what /metrics serves and
// tests gather.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format, for the
// metrics listener only (server.metrics_addr).
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	return mux
}

// signInResults are the results of twostep_signins_total: the outcomes a
// signin event is recorded with, and other for any new one.
var signInResults = []string{"success", "second_factor_required", "failure", "throttled", "locked", "other"}

// secondStepResults are the outcomes of second_factor events counted as
// second steps: a wrong code, a code refused because a budget of wrong
// codes is spent, and the wrong code that spent it (counted as a failure
// too).
var secondStepResults = map[string]bool{"failure": true, "locked": true, "lockout": true}

// methods are the factor kinds, the values of the method label.
var methods = map[string]bool{"totp": true, "sms": true, "voice": true, "email": true, "recovery_code": true, "webauthn": true}

// recoveryKinds maps the event kinds of recoveries to their stage. The
// recovery with a waiting period (lost every method) records the last
// four.
var recoveryKinds = map[string]string{
	"recovery_code_used": "recovery_code",
	"recovery_requested": "requested",
	"recovery_started":   "started",
	"recovery_cancelled": "cancelled",
	"recovery_completed": "completed",
}

var recoveryStages = []string{"recovery_code", "requested", "started", "cancelled", "completed"}

// adminActions are the operator's commands (twostep users …), recorded
// as events of kind "admin_" + action.
var adminActions = map[string]bool{
	"disable": true, "enable": true, "reset_two_step": true, "force_password_reset": true,
	"import": true, "export": true, "delete": true,
}

// Event counts a security event as the store records it. Its kind and
// outcome feed twostep_security_events_total; signin events feed
// twostep_signins_total; second_factor events, and the sign-ins and
// step-ups completed with a code, feed twostep_second_steps_total, by the
// method of the factor the request read (FactorRead); recovery and admin_
// kinds feed twostep_recoveries_total and twostep_admin_actions_total.
func (m *Metrics) Event(ctx context.Context, kind, outcome string) {
	m.events.WithLabelValues(bounded(kind), bounded(outcome)).Inc()
	switch {
	case kind == "signin":
		m.signIns.WithLabelValues(oneOf(outcome, signInResults)).Inc()
		if outcome == "success" {
			if method, ok := probed(ctx); ok {
				m.secondSteps.WithLabelValues(method, "success").Inc()
			}
		}
	case kind == "step_up" && outcome == "success":
		if method, ok := probed(ctx); ok {
			m.secondSteps.WithLabelValues(method, "success").Inc()
		}
	case kind == "second_factor" && secondStepResults[outcome]:
		method, ok := probed(ctx)
		if !ok {
			method = "unknown"
		}
		m.secondSteps.WithLabelValues(method, outcome).Inc()
	case strings.HasPrefix(kind, "admin_"):
		action := strings.TrimPrefix(kind, "admin_")
		if !adminActions[action] {
			action = "other"
		}
		m.adminActions.WithLabelValues(action).Inc()
	}
	if stage, ok := recoveryKinds[kind]; ok && outcome == "success" {
		m.recoveries.WithLabelValues(stage).Inc()
	}
}

// bounded keeps a stored kind or outcome (lower-case words joined by
// underscores, a fixed set in package audit) from ever becoming an
// arbitrary label value.
func bounded(s string) string {
	if s == "" || len(s) > 40 {
		return "other"
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' {
			return "other"
		}
	}
	return s
}

func oneOf(s string, values []string) string {
	for _, v := range values {
		if s == v {
			return s
		}
	}
	return "other"
}

// FactorRead notes, for the request ctx belongs to, the kind of the
// factor it read: the method a code it then checks is for.
func (m *Metrics) FactorRead(ctx context.Context, kind string) {
	p, ok := ctx.Value(probeKey{}).(*probe)
	if !ok {
		return
	}
	if !methods[kind] {
		kind = "other"
	}
	p.mu.Lock()
	p.method = kind
	p.mu.Unlock()
}

// Refused counts a request refused by the limit at key (a rate-limit key
// such as "pw:acct:…"; only its kind is kept).
func (m *Metrics) Refused(key string) {
	if l, ok := Limit(key); ok {
		m.refusals.WithLabelValues(l).Inc()
	}
}

// limits are the values of the limit label: the kinds of every
// rate-limit key twostep spends (README, "Metrics").
var limits = map[string]bool{
	"pw:acct": true, "pw:ip": true, "pw:browser": true, "pw:change": true,
	"code:acct": true, "code:acct:day": true, "code:browser": true, "code:browser:day": true, "code:ip": true,
	"send:acct": true, "send:ip": true, "send:email": true, "send:email:day": true,
	"send:phone": true, "send:phone:day": true, "send:global": true, "send:country": true,
	"reset:ip": true, "reset:to": true, "signup:ip": true, "verify:acct": true, "oidc:client": true,
}

// Limit is the limit a rate-limit key belongs to, without the account,
// address or number it names: "pw:acct", "send:phone:day"; other for a
// key of no known limit. ok is false for the keys that only keep a
// notice to one (code:lockmail): they refuse no one's request.
func Limit(key string) (string, bool) {
	parts := strings.SplitN(key, ":", 4)
	if parts[0] == "code" && len(parts) > 1 && parts[1] == "lockmail" {
		return "", false
	}
	l := parts[0]
	if len(parts) > 1 {
		l += ":" + parts[1]
	}
	if len(parts) > 2 && parts[2] == "day" {
		l += ":day"
	}
	if !limits[l] {
		return "other", true
	}
	return l, true
}

// Failed counts a statement the database failed; op is "read" or
// "write". A cancelled request's statements are not the database's fault.
func (m *Metrics) Failed(op string, err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	m.dbErrors.WithLabelValues(op).Inc()
}

// Delivered counts one attempt to deliver a code by a provider.
func (m *Metrics) Delivered(channel, provider string, ok bool, took time.Duration) {
	outcome := "sent"
	if !ok {
		outcome = "failed"
	}
	m.deliveries.WithLabelValues(channel, provider, outcome).Inc()
	m.deliveryTime.WithLabelValues(channel, provider).Observe(took.Seconds())
}

// HashWaited records how long an admitted password hash waited for a slot.
func (m *Metrics) HashWaited(d time.Duration) { m.hashWait.Observe(d.Seconds()) }

// HashRefused counts a password hash refused at admission.
func (m *Metrics) HashRefused() { m.hashRefused.Inc() }

// Begin starts measuring a request: its context gets the probe that
// FactorRead writes to and Event reads.
func (m *Metrics) Begin(ctx context.Context) context.Context {
	return context.WithValue(ctx, probeKey{}, &probe{})
}

// End records a request served by route (its mux pattern, "" when none
// matched: refused before routing) with status, after d.
func (m *Metrics) End(_ context.Context, route string, status int, d time.Duration) {
	if route == "" {
		route = "none"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Observe(d.Seconds())
}

// probe is what one request's work notes for its metrics.
type probe struct {
	mu     sync.Mutex
	method string // the kind of the factor read last
}

type probeKey struct{}

func probed(ctx context.Context) (string, bool) {
	p, ok := ctx.Value(probeKey{}).(*probe)
	if !ok {
		return "", false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.method, p.method != ""
}
