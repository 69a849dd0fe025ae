package loadtest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"twostep/internal/testenv"
)

// stepClock moves on by step at every read, so a phase of d lasts a fixed
// number of clock reads however fast the machine is.
type stepClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func newStepClock() *stepClock { return &stepClock{t: testenv.ClockStart(), step: time.Millisecond} }

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// twostepBinary builds cmd/twostep once, the server a run starts.
func twostepBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "loadtest-bin-")
		if err != nil {
			buildErr = err
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		binary = filepath.Join(dir, "twostep")
		out, err := exec.Command(goTool, "build", "-o", binary, "twostep/cmd/twostep").CombinedOutput()
		if err != nil {
			buildErr = errors.New("go build twostep/cmd/twostep: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

// TestRun runs the whole load test, briefly, on each engine and checks the
// report's shape, that every level signed in without errors, and that the
// temporary directory and the PostgreSQL schema are gone afterwards.
func TestRun(t *testing.T) {
	exe := twostepBinary(t)
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			o := Options{
				Duration: 40 * time.Millisecond, // of the step clock: about a dozen sign-ins per level
				Levels:   []int{1, 2},
				Burst:    3,
				Users:    2,
				HashFor:  10 * time.Millisecond,
				Binary:   exe,
				Now:      newStepClock().Now,
			}
			if engine == "postgres" {
				o.DatabaseURL = testenv.PostgresURL(t)
			}
			var out bytes.Buffer
			if err := Run(t.Context(), o, &out); err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			report := out.String()
			engineName := "SQLite in "
			if engine == "postgres" {
				engineName = "PostgreSQL, schema bench_"
			}
			inOrder(t, report,
				"twostep bench: "+runtime.Version(),
				"[1] bare argon2id (password.Hasher.Verify) on ",
				"hashing bound: ",
				"[2] starting `twostep serve` ("+engineName,
				"[3] creating 2 accounts …\n2 accounts created in ",
				"[3b] forward-auth warm-up: 2 concurrent client(s) for 40ms, not counted …",
				"[3b] forward-auth: 1 concurrent client(s) for 40ms, switching with /healthz every 20ms …",
				"[3b] forward-auth: 2 concurrent client(s) for 40ms, switching with /healthz every 20ms …",
				"[4] 1 concurrent client(s) for 40ms …",
				"[4] 2 concurrent client(s) for 40ms …",
				"[5] burst: 3 sign-ins at once …",
				"== results ("+engineName,
				"clients  sign-ins  sign-ins/s  % bound",
				"  clients 1: 200×",
				"  clients 2: 200×",
				"Burst: 3 sign-ins released at once",
				"Forward-auth: GET /api/v1/authz/forward-auth",
				"clients  checks  checks/s  healthz  healthz/s  ratio",
				"  forward-auth, clients 1: checks 200×",
				"  forward-auth, clients 2: checks 200×",
				"server log: 0 × \"database is locked\", 0 × SQLITE_BUSY, 0 ERROR line(s)",
				"server stopped cleanly after SIGTERM\n",
			)
			levels := regexp.MustCompile(`(?m)^(\d+) sign-ins, [\d.]+/s, (\d+) errors$`).FindAllStringSubmatch(report, -1)
			if len(levels) != 2 {
				t.Fatalf("%d level summaries, want 2:\n%s", len(levels), report)
			}
			for _, m := range levels {
				if n, _ := strconv.Atoi(m[1]); n == 0 || m[2] != "0" {
					t.Errorf("level %q: want sign-ins and no errors\n%s", m[0], report)
				}
			}
			checks := regexp.MustCompile(`(?m)^(\d+) checks, [\d.]+/s; /healthz ([\d.]+)/s; ratio \d+%; (\d+) errors$`).FindAllStringSubmatch(report, -1)
			if len(checks) != 2 {
				t.Fatalf("%d forward-auth summaries, want 2:\n%s", len(checks), report)
			}
			for _, m := range checks {
				if n, _ := strconv.Atoi(m[1]); n == 0 || m[2] == "0.0" || m[3] != "0" {
					t.Errorf("forward-auth level %q: want checks, /healthz answers and no errors\n%s", m[0], report)
				}
			}
			if strings.Contains(report, "WARNING: forward-auth") && !strings.Contains(report, "below the 60% target") && !strings.Contains(report, "figures are disturbed") {
				t.Errorf("forward-auth warns of more than the machine's speed or noise:\n%s", report)
			}
			if runtime.GOOS == "linux" && strings.Contains(report, "peak VmRSS n/a") {
				t.Errorf("no server memory on Linux:\n%s", report)
			}

			switch engine {
			case "sqlite":
				dir := regexp.MustCompile(`SQLite in (\S+)/data\)`).FindStringSubmatch(report)
				if dir == nil {
					t.Fatalf("no data directory in\n%s", report)
				}
				if _, err := os.Stat(dir[1]); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("temporary directory %s still there (%v)", dir[1], err)
				}
			case "postgres":
				schema := regexp.MustCompile(`schema (bench_[0-9a-f]+)`).FindStringSubmatch(report)
				if schema == nil {
					t.Fatalf("no schema in\n%s", report)
				}
				db, err := sql.Open("pgx", o.DatabaseURL)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				var n int
				if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema[1]).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 0 {
					t.Errorf("schema %s was not dropped", schema[1])
				}
			}
		})
	}
}

// inOrder fails unless every part occurs in s, each after the one before.
func inOrder(t *testing.T, s string, parts ...string) {
	t.Helper()
	rest := s
	for _, p := range parts {
		i := strings.Index(rest, p)
		if i < 0 {
			t.Fatalf("report lacks %q (or has it out of order):\n%s", p, s)
		}
		rest = rest[i+len(p):]
	}
}

func TestRunKeepsTheDirectoryWhenAsked(t *testing.T) {
	// A binary that is no twostep: the run stops at the server, and --keep
	// leaves its log behind for a look.
	fake := filepath.Join(t.TempDir(), "not-twostep")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"not twostep: $*\" >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	o := Options{Duration: time.Millisecond, Levels: []int{1}, Users: 1, HashFor: 5 * time.Millisecond,
		Keep: true, Binary: fake, Now: newStepClock().Now}
	var out bytes.Buffer
	err := Run(t.Context(), o, &out)
	if err == nil || !strings.Contains(err.Error(), "bench: server exited before it was ready") {
		t.Fatalf("Run with a binary that does not serve = %v, want the server's early exit", err)
	}
	kept := regexp.MustCompile(`(?m)^kept (\S+)$`).FindStringSubmatch(out.String())
	if kept == nil {
		t.Fatalf("no \"kept\" line in\n%s", out.String())
	}
	defer os.RemoveAll(kept[1])
	if log, err := os.ReadFile(filepath.Join(kept[1], "server.log")); err != nil || !strings.Contains(string(log), "not twostep: serve") {
		t.Fatalf("kept server log = %q, %v; want the child's output", log, err)
	}
	// The child was given the forward-auth phase's rules.
	cfg := filepath.Join(kept[1], "bench.yaml")
	if log, _ := os.ReadFile(filepath.Join(kept[1], "server.log")); !strings.Contains(string(log), " --config "+cfg+"\n") {
		t.Errorf("the child's arguments (%q) lack --config %s", log, cfg)
	}
	if b, err := os.ReadFile(cfg); err != nil || string(b) != checkConfig {
		t.Errorf("kept %s = %q, %v; want checkConfig", cfg, b, err)
	}

	// Without the phase the child runs without a config file.
	o.SkipForwardAuth, o.Now = true, newStepClock().Now
	out.Reset()
	if err := Run(t.Context(), o, &out); err == nil {
		t.Fatal("Run with a binary that does not serve succeeded")
	}
	kept = regexp.MustCompile(`(?m)^kept (\S+)$`).FindStringSubmatch(out.String())
	if kept == nil {
		t.Fatalf("no \"kept\" line in\n%s", out.String())
	}
	defer os.RemoveAll(kept[1])
	if log, _ := os.ReadFile(filepath.Join(kept[1], "server.log")); !strings.Contains(string(log), "not twostep: serve") || strings.Contains(string(log), "--config") {
		t.Errorf("with SkipForwardAuth the child's arguments are %q, want no --config", log)
	}
	if _, err := os.Stat(filepath.Join(kept[1], "bench.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("with SkipForwardAuth bench.yaml exists (%v)", err)
	}
}

func TestRunRefusesBadOptionsAndStopsWhenCancelled(t *testing.T) {
	var out bytes.Buffer
	o := validOptions()
	o.Users = 0
	if err := Run(t.Context(), o, &out); err == nil || out.Len() != 0 {
		t.Fatalf("Run with no users = %v after writing %q; want an error before anything", err, out.String())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	o = validOptions()
	o.Now = newStepClock().Now
	if err := Run(ctx, o, &out); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with a cancelled context = %v, want context.Canceled", err)
	}
}
