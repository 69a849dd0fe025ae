// Package testenv starts real twostep servers for tests: on SQLite in a
// temporary directory, or on PostgreSQL in a fresh schema of the database
// named by TWOSTEP_TEST_POSTGRES_URL. Under CI=true a missing PostgreSQL is
// a failure, never a skip.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL for schema set-up

	"twostep/internal/app"
	"twostep/internal/config"
)

// Engines are the database engines every integration test runs on.
var Engines = []string{"sqlite", "postgres"}

// PostgresURL returns the test PostgreSQL URL, skipping the test when there
// is none outside CI and failing it in CI.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TWOSTEP_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TWOSTEP_TEST_POSTGRES_URL is not set: CI must test PostgreSQL")
		}
		t.Skip("TWOSTEP_TEST_POSTGRES_URL not set; PostgreSQL tests skipped outside CI")
	}
	return u
}

// DatabaseURL returns a database URL for engine that no other test uses:
// a new SQLite file, or a new PostgreSQL schema dropped after the test.
func DatabaseURL(t testing.TB, engine string) string {
	t.Helper()
	switch engine {
	case "sqlite":
		return "sqlite:" + t.TempDir() + "/twostep.db"
	case "postgres":
		base := PostgresURL(t)
		schema := "t_" + randHex(8)
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			t.Fatalf("create schema: %v", err)
		}
		t.Cleanup(func() {
			db, err := sql.Open("pgx", base)
			if err == nil {
				db.Exec("DROP SCHEMA " + schema + " CASCADE")
				db.Close()
			}
		})
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	t.Fatalf("unknown engine %q", engine)
	return ""
}

// Config returns settings for tests: cheap password hashing (the cost is
// argon2's, not what the tests check), the given database, a temp data dir.
func Config(t testing.TB, dbURL string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Database.URL = dbURL
	cfg.Server.DataDir = t.TempDir()
	cfg.Password.MemoryKiB = 1024
	cfg.Password.Iterations = 1
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Clock is a settable clock for tests of expiry and windows.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// DefaultClockStart is where test clocks start unless
// TWOSTEP_TEST_CLOCK_START says otherwise.
var DefaultClockStart = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// ClockStart is the start of every test clock: DefaultClockStart, or the
// RFC 3339 time in TWOSTEP_TEST_CLOCK_START. CI runs the suites a second
// time with it a year away from today, so any read of the wall clock that
// bypasses the injected clock fails there.
func ClockStart() time.Time {
	v := os.Getenv("TWOSTEP_TEST_CLOCK_START")
	if v == "" {
		return DefaultClockStart
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		panic("TWOSTEP_TEST_CLOCK_START: want an RFC 3339 time such as 2027-06-01T09:00:00Z: " + err.Error())
	}
	return t.UTC()
}

// NewClock starts at ClockStart.
func NewClock() *Clock { return &Clock{t: ClockStart()} }

// RunningClock is a clock that starts at ClockStart and then moves with
// real time, for tests driven by a real browser and a real authenticator
// (oathtool --now) where nobody advances a fake clock.
type RunningClock struct{ offset time.Duration }

// NewRunningClock starts a running clock at ClockStart.
func NewRunningClock() *RunningClock { return &RunningClock{offset: ClockStart().Sub(time.Now())} }

// Now returns the clock's time.
func (c *RunningClock) Now() time.Time { return time.Now().Add(c.offset).UTC() }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock on.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Server is a running twostep behind httptest.
type Server struct {
	*httptest.Server
	App *app.App
}

// Start runs twostep with cfg. public_url is set to the test server's URL
// on "localhost" (a secure context for browsers).
func Start(t testing.TB, cfg config.Config, o app.Options) *Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + strings.Replace(ts.Listener.Addr().String(), "127.0.0.1", "localhost", 1)
	cfg.Server.PublicURL = base
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("TWOSTEP_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	a, err := app.Open(context.Background(), cfg, log, o)
	if err != nil {
		t.Fatalf("start twostep: %v", err)
	}
	ts.Config.Handler = a.Handler
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		a.Close()
	})
	return &Server{Server: ts, App: a}
}

// BaseURL is the server's URL on localhost.
func (s *Server) BaseURL() string { return s.App.Config.Server.PublicURL }

// Client returns an HTTP client with its own cookie jar that does not
// follow redirects.
func (s *Server) Client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// PostgresRole is a login role of its own for the test schema of dbURL (a
// PostgreSQL URL from DatabaseURL), dropped after the test.
type PostgresRole struct {
	Name   string
	Schema string
	// URL is dbURL as that role.
	URL   string
	admin string
}

// NewPostgresRole creates a role whose name starts with prefix, then
// grants it what grants lists, each statement formatted with the schema
// and the role's name (fmt verbs %[1]s and %[2]s).
func NewPostgresRole(t testing.TB, dbURL, prefix string, grants ...string) PostgresRole {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	r := PostgresRole{Name: prefix + strings.TrimPrefix(schema, "t_"), Schema: schema, admin: dbURL}
	r.Exec(t, "CREATE ROLE %[2]s LOGIN")
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", dbURL); err == nil {
			db.Exec("DROP OWNED BY " + r.Name)
			db.Exec("DROP ROLE " + r.Name)
			db.Close()
		}
	})
	for _, g := range grants {
		r.Exec(t, g)
	}
	u.User = url.User(r.Name)
	r.URL = u.String()
	return r
}

// Exec runs a statement as the test's own user, formatted with the schema
// and the role's name (%[1]s, %[2]s): to grant or revoke rights mid-test.
func (r PostgresRole) Exec(t testing.TB, stmt string) {
	t.Helper()
	admin, err := sql.Open("pgx", r.admin)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	q := fmt.Sprintf(stmt, r.Schema, r.Name)
	if _, err := admin.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// OathCode asks Debian's oathtool, a real TOTP client, for the code of a
// base32 secret at time at. A missing oathtool skips the test outside CI
// and fails it in CI.
func OathCode(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	path, err := exec.LookPath("oathtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("oathtool not installed: CI must install Debian's oathtool")
		}
		t.Skip("oathtool not installed")
	}
	out, err := exec.Command(path, "--totp", "-b", "-N", "@"+strconv.FormatInt(at.Unix(), 10), secret).Output()
	if err != nil {
		t.Fatalf("oathtool --totp %s: %v", secret, err)
	}
	code := strings.TrimSpace(string(out))
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		t.Fatalf("oathtool printed %q, want 6 digits", code)
	}
	return code
}
