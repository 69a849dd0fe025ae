package loadtest

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"twostep/internal/config"
	"twostep/internal/forwardauth"
)

func TestCheckSlice(t *testing.T) {
	for _, tc := range []struct{ d, want time.Duration }{
		{3 * time.Second, 250 * time.Millisecond},
		{10 * time.Second, 250 * time.Millisecond},
		{time.Second, 250 * time.Millisecond},
		{700 * time.Millisecond, 350 * time.Millisecond}, // one pair
		{40 * time.Millisecond, 20 * time.Millisecond},
		{1100 * time.Millisecond, 275 * time.Millisecond},
	} {
		got := checkSlice(tc.d)
		if got != tc.want {
			t.Errorf("checkSlice(%s) = %s, want %s", tc.d, got, tc.want)
		}
		if tc.d%(2*got) != 0 {
			t.Errorf("checkSlice(%s) = %s: %s is no whole number of pairs", tc.d, got, tc.d)
		}
	}
}

// TestCheckConfig: the file the child reads is valid YAML config, changes
// nothing but the access rules, and puts the bench's target under a
// one_factor rule, anything else under deny.
func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	path, err := writeCheckConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, "bench.yaml") {
		t.Errorf("config written to %s, want bench.yaml in the run's directory", path)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != checkConfig {
		t.Fatalf("file holds %q, %v; want checkConfig", b, err)
	}
	want := "# twostep bench: the access rules of the forward-auth phase\n" +
		"access_control:\n" +
		"  default_policy: deny\n" +
		"  rules:\n" +
		"    - domain: [\"app.bench.example\"]\n" +
		"      policy: one_factor\n"
	if checkConfig != want {
		t.Fatalf("checkConfig =\n%s\nwant\n%s", checkConfig, want)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("the server would refuse it: %v", err)
	}
	def := config.Default()
	ac := cfg.AccessControl
	cfg.AccessControl = def.AccessControl
	if !reflect.DeepEqual(cfg, def) {
		t.Errorf("the config changes more than access_control")
	}
	rules, err := forwardauth.Compile(ac)
	if err != nil {
		t.Fatal(err)
	}
	if p := rules.Policy(forwardauth.Target{Host: checkHost, Path: checkURI, Method: http.MethodGet}); p != forwardauth.OneFactor {
		t.Errorf("policy of the bench's target = %v, want one_factor", p)
	}
	if p := rules.Policy(forwardauth.Target{Host: "other.example", Path: "/", Method: http.MethodGet}); p != forwardauth.Deny {
		t.Errorf("policy of another host = %v, want deny", p)
	}
}

func TestServerArgs(t *testing.T) {
	got := serverArgs("127.0.0.1:9", "/tmp/b", "/tmp/b/bench.yaml")
	want := []string{"serve", "--addr", "127.0.0.1:9", "--data-dir", "/tmp/b/data", "--config", "/tmp/b/bench.yaml"}
	if !slices.Equal(got, want) {
		t.Errorf("serverArgs = %q, want %q", got, want)
	}
	if got := serverArgs("127.0.0.1:9", "/tmp/b", ""); !slices.Equal(got, want[:5]) {
		t.Errorf("serverArgs without a config = %q, want %q", got, want[:5])
	}
}

func TestCheckHeaders(t *testing.T) {
	h := checkHeaders("twostep_session=tok")
	for k, v := range map[string]string{
		"Cookie": "twostep_session=tok", "X-Forwarded-Method": "GET", "X-Forwarded-Proto": "https",
		"X-Forwarded-Host": "app.bench.example", "X-Forwarded-Uri": "/orders?id=7", "Accept": "text/html",
	} {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(h) != 6 {
		t.Errorf("%d headers, want 6: %v", len(h), h)
	}
}

func TestCheckResultRates(t *testing.T) {
	r := checkResult{fa: outcome{ok: 300}, hz: outcome{ok: 400, status: map[int]int{500: 1}}, each: 2 * time.Second}
	if r.faRate() != 150 || r.hzRate() != 200 || r.ratio() != 75 || r.errors() != 1 {
		t.Errorf("rates %v, %v, ratio %v, errors %d; want 150, 200, 75, 1", r.faRate(), r.hzRate(), r.ratio(), r.errors())
	}
	r.hz = outcome{transport: 3}
	if r.ratio() != -1 || percent(r.ratio()) != "n/a" {
		t.Errorf("ratio without /healthz answers = %v, want -1 (n/a)", r.ratio())
	}
}

func TestAddAnswer(t *testing.T) {
	o := outcome{bad200: "200-no-user"}
	o.addAnswer(200, true, nil, nil, time.Millisecond)
	o.addAnswer(200, false, nil, nil, 2*time.Millisecond)
	o.addAnswer(302, false, header("Location", "/signin"), nil, 3*time.Millisecond)
	if o.ok != 1 || o.errors() != 2 || !slices.Equal(o.lat, lat(1)) || !slices.Equal(o.failLat, lat(2, 3)) {
		t.Errorf("outcome = %+v", o)
	}
	if got := o.statuses(); got != "200×1 200-no-user×1 302×1" {
		t.Errorf("statuses = %q", got)
	}
}

// checks are two levels of the forward-auth phase: one clean, one broken
// without figures from /proc.
func checks() []checkResult {
	return []checkResult{
		{conc: 1, each: 2 * time.Second, slice: 250 * time.Millisecond, elapsed: 4 * time.Second,
			fa: outcome{ok: 8000, lat: lat(slices.Repeat([]int{1}, 99)...)},
			hz: outcome{ok: 10000, lat: lat(slices.Repeat([]int{1}, 50)...)},
			mem: memStats{startRSS: 30 << 10, peakRSS: 32 << 10, hwm: 33 << 10, endRSS: 31 << 10,
				cpu: cpuUse{srv: 40, gen: 30, pg: -1, others: 2, iowait: 0}}},
		{conc: 16, each: 2 * time.Second, slice: 250 * time.Millisecond, elapsed: 4100 * time.Millisecond,
			fa: outcome{ok: 1000, status: map[int]int{0: 2, 401: 1}, bad200: "200-no-user", lat: lat(3, 4)},
			hz: outcome{ok: 4000, transport: 1, firstErr: "EOF", lat: lat(1, 2)},
			mem: memStats{startRSS: -1, peakRSS: 300 << 10, hwm: -1, endRSS: -1,
				cpu: cpuUse{srv: -1, gen: -1, pg: -1, others: 20, iowait: -1}}},
	}
}

func TestPrintChecks(t *testing.T) {
	cs := checks()
	cs[0].fa.lat = append(cs[0].fa.lat, 9*time.Millisecond)
	var b strings.Builder
	printChecks(&b, cs)
	out := b.String()
	if !strings.HasPrefix(out, "Forward-auth: GET /api/v1/authz/forward-auth as Caddy/Traefik ask it (X-Forwarded-Method GET, -Proto https, -Host app.bench.example, -Uri /orders?id=7; one_factor rule)") ||
		!strings.Contains(out, "switch between the two every 250ms") || !strings.Contains(out, "(target ≥ 60%)") {
		t.Errorf("heading of\n%s", out)
	}
	var rows [][]string
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(strings.TrimSpace(line), "clients  checks  checks/s  healthz  healthz/s  ratio"):
			in = true
		case in && strings.TrimSpace(line) == "":
			in = false
		case in:
			rows = append(rows, strings.Fields(line))
		}
	}
	for i, want := range [][]string{
		// clients checks /s healthz /s ratio p50 p99 max hz-p50 hz-p99 errors RSS-start peak HWM end srv loadgen pg others iowait
		{"1", "8000", "4000.0", "10000", "5000.0", "80%", "1.00", "1.00", "9.00", "1.00", "1.00", "0", "30.0", "32.0", "33.0", "31.0", "40%", "30%", "n/a", "2%", "0%"},
		{"16", "1000", "500.0", "4000", "2000.0", "25%", "3.00", "4.00", "4.00", "1.00", "2.00", "4", "n/a", "300.0", "n/a", "n/a", "n/a", "n/a", "n/a", "20%", "n/a"},
	} {
		if i >= len(rows) || !slices.Equal(rows[i], want) {
			t.Errorf("row %d = %q\nwant    %q\n%s", i, rows[min(i, len(rows)-1)], want, out)
		}
	}
	if len(rows) != 2 {
		t.Errorf("%d rows, want 2:\n%s", len(rows), out)
	}
	for _, line := range []string{
		"  forward-auth, clients 1: checks 200×8000; /healthz 200×10000; in 4.00s\n",
		"  forward-auth, clients 16: checks 200×1000 200-no-user×2 401×1; /healthz 200×4000 no-answer×1; in 4.10s; first transport error: EOF\n",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("missing %q in\n%s", line, out)
		}
	}
}

func TestCheckWarnings(t *testing.T) {
	cs := checks()
	if w := checkWarnings(cs[:1]); len(w) != 0 {
		t.Errorf("a good level warns %q", w)
	}
	got := checkWarnings(cs)
	want := []string{
		"forward-auth, 16 clients: 3 failed checks (200×1000 200-no-user×2 401×1)",
		"forward-auth, 16 clients: 1 failed /healthz (200×4000 no-answer×1)",
		"forward-auth, 16 clients: 500.0 checks/s is 25% of /healthz (2000.0/s), below the 60% target",
		"forward-auth, 16 clients: other processes used 20% of the machine: figures are disturbed",
		"forward-auth, 16 clients: server RSS peaked at 300.0 MiB, above 256 MiB",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("warnings:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestPrintReportWithChecks: the forward-auth section comes after the
// sign-in sections, before the server log, and its warnings after theirs.
func TestPrintReportWithChecks(t *testing.T) {
	var b strings.Builder
	printReport(&b, report{engine: "SQLite in /tmp/x/data", ncpu: 4, bound: bound, checks: checks(),
		burst: &burstResult{outcome: outcome{ok: 1}, n: 1}, log: serverLog{errors: 1}})
	inOrder(t, b.String(),
		"Burst: 1 sign-ins released at once",
		"Forward-auth: GET /api/v1/authz/forward-auth",
		"  forward-auth, clients 16: ",
		"server log: ",
		"WARNING: server log: 1 ERROR line(s)\n",
		"WARNING: forward-auth, 16 clients: 3 failed checks",
	)
}
