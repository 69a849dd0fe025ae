package loadtest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestUnits(t *testing.T) {
	if got := mib(-1); got != "n/a" {
		t.Errorf("mib(-1) = %q, want n/a", got)
	}
	if got := mib(256 << 10); got != "256.0" {
		t.Errorf("mib(256 MiB) = %q, want 256.0", got)
	}
	if got := percent(-1); got != "n/a" {
		t.Errorf("percent(-1) = %q, want n/a", got)
	}
	if got := percent(88.6); got != "89%" {
		t.Errorf("percent(88.6) = %q, want 89%%", got)
	}
	if got := ms(1500 * time.Microsecond); got != 1.5 {
		t.Errorf("ms(1.5ms) = %v, want 1.5", got)
	}
}

// bound is a hashing bound of 40 hashes/s on 4 CPUs, 80 ms CPU per hash.
var bound = hashBound{rate: 40, n: 120, elapsed: 3 * time.Second, perHash: 100 * time.Millisecond,
	cpu: cpuUse{gen: 80, others: 2, iowait: 0, pg: -1, srv: -1, genTime: 120 * 80 * time.Millisecond}}

func lat(msecs ...int) []time.Duration {
	var d []time.Duration
	for _, m := range msecs {
		d = append(d, time.Duration(m)*time.Millisecond)
	}
	return d
}

func TestPrintBound(t *testing.T) {
	var b strings.Builder
	printBound(&b, bound, 4)
	want := "hashing bound: 40.0 hashes/s (120 verifies in 3.00s; 100.0 ms per hash per goroutine, 80.0 ms CPU per hash; CPU: this process 80%, other processes 2%, iowait 0%)\n" +
		"CPU-time bound: 50.0 hashes/s (4 CPUs ÷ 80.0 ms CPU per hash: the bound on this machine if nothing else ran)\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	printBound(&b, hashBound{rate: 1, n: 1, cpu: cpuUse{gen: -1, others: -1, iowait: -1, genTime: -1}}, 4)
	if strings.Contains(b.String(), "CPU-time bound") || !strings.Contains(b.String(), "this process n/a") {
		t.Fatalf("without CPU figures got\n%s\nwant n/a and no CPU-time bound", b.String())
	}
}

func TestPrintLevels(t *testing.T) {
	rs := []levelResult{
		{outcome: outcome{ok: 100, lat: lat(slices.Repeat([]int{20}, 99)...)}, conc: 1, elapsed: 10 * time.Second,
			mem: memStats{peakRSS: 100 << 10, hwm: 101 << 10, hwmPhase: true,
				cpu: cpuUse{srv: 25, gen: 1, pg: -1, others: 3, iowait: 0, srvTime: 10 * time.Second}}},
		{outcome: outcome{ok: 360, status: map[int]int{503: 2}, lat: lat(1, 2, 3), firstErr: "EOF", transport: 1}, conc: 16, elapsed: 10 * time.Second,
			mem: memStats{peakRSS: -1, hwm: -1, cpu: cpuUse{srv: -1, gen: -1, pg: -1, others: -1, iowait: -1, srvTime: -1}}},
	}
	rs[0].lat = append(rs[0].lat, 500*time.Millisecond)
	var b strings.Builder
	printLevels(&b, rs, bound, 4)
	out := b.String()
	rows := tableRows(out)
	if len(rows) != 3 {
		t.Fatalf("%d table rows, want a header and 2 levels:\n%s", len(rows), out)
	}
	for i, want := range [][]string{
		// clients sign-ins /s %bound %bound(c) p50 p99 max errors RSS HWM srv loadgen pg others iowait ms/op share
		{"1", "100", "10.0", "25%", "100%", "20.0", "20.0", "500.0", "0", "100.0", "101.0", "25%", "1%", "n/a", "3%", "0%", "100.0", "80%"},
		{"16", "360", "36.0", "90%", "90%", "2.0", "3.0", "3.0", "3", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a"},
	} {
		if !slices.Equal(rows[i+1], want) {
			t.Errorf("row %d = %q\nwant     %q", i+1, rows[i+1], want)
		}
	}
	for _, line := range []string{
		"  clients 1: 200×100 in 10.00s\n",
		"  clients 16: 200×360 503×2 no-answer×1 in 10.00s; first transport error: EOF\n",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("missing %q in\n%s", line, out)
		}
	}
	if strings.Contains(out, "VmHWM could not be reset") {
		t.Errorf("says VmHWM could not be reset although it was:\n%s", out)
	}
	b.Reset()
	printLevels(&b, nil, bound, 4)
	if b.Len() != 0 {
		t.Errorf("no levels printed %q, want nothing", b.String())
	}
}

// tableRows splits the lines of the right-aligned table into fields.
func tableRows(out string) [][]string {
	var rows [][]string
	in := false
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "clients  sign-ins") {
			in = true
			rows = append(rows, nil) // the header's fields contain spaces
			continue
		}
		if in && strings.TrimSpace(line) == "" {
			break
		}
		if in {
			rows = append(rows, strings.Fields(line))
		}
	}
	return rows
}

func TestPrintBurst(t *testing.T) {
	r := burstResult{
		outcome: outcome{ok: 3, lat: lat(100, 200, 300), status: map[int]int{503: 2, 429: 1}, retryAfter: 2,
			failLat: lat(5, 7, 9), transport: 1, firstErr: "connection reset"},
		n: 7, elapsed: 1500 * time.Millisecond,
		mem: memStats{peakRSS: 200 << 10, hwm: 210 << 10, cpu: cpuUse{srv: 50, gen: 2, pg: -1, others: 1, iowait: 0}},
	}
	var b strings.Builder
	printBurst(&b, r)
	want := `Burst: 7 sign-ins released at once, all answered in 1.50s
  200 signed in      3  p50 200.0 ms, p99 300.0 ms, max 300.0 ms
  503 busy           2  2 with Retry-After
  other answers      1  200×3 429×1 503×2 no-answer×1
  no answer          1  connection reset
  time to a refusal     p50 7.0 ms, max 9.0 ms
  server memory         peak VmRSS 200.0 MiB (sampled every 100 ms), VmHWM 210.0 MiB
  CPU                   server 50%, load generator 2%, postgres n/a, other processes 1%, iowait 0% (of the whole machine)
`
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWarnings(t *testing.T) {
	quiet := cpuUse{others: 1}
	good := levelResult{outcome: outcome{ok: 380}, conc: 4, elapsed: 10 * time.Second, mem: memStats{peakRSS: 100 << 10, hwm: 100 << 10, cpu: quiet}}
	if w := warnings([]levelResult{good}, &burstResult{outcome: outcome{ok: 5}}, serverLog{warns: 3}, bound, 4); len(w) != 0 {
		t.Fatalf("a good run warns %q", w)
	}
	noisy := bound
	noisy.cpu.others = 40
	slow := levelResult{outcome: outcome{ok: 100, status: map[int]int{500: 1}}, conc: 16, elapsed: 10 * time.Second,
		mem: memStats{peakRSS: 300 << 10, hwm: -1, cpu: cpuUse{others: 20}}}
	br := &burstResult{outcome: outcome{ok: 1, status: map[int]int{503: 3, 502: 1}, retryAfter: 2, transport: 1},
		mem: memStats{peakRSS: 100 << 10, hwm: 257 << 10}}
	got := warnings([]levelResult{slow}, br, serverLog{locked: 2, busy: 1, errors: 4}, noisy, 4)
	want := []string{
		"other processes used 40% of the machine while the hashing bound was measured: the bound is too low",
		"16 clients: 1 failed sign-ins (200×100 500×1)",
		"16 clients: 10.0 sign-ins/s is 25% of the bound for 4 core(s) (40.0/s), below 90%",
		"16 clients: other processes used 20% of the machine: figures are disturbed",
		"16 clients: server RSS peaked at 300.0 MiB, above 256 MiB",
		"burst: server RSS peaked at 257.0 MiB, above 256 MiB",
		"burst: 2 answers neither 200 nor 503 (200×1 502×1 503×3 no-answer×1)",
		"burst: 1 of 3 503s without Retry-After",
		`server log: 2 × "database is locked", 1 × SQLITE_BUSY`,
		"server log: 4 ERROR line(s)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("warnings:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPrintReport(t *testing.T) {
	var b strings.Builder
	printReport(&b, report{engine: "SQLite in /tmp/x/data", ncpu: 4, bound: bound,
		log: serverLog{warns: 1, samples: []string{"level=WARN msg=hello"}}, stopErr: errors.New("exit status 1")})
	want := "\n== results (SQLite in /tmp/x/data; bound 40.0 hashes/s on 4 CPUs) ==\n\n\n" +
		"server log: 0 × \"database is locked\", 0 × SQLITE_BUSY, 0 ERROR line(s), 1 WARN line(s)\n" +
		"  level=WARN msg=hello\n" +
		"server stop: exit status 1\n"
	if b.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestParseServerLog(t *testing.T) {
	long := "time=3 level=ERROR msg=" + strings.Repeat("x", 400)
	text := strings.Join([]string{
		"time=1 level=INFO msg=started",
		"time=2 level=WARN msg=\"request throttled\" flow=signin",
		"time=3 level=WARN msg=\"request throttled\" flow=signin",
		"time=4 level=ERROR msg=\"sign in\" err=\"database is locked (5) (SQLITE_BUSY)\"",
		long,
		"",
	}, "\n")
	s := parseServerLog(text)
	if s.locked != 1 || s.busy != 1 || s.errors != 2 || s.warns != 2 {
		t.Errorf("counts = locked %d, busy %d, errors %d, warns %d; want 1, 1, 2, 2", s.locked, s.busy, s.errors, s.warns)
	}
	if len(s.samples) != 3 {
		t.Fatalf("samples = %q, want 3 distinct (the repeated message once)", s.samples)
	}
	if got := s.samples[2]; len(got) != 300+len("…") || !strings.HasSuffix(got, "…") {
		t.Errorf("long line kept as %d bytes, want 300 and an ellipsis", len(got))
	}
	missing := scanServerLog(t.TempDir() + "/none.log")
	if len(missing.samples) != 1 || !strings.HasPrefix(missing.samples[0], "cannot read the server log: ") {
		t.Errorf("missing log: samples %q", missing.samples)
	}
}
