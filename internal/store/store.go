// Package store holds all of twostep's SQL. One implementation serves SQLite
// and PostgreSQL: queries are written with ? placeholders and rebound for
// PostgreSQL, and the few dialect differences live in this file. Times are
// stored as Unix microseconds.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	_ "modernc.org/sqlite"             // pure-Go SQLite driver "sqlite", no cgo
)

// ErrNotFound is returned when a row asked for does not exist.
var ErrNotFound = errors.New("store: not found")

//go:embed migrations
var migrations embed.FS

// DB is a twostep database on either engine.
type DB struct {
	// w takes every write. On SQLite it is a single connection, so writers
	// queue in Go instead of failing with SQLITE_BUSY; r serves reads
	// concurrently (WAL). On PostgreSQL both are the same pool.
	w, r *sql.DB
	pg   bool

	mu      sync.Mutex
	rebound map[string]string

	// rstmts and wstmts cache the prepared statements of r and w (one
	// cache when they are the same pool); nil where statements are not
	// cached (PostgreSQL: pgx caches them per connection itself).
	rstmts, wstmts *stmtCache

	// observe, when set, sees every statement a request runs (tests
	// count them).
	observe atomic.Pointer[func(query string)]

	// sessionsChanged counts writes that may end or change a live session
	// or its user (see SessionsChanged).
	sessionsChanged atomic.Uint64

	// meter, when set, counts events, refusals and failures for the
	// metrics (SetMeter).
	meter Meter
}

// SessionsChanged is a counter this instance bumps with every write that
// can end or change a live session or its user (a revocation, a step-up,
// a user update), before and after it takes effect. A cache of session
// lookups keyed to its value is never stale on this instance; other
// instances' writes it cannot see, so such a cache must also expire.
func (db *DB) SessionsChanged() uint64 { return db.sessionsChanged.Load() }

// changesSessions reports whether a statement may end or change a live
// session or its user: an update or delete of either table, except the
// last-seen touch.
func changesSessions(q string) bool {
	q = strings.TrimSpace(q)
	switch {
	case strings.HasPrefix(q, "UPDATE sessions SET last_seen_at"):
		return false
	case strings.HasPrefix(q, "UPDATE sessions"), strings.HasPrefix(q, "DELETE FROM sessions"),
		strings.HasPrefix(q, "UPDATE users"), strings.HasPrefix(q, "DELETE FROM users"):
		return true
	}
	return false
}

// Observe calls f with every statement run from now on (nil: stop). It is
// for tests and diagnostics: counting what a request costs.
func (db *DB) Observe(f func(query string)) {
	if f == nil {
		db.observe.Store(nil)
		return
	}
	db.observe.Store(&f)
}

// Open connects to url (postgres://… or sqlite:PATH), or, when url is empty,
// to twostep.db in dataDir.
func Open(ctx context.Context, dbURL, dataDir string) (*DB, error) {
	if strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://") {
		pool, err := sql.Open("pgx", dbURL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		// As many idle connections as open ones, so a burst does not
		// close and reopen them; a connection idle for five minutes is
		// given back to the server.
		pool.SetMaxOpenConns(32)
		pool.SetMaxIdleConns(32)
		pool.SetConnMaxIdleTime(5 * time.Minute)
		db := &DB{w: pool, r: pool, pg: true, rebound: map[string]string{}}
		if err := db.Ping(ctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		return db, nil
	}
	path := strings.TrimPrefix(dbURL, "sqlite:")
	if dbURL == "" {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		path = filepath.Join(dataDir, "twostep.db")
	}
	if err := prepareFile(path); err != nil {
		return nil, err
	}
	// _txlock=immediate takes the write lock at BEGIN, so a read-then-write
	// transaction never fails half-way with SQLITE_BUSY.
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// Every pool keeps as many idle connections as it may open, and keeps
	// them: with database/sql's default of 2 idle, 16 concurrent requests
	// closed and reopened connections all the time, and every open runs
	// the DSN's pragmas (a tenth of /api/v1/me's CPU on SQLite).
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	r.SetConnMaxIdleTime(0)
	r.SetConnMaxLifetime(0)
	db := &DB{w: w, r: r, rebound: map[string]string{}, rstmts: newStmtCache(r), wstmts: newStmtCache(w)}
	// The first connection creates the file and switches it to WAL.
	if err := w.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

// prepareFile makes sure the SQLite file at path can be written and is
// readable by its owner only: a new file is created 0600 before SQLite
// opens it (its -wal and -shm files then get the same mode), and an
// existing one, with its -wal and -shm, loses any group and other bits.
// SQLite itself would open a file it cannot write read-only, and every
// write would fail later; twostep refuses to start instead.
func prepareFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open sqlite: %s cannot be written (read-only file, directory or disk?): %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("open sqlite: %w", err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(p, perm&0o600); err != nil {
				return fmt.Errorf("open sqlite: %s is readable by others (mode %04o) and could not be made 0600: %w", p, perm, err)
			}
		}
	}
	return nil
}

// CheckWritable proves the database takes writes: it commits a one-row
// upsert, which needs the write lock and reaches the disk. A read-only
// file, role or replica, or a full disk, fails it where a SELECT would
// still answer.
func (db *DB) CheckWritable(ctx context.Context) error {
	_, err := db.exec(ctx, `INSERT INTO health (id, probes) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET probes = health.probes + 1`)
	if err != nil {
		return fmt.Errorf("store: the database takes no writes (read-only file, role or replica, or a full disk?): %w", err)
	}
	return nil
}

// Postgres reports whether the store runs on PostgreSQL.
func (db *DB) Postgres() bool { return db.pg }

// Close closes every connection.
func (db *DB) Close() error {
	err := errors.Join(db.rstmts.close(), db.wstmts.close())
	err = errors.Join(err, db.w.Close())
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	return err
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// q rewrites ? placeholders as $1, $2… for PostgreSQL. Queries hold no
// literal question marks.
func (db *DB) q(query string) string {
	if f := db.observe.Load(); f != nil {
		(*f)(query)
	}
	if !db.pg {
		return query
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if s, ok := db.rebound[query]; ok {
		return s
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	db.rebound[query] = b.String()
	return b.String()
}

// Migrate applies the embedded migrations not yet applied, each in its own
// transaction. On PostgreSQL an advisory lock lets several instances start
// at once; on SQLite the single writer connection serialises them.
func (db *DB) Migrate(ctx context.Context) (applied int, err error) {
	dir := "migrations/sqlite"
	if db.pg {
		dir = "migrations/postgres"
	}
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })

	conn, err := db.w.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if db.pg {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7275650)"); err != nil {
			return 0, fmt.Errorf("migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(7275650)")
	}
	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)"); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	// health holds the one row CheckWritable writes: readiness is a write.
	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS health (id BIGINT PRIMARY KEY, probes BIGINT NOT NULL)"); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	for _, e := range entries {
		version, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return applied, fmt.Errorf("migrate: bad file name %s", e.Name())
		}
		body, err := fs.ReadFile(migrations, dir+"/"+e.Name())
		if err != nil {
			return applied, fmt.Errorf("migrate: %w", err)
		}
		// The check runs inside the transaction: on SQLite BEGIN IMMEDIATE
		// takes the write lock, so two processes migrating one file cannot
		// both decide to apply the same version.
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return applied, fmt.Errorf("migrate: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, db.q("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), version).Scan(&n); err != nil {
			tx.Rollback()
			return applied, fmt.Errorf("migrate: %w", err)
		}
		if n > 0 {
			tx.Rollback()
			continue
		}
		for _, stmt := range splitSQL(string(body)) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				tx.Rollback()
				return applied, fmt.Errorf("migrate %s: %w", e.Name(), err)
			}
		}
		if _, err := tx.ExecContext(ctx, db.q("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"), version, micros(time.Now())); err != nil {
			tx.Rollback()
			return applied, fmt.Errorf("migrate %s: %w", e.Name(), err)
		}
		if err := tx.Commit(); err != nil {
			return applied, fmt.Errorf("migrate %s: %w", e.Name(), err)
		}
		applied++
	}
	return applied, nil
}

// splitSQL splits a migration into statements at semicolons that end a
// line, dropping -- comments.
func splitSQL(s string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}

// NewID returns a random 128-bit identifier in hex.
func NewID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func nullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

func optMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}
