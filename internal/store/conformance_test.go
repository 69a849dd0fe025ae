package store_test

// The store conformance suite: every test runs the same assertions on every
// engine in testenv.Engines, so SQLite and PostgreSQL cannot drift apart.
// Set TWOSTEP_TEST_POSTGRES_URL to include PostgreSQL.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"twostep/internal/store"
	"twostep/internal/testenv"
)

// base is a fixed time with microsecond precision, the precision the store
// keeps.
var base = time.Date(2026, 11, 27, 9, 0, 0, 123456000, time.UTC)

// at returns base moved on by d.
func at(d time.Duration) time.Time { return base.Add(d) }

// forEachEngine runs fn once per engine, each on a fresh, migrated database.
func forEachEngine(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			db, _ := openMigrated(t, engine)
			fn(t, db)
		})
	}
}

// forEachEngineURL is forEachEngine for tests that need the database URL
// (to open more connections) and the engine name.
func forEachEngineURL(t *testing.T, fn func(t *testing.T, engine, url string)) {
	t.Helper()
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			fn(t, engine, testenv.DatabaseURL(t, engine))
		})
	}
}

func open(t *testing.T, url string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), url, "")
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openMigrated(t *testing.T, engine string) (*store.DB, string) {
	t.Helper()
	url := testenv.DatabaseURL(t, engine)
	db := open(t, url)
	n, err := db.Migrate(context.Background())
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if want := migrationCount(t, engine); n != want {
		t.Fatalf("first Migrate applied %d migrations, want %d", n, want)
	}
	return db, url
}

// migrationCount counts the migration files shipped for engine.
func migrationCount(t *testing.T, engine string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("migrations", engine))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no migrations found for %s", engine)
	}
	return n
}

// rawCount counts rows with plain SQL, for effects the store's API cannot
// show (rows deleted by PurgeExpired). where uses ? placeholders.
func rawCount(t *testing.T, engine, url, table, where string, args ...any) int {
	t.Helper()
	driver, dsn := "pgx", url
	if engine == "sqlite" {
		driver, dsn = "sqlite", "file:"+strings.TrimPrefix(url, "sqlite:")
	} else {
		n := 0
		where = regexp.MustCompile(`\?`).ReplaceAllStringFunc(where, func(string) string { n++; return fmt.Sprintf("$%d", n) })
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow("SELECT COUNT(*) FROM "+table+" WHERE "+where, args...).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func ctx() context.Context { return context.Background() }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: got error %v, want store.ErrNotFound", what, err)
	}
}

// ---- comparisons: whole rows, times as instants ----

// rowDiff compares two rows of the same type field by field — every field,
// so a column the store forgets, swaps or mangles shows — with each
// time.Time compared as an instant (location and monotonic reading
// dropped). It returns "" when they are equal, else the fields that differ.
func rowDiff[T any](got, want T) string {
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	if g.Kind() != reflect.Struct {
		panic(fmt.Sprintf("rowDiff of a %T, want a struct", got))
	}
	var b strings.Builder
	for i := range g.NumField() {
		gf, wf := g.Field(i).Interface(), w.Field(i).Interface()
		if gt, ok := gf.(time.Time); ok {
			if wt := wf.(time.Time); gt.Equal(wt) && gt.IsZero() == wt.IsZero() {
				continue
			}
		} else if reflect.DeepEqual(gf, wf) {
			continue
		}
		fmt.Fprintf(&b, "\n  %s: got %#v, want %#v", g.Type().Field(i).Name, gf, wf)
	}
	return b.String()
}

// checkRow fails the test unless got, read with err, is the row want.
func checkRow[T any](t *testing.T, what string, got T, err error, want T) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if d := rowDiff(got, want); d != "" {
		t.Errorf("%s: the row differs:%s", what, d)
	}
}

// checkRows is checkRow for lists, in order.
func checkRows[T any](t *testing.T, what string, got []T, err error, want []T) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if len(got) != len(want) {
		t.Errorf("%s: got %d rows %+v, want %d %+v", what, len(got), got, len(want), want)
		return
	}
	for i := range want {
		if d := rowDiff(got[i], want[i]); d != "" {
			t.Errorf("%s[%d]: the row differs:%s", what, i, d)
		}
	}
}

func userDiff(got, want store.User) string { return rowDiff(got, want) }

func checkUser(t *testing.T, what string, got store.User, err error, want store.User) {
	t.Helper()
	checkRow(t, what, got, err, want)
}

func sessionEqual(a, b store.Session) bool { return rowDiff(a, b) == "" }

func tokenEqual(a, b store.Token) bool { return rowDiff(a, b) == "" }

func counterEqual(a, b store.Counter) bool { return rowDiff(a, b) == "" }

func checkCounter(t *testing.T, what string, got store.Counter, err error, want store.Counter) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !counterEqual(got, want) {
		t.Errorf("%s:\ngot  %+v\nwant %+v", what, got, want)
	}
}

func sessionIDs(ss []store.Session) []string {
	ids := []string{}
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	return ids
}

// ---- fixtures ----

func newUser(t *testing.T, db *store.DB, id, email string) store.User {
	t.Helper()
	u := store.User{ID: id, Email: email, PasswordHash: "hash-" + id, CreatedAt: base, PasswordChangedAt: base}
	must(t, db.CreateUser(ctx(), u))
	return u
}

func newSession(t *testing.T, db *store.DB, id, userID string, lastSeen, expires time.Time) store.Session {
	t.Helper()
	s := store.Session{
		ID: id, TokenHash: "th-" + id, UserID: userID, AAL: 1,
		CreatedAt: base, AuthenticatedAt: base, LastSeenAt: lastSeen, ExpiresAt: expires,
		IP: "192.0.2.1", UserAgent: "test-agent/" + id,
	}
	must(t, db.CreateSession(ctx(), s))
	return s
}

func newToken(t *testing.T, db *store.DB, hash, kind, userID string, expires time.Time) store.Token {
	t.Helper()
	tok := store.Token{Hash: hash, Kind: kind, UserID: userID, Email: userID + "@example.com", CreatedAt: base, ExpiresAt: expires}
	must(t, db.CreateToken(ctx(), tok))
	return tok
}

// ---- open, ping, migrate ----

func TestOpen(t *testing.T) {
	forEachEngineURL(t, func(t *testing.T, engine, url string) {
		db := open(t, url)
		if got, want := db.Postgres(), engine == "postgres"; got != want {
			t.Errorf("Postgres() = %v, want %v", got, want)
		}
		if err := db.Ping(ctx()); err != nil {
			t.Errorf("Ping: got %v, want nil", err)
		}
	})
}

func TestOpenSQLiteDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	db, err := store.Open(ctx(), "", dir)
	if err != nil {
		t.Fatalf("Open with data dir: %v", err)
	}
	defer db.Close()
	if db.Postgres() {
		t.Errorf("Postgres() = true for an empty URL, want false")
	}
	if _, err := db.Migrate(ctx()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "twostep.db")); err != nil {
		t.Errorf("twostep.db not created in data dir: %v", err)
	}
}

func TestOpenPostgresUnreachable(t *testing.T) {
	c, cancel := context.WithTimeout(ctx(), 10*time.Second)
	defer cancel()
	// Port 1 on loopback refuses connections.
	db, err := store.Open(c, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", "")
	if err == nil {
		db.Close()
		t.Fatalf("Open of an unreachable PostgreSQL: got nil error, want one")
	}
}

func TestMigrate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		for i := 2; i <= 3; i++ {
			n, err := db.Migrate(ctx())
			if err != nil || n != 0 {
				t.Errorf("Migrate run %d: got (%d, %v), want (0, nil)", i, n, err)
			}
		}
		// The schema still works after the no-op runs.
		newUser(t, db, "u1", "u1@example.com")
	})
}

// TestMigrateConcurrent starts three instances (separate store.DBs, so
// separate connections) on one empty database at once: all must succeed and
// together apply every migration exactly once. The race is timing-dependent,
// so it is run on several fresh databases.
func TestMigrateConcurrent(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			for round := range 10 {
				if !t.Run(fmt.Sprintf("round%d", round), func(t *testing.T) {
					migrateConcurrently(t, engine, testenv.DatabaseURL(t, engine))
				}) {
					return
				}
			}
		})
	}
}

func migrateConcurrently(t *testing.T, engine, url string) {
	const instances = 3
	dbs := make([]*store.DB, instances)
	for i := range dbs {
		dbs[i] = open(t, url)
	}
	applied := make([]int, instances)
	errs := make([]error, instances)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			applied[i], errs[i] = db.Migrate(ctx())
		}()
	}
	close(start)
	wg.Wait()
	total := 0
	for i := range dbs {
		if errs[i] != nil {
			t.Errorf("instance %d: Migrate: got error %v, want nil", i, errs[i])
		}
		total += applied[i]
	}
	if want := migrationCount(t, engine); total != want {
		t.Errorf("migrations applied in total: got %d (%v), want %d", total, applied, want)
	}
	for i, db := range dbs {
		if n, err := db.Migrate(ctx()); n != 0 || err != nil {
			t.Errorf("instance %d: Migrate afterwards: got (%d, %v), want (0, nil)", i, n, err)
		}
	}
	newUser(t, dbs[0], "u1", "u1@example.com")
	got, err := dbs[2].UserByID(ctx(), "u1")
	if err != nil || got.Email != "u1@example.com" {
		t.Errorf("UserByID through another instance: got (%+v, %v), want u1@example.com", got, err)
	}
}

func TestNewID(t *testing.T) {
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := store.NewID()
		if !hex32.MatchString(id) {
			t.Fatalf("NewID() = %q, want 32 lower-case hex digits", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

// ---- users ----

func TestUsers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		alice := store.User{
			ID: "u-alice", Email: "alice@example.com", PasswordHash: "$argon2id$alice",
			CreatedAt: base, PasswordChangedAt: at(time.Minute),
		}
		must(t, db.CreateUser(ctx(), alice))
		verified := store.User{
			ID: "u-vera", Email: "vera@example.com", PasswordHash: "$argon2id$vera",
			EmailVerifiedAt: at(time.Second), CreatedAt: base, PasswordChangedAt: base,
		}
		must(t, db.CreateUser(ctx(), verified))

		t.Run("read back", func(t *testing.T) {
			got, err := db.UserByEmail(ctx(), "alice@example.com")
			checkUser(t, "UserByEmail", got, err, alice)
			got, err = db.UserByID(ctx(), "u-alice")
			checkUser(t, "UserByID", got, err, alice)
			got, err = db.UserByID(ctx(), "u-vera")
			checkUser(t, "UserByID verified", got, err, verified)
		})

		t.Run("not found", func(t *testing.T) {
			_, err := db.UserByEmail(ctx(), "nobody@example.com")
			wantNotFound(t, "UserByEmail unknown", err)
			_, err = db.UserByID(ctx(), "u-nobody")
			wantNotFound(t, "UserByID unknown", err)
			// E-mails are compared exactly (callers normalise) on every engine.
			_, err = db.UserByEmail(ctx(), "ALICE@example.com")
			wantNotFound(t, "UserByEmail with other case", err)
		})

		t.Run("duplicate e-mail", func(t *testing.T) {
			dup := store.User{ID: "u-mallory", Email: "alice@example.com", PasswordHash: "$argon2id$mallory",
				CreatedAt: at(time.Hour), PasswordChangedAt: at(time.Hour)}
			err := db.CreateUser(ctx(), dup)
			if !errors.Is(err, store.ErrEmailTaken) {
				t.Errorf("CreateUser with a taken e-mail: got %v, want store.ErrEmailTaken", err)
			}
			got, err := db.UserByEmail(ctx(), "alice@example.com")
			checkUser(t, "existing user after duplicate sign-up", got, err, alice)
			_, err = db.UserByID(ctx(), "u-mallory")
			wantNotFound(t, "UserByID of the refused user", err)
		})

		t.Run("SetPassword", func(t *testing.T) {
			u := newUser(t, db, "u-set", "set@example.com")
			must(t, db.SetPassword(ctx(), u.ID, "new-hash", at(2*time.Hour)))
			want := u
			want.PasswordHash, want.PasswordChangedAt = "new-hash", at(2*time.Hour)
			got, err := db.UserByID(ctx(), u.ID)
			checkUser(t, "after SetPassword", got, err, want)
			wantNotFound(t, "SetPassword unknown user", db.SetPassword(ctx(), "u-nobody", "x", base))
		})

		t.Run("UpgradePasswordHash", func(t *testing.T) {
			u := newUser(t, db, "u-up", "up@example.com")
			// The password changed since the hash was read: no upgrade.
			must(t, db.UpgradePasswordHash(ctx(), u.ID, "stale-hash", "upgraded"))
			got, err := db.UserByID(ctx(), u.ID)
			checkUser(t, "after upgrade with a stale old hash", got, err, u)

			must(t, db.UpgradePasswordHash(ctx(), u.ID, u.PasswordHash, "upgraded"))
			want := u
			want.PasswordHash = "upgraded" // password_changed_at stays: same password
			got, err = db.UserByID(ctx(), u.ID)
			checkUser(t, "after upgrade with the current hash", got, err, want)

			// Another user with the same hash is untouched.
			other := newUser(t, db, "u-up2", "up2@example.com")
			must(t, db.UpgradePasswordHash(ctx(), u.ID, "upgraded", "again"))
			got, err = db.UserByID(ctx(), other.ID)
			checkUser(t, "other user after upgrade", got, err, other)
		})

		t.Run("MarkEmailVerified", func(t *testing.T) {
			u := newUser(t, db, "u-mark", "mark@example.com")
			// A link sent to an older address does not verify the new one.
			must(t, db.MarkEmailVerified(ctx(), u.ID, "old@example.com", at(time.Hour)))
			got, err := db.UserByID(ctx(), u.ID)
			checkUser(t, "after verifying another e-mail", got, err, u)

			// Nor does it verify somebody else's account.
			must(t, db.MarkEmailVerified(ctx(), "u-alice", "mark@example.com", at(time.Hour)))
			got, err = db.UserByID(ctx(), "u-alice")
			checkUser(t, "other user after verification", got, err, alice)

			must(t, db.MarkEmailVerified(ctx(), u.ID, "mark@example.com", at(time.Hour)))
			want := u
			want.EmailVerifiedAt = at(time.Hour)
			got, err = db.UserByID(ctx(), u.ID)
			checkUser(t, "after verification", got, err, want)

			// A second verification keeps the first time.
			must(t, db.MarkEmailVerified(ctx(), u.ID, "mark@example.com", at(5*time.Hour)))
			got, err = db.UserByID(ctx(), u.ID)
			checkUser(t, "after second verification", got, err, want)
		})
	})
}

// ---- sessions ----

func TestSessions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		alice := newUser(t, db, "u-alice", "alice@example.com")
		bob := newUser(t, db, "u-bob", "bob@example.com")

		t.Run("create and find", func(t *testing.T) {
			s := newSession(t, db, "s-find", alice.ID, at(time.Minute), at(24*time.Hour))
			got, gotUser, err := db.SessionByTokenHash(ctx(), s.TokenHash)
			if err != nil || !sessionEqual(got, s) {
				t.Errorf("SessionByTokenHash:\ngot  %+v, %v\nwant %+v", got, err, s)
			}
			checkUser(t, "SessionByTokenHash user", gotUser, nil, alice)
			_, _, err = db.SessionByTokenHash(ctx(), "th-unknown")
			wantNotFound(t, "SessionByTokenHash unknown", err)
			// Found whatever its age: the caller applies the timeouts.
			old := newSession(t, db, "s-old", alice.ID, base, at(-time.Hour))
			got, _, err = db.SessionByTokenHash(ctx(), old.TokenHash)
			if err != nil || !sessionEqual(got, old) {
				t.Errorf("SessionByTokenHash of an expired session:\ngot  %+v, %v\nwant %+v", got, err, old)
			}
		})

		t.Run("unknown user refused", func(t *testing.T) {
			s := store.Session{ID: "s-ghost", TokenHash: "th-ghost", UserID: "u-nobody", AAL: 1,
				CreatedAt: base, AuthenticatedAt: base, LastSeenAt: base, ExpiresAt: at(time.Hour)}
			if err := db.CreateSession(ctx(), s); err == nil {
				t.Errorf("CreateSession for an unknown user: got nil error, want a foreign-key error")
			}
		})

		t.Run("revoked not found", func(t *testing.T) {
			s := newSession(t, db, "s-rev", alice.ID, base, at(24*time.Hour))
			must(t, db.RevokeSession(ctx(), alice.ID, s.ID, at(time.Minute)))
			_, _, err := db.SessionByTokenHash(ctx(), s.TokenHash)
			wantNotFound(t, "SessionByTokenHash of a revoked session", err)
			wantNotFound(t, "RevokeSession twice", db.RevokeSession(ctx(), alice.ID, s.ID, at(2*time.Minute)))
			wantNotFound(t, "RevokeSession unknown id", db.RevokeSession(ctx(), alice.ID, "s-nope", at(2*time.Minute)))
		})

		t.Run("revoke another user's session", func(t *testing.T) {
			s := newSession(t, db, "s-bob", bob.ID, base, at(24*time.Hour))
			wantNotFound(t, "RevokeSession of another user's session", db.RevokeSession(ctx(), alice.ID, s.ID, at(time.Minute)))
			got, _, err := db.SessionByTokenHash(ctx(), s.TokenHash)
			if err != nil || !sessionEqual(got, s) {
				t.Errorf("bob's session after alice tried to revoke it:\ngot  %+v, %v\nwant %+v", got, err, s)
			}
		})

		t.Run("touch only moves forward", func(t *testing.T) {
			s := newSession(t, db, "s-touch", alice.ID, at(time.Hour), at(24*time.Hour))
			lastSeen := func() time.Time {
				t.Helper()
				got, _, err := db.SessionByTokenHash(ctx(), s.TokenHash)
				must(t, err)
				return got.LastSeenAt
			}
			for _, step := range []struct {
				touch, want time.Time
			}{
				{at(2 * time.Hour), at(2 * time.Hour)},
				{at(time.Hour + 30*time.Minute), at(2 * time.Hour)}, // earlier: ignored
				{at(2 * time.Hour), at(2 * time.Hour)},              // same: unchanged
				{at(2*time.Hour + time.Microsecond), at(2*time.Hour + time.Microsecond)},
			} {
				must(t, db.TouchSession(ctx(), s.ID, step.touch))
				if got := lastSeen(); !got.Equal(step.want) {
					t.Errorf("after TouchSession(%v): last seen got %v, want %v", step.touch, got, step.want)
				}
			}
			must(t, db.TouchSession(ctx(), "s-nope", at(3*time.Hour))) // unknown: no error
		})

		t.Run("ActiveSessions", func(t *testing.T) {
			u := newUser(t, db, "u-active", "active@example.com")
			now, idle := at(10*time.Hour), time.Hour
			life := now.Add(24 * time.Hour)
			a := newSession(t, db, "s-a", u.ID, now.Add(-10*time.Minute), life)
			b := newSession(t, db, "s-b", u.ID, now.Add(-5*time.Minute), life)
			c := newSession(t, db, "s-c", u.ID, now.Add(-30*time.Minute), life)
			e := newSession(t, db, "s-e", u.ID, now.Add(-20*time.Minute), life) // ties with d: by id
			d := newSession(t, db, "s-d", u.ID, now.Add(-20*time.Minute), life)
			revoked := newSession(t, db, "s-revoked", u.ID, now.Add(-time.Minute), life)
			must(t, db.RevokeSession(ctx(), u.ID, revoked.ID, now.Add(-time.Second)))
			newSession(t, db, "s-expired", u.ID, now.Add(-time.Minute), now.Add(-time.Microsecond))
			newSession(t, db, "s-expires-now", u.ID, now.Add(-time.Minute), now)
			newSession(t, db, "s-idle", u.ID, now.Add(-2*time.Hour), life)
			newSession(t, db, "s-idle-edge", u.ID, now.Add(-idle), life)
			newSession(t, db, "s-other", bob.ID, now.Add(-time.Minute), life)

			got, err := db.ActiveSessions(ctx(), u.ID, now, idle)
			must(t, err)
			want := []store.Session{b, a, d, e, c}
			if !reflect.DeepEqual(sessionIDs(got), sessionIDs(want)) {
				t.Fatalf("ActiveSessions ids: got %v, want %v", sessionIDs(got), sessionIDs(want))
			}
			for i := range want {
				if !sessionEqual(got[i], want[i]) {
					t.Errorf("ActiveSessions[%d]:\ngot  %+v\nwant %+v", i, got[i], want[i])
				}
			}

			none, err := db.ActiveSessions(ctx(), "u-nobody", now, idle)
			if err != nil || len(none) != 0 {
				t.Errorf("ActiveSessions of an unknown user: got (%v, %v), want (empty, nil)", sessionIDs(none), err)
			}
		})

		t.Run("RevokeSessions keeps one", func(t *testing.T) {
			u := newUser(t, db, "u-many", "many@example.com")
			life := at(24 * time.Hour)
			keep := newSession(t, db, "s-m1", u.ID, base, life)
			newSession(t, db, "s-m2", u.ID, base, life)
			newSession(t, db, "s-m3", u.ID, base, life)
			gone := newSession(t, db, "s-m4", u.ID, base, life)
			must(t, db.RevokeSession(ctx(), u.ID, gone.ID, at(time.Minute)))
			bobs := newSession(t, db, "s-bob2", bob.ID, base, life)

			n, err := db.RevokeSessions(ctx(), u.ID, keep.ID, at(time.Hour))
			if err != nil || n != 2 {
				t.Errorf("RevokeSessions keeping one: got (%d, %v), want (2, nil)", n, err)
			}
			got, err := db.ActiveSessions(ctx(), u.ID, at(time.Minute), time.Hour)
			must(t, err)
			if ids, want := sessionIDs(got), []string{keep.ID}; !reflect.DeepEqual(ids, want) {
				t.Errorf("active after RevokeSessions: got %v, want %v", ids, want)
			}
			if _, _, err := db.SessionByTokenHash(ctx(), bobs.TokenHash); err != nil {
				t.Errorf("another user's session after RevokeSessions: got %v, want it still live", err)
			}

			n, err = db.RevokeSessions(ctx(), u.ID, "", at(2*time.Hour))
			if err != nil || n != 1 {
				t.Errorf("RevokeSessions keeping none: got (%d, %v), want (1, nil)", n, err)
			}
			n, err = db.RevokeSessions(ctx(), u.ID, "", at(3*time.Hour))
			if err != nil || n != 0 {
				t.Errorf("RevokeSessions with nothing left: got (%d, %v), want (0, nil)", n, err)
			}
		})
	})
}

// ---- tokens ----

func TestTokens(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		alice := newUser(t, db, "u-alice", "alice@example.com")
		bob := newUser(t, db, "u-bob", "bob@example.com")

		t.Run("peek then consume once", func(t *testing.T) {
			tok := newToken(t, db, "h-once", "reset", alice.ID, at(time.Hour))
			for i := 1; i <= 2; i++ { // peeking does not use it up
				got, err := db.PeekToken(ctx(), tok.Hash, "reset", at(time.Minute))
				if err != nil || !tokenEqual(got, tok) {
					t.Errorf("PeekToken #%d:\ngot  %+v, %v\nwant %+v", i, got, err, tok)
				}
			}
			got, err := db.ConsumeToken(ctx(), tok.Hash, "reset", at(time.Minute))
			if err != nil || !tokenEqual(got, tok) {
				t.Errorf("ConsumeToken:\ngot  %+v, %v\nwant %+v", got, err, tok)
			}
			_, err = db.ConsumeToken(ctx(), tok.Hash, "reset", at(2*time.Minute))
			wantNotFound(t, "second ConsumeToken", err)
			_, err = db.PeekToken(ctx(), tok.Hash, "reset", at(2*time.Minute))
			wantNotFound(t, "PeekToken after use", err)
		})

		t.Run("unknown", func(t *testing.T) {
			_, err := db.ConsumeToken(ctx(), "h-unknown", "reset", base)
			wantNotFound(t, "ConsumeToken unknown", err)
			_, err = db.PeekToken(ctx(), "h-unknown", "reset", base)
			wantNotFound(t, "PeekToken unknown", err)
		})

		t.Run("wrong kind", func(t *testing.T) {
			tok := newToken(t, db, "h-kind", "verify", alice.ID, at(time.Hour))
			_, err := db.PeekToken(ctx(), tok.Hash, "reset", base)
			wantNotFound(t, "PeekToken of another kind", err)
			_, err = db.ConsumeToken(ctx(), tok.Hash, "reset", base)
			wantNotFound(t, "ConsumeToken of another kind", err)
			// The failed attempt did not use it up.
			got, err := db.ConsumeToken(ctx(), tok.Hash, "verify", base)
			if err != nil || !tokenEqual(got, tok) {
				t.Errorf("ConsumeToken of the right kind:\ngot  %+v, %v\nwant %+v", got, err, tok)
			}
		})

		t.Run("expiry", func(t *testing.T) {
			exp := at(time.Hour)
			tok := newToken(t, db, "h-exp", "reset", alice.ID, exp)
			for _, now := range []time.Time{exp, exp.Add(time.Microsecond), exp.Add(time.Hour)} {
				_, err := db.PeekToken(ctx(), tok.Hash, "reset", now)
				wantNotFound(t, fmt.Sprintf("PeekToken at expiry%+v", now.Sub(exp)), err)
				_, err = db.ConsumeToken(ctx(), tok.Hash, "reset", now)
				wantNotFound(t, fmt.Sprintf("ConsumeToken at expiry%+v", now.Sub(exp)), err)
			}
			got, err := db.ConsumeToken(ctx(), tok.Hash, "reset", exp.Add(-time.Microsecond))
			if err != nil || !tokenEqual(got, tok) {
				t.Errorf("ConsumeToken just before expiry:\ngot  %+v, %v\nwant %+v", got, err, tok)
			}
		})

		t.Run("UseAllTokens", func(t *testing.T) {
			exp := at(time.Hour)
			r1 := newToken(t, db, "h-r1", "reset", alice.ID, exp)
			r2 := newToken(t, db, "h-r2", "reset", alice.ID, exp)
			v := newToken(t, db, "h-v", "verify", alice.ID, exp)
			br := newToken(t, db, "h-br", "reset", bob.ID, exp)
			must(t, db.UseAllTokens(ctx(), alice.ID, "reset", at(time.Minute)))
			for _, tok := range []store.Token{r1, r2} {
				_, err := db.ConsumeToken(ctx(), tok.Hash, "reset", at(2*time.Minute))
				wantNotFound(t, "ConsumeToken of "+tok.Hash+" after UseAllTokens", err)
			}
			for _, tok := range []store.Token{v, br} {
				if _, err := db.ConsumeToken(ctx(), tok.Hash, tok.Kind, at(2*time.Minute)); err != nil {
					t.Errorf("ConsumeToken of %s (other kind or user) after UseAllTokens: got %v, want nil", tok.Hash, err)
				}
			}
		})

		t.Run("unknown user refused", func(t *testing.T) {
			err := db.CreateToken(ctx(), store.Token{Hash: "h-ghost", Kind: "reset", UserID: "u-nobody", Email: "x@example.com", CreatedAt: base, ExpiresAt: at(time.Hour)})
			if err == nil {
				t.Errorf("CreateToken for an unknown user: got nil error, want a foreign-key error")
			}
		})
	})
}

func TestConsumeTokenConcurrent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		u := newUser(t, db, "u-race", "race@example.com")
		tok := newToken(t, db, "h-race", "reset", u.ID, at(time.Hour))
		const n = 20
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = db.ConsumeToken(ctx(), tok.Hash, "reset", at(time.Minute))
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("goroutine %d: got error %v, want nil or store.ErrNotFound", i, err)
			}
		}
		if ok != 1 {
			t.Errorf("successful concurrent ConsumeToken calls: got %d, want 1", ok)
		}
	})
}

// ---- events and outbox ----

func TestEvents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		u := newUser(t, db, "u-ev", "ev@example.com")
		var all []store.Event
		// Added in this order; e-b and e-a share a time, e-a added later.
		for i, ev := range []struct {
			id string
			at time.Duration
		}{
			{"e-0", 0}, {"e-3", 3 * time.Minute}, {"e-1", time.Minute}, {"e-b", 2 * time.Minute}, {"e-a", 2 * time.Minute},
		} {
			e := store.Event{ID: ev.id, UserID: u.ID, Kind: "signin", Outcome: "failure",
				IP: "192.0.2.7", UserAgent: "agent", Detail: fmt.Sprintf("detail %d", i), CreatedAt: at(ev.at)}
			must(t, db.AddEvent(ctx(), e))
			all = append(all, e)
		}
		must(t, db.AddEvent(ctx(), store.Event{ID: "e-anon", Kind: "signin", Outcome: "failure", CreatedAt: at(time.Hour)}))
		must(t, db.AddEvent(ctx(), store.Event{ID: "e-other", UserID: "u-other", Kind: "signin", Outcome: "success", CreatedAt: at(time.Hour)}))

		// Newest first; of equal times, the one added last first.
		want := []store.Event{all[1], all[4], all[3], all[2], all[0]}
		for _, limit := range []int{100, 5, 3, 1} {
			got, err := db.Events(ctx(), u.ID, limit)
			must(t, err)
			w := want[:min(limit, len(want))]
			if len(got) != len(w) {
				t.Errorf("Events(limit %d): got %d events %+v, want %d", limit, len(got), got, len(w))
				continue
			}
			checkRows(t, fmt.Sprintf("Events(limit %d)", limit), got, nil, w)
		}
		got, err := db.Events(ctx(), "u-none", 10)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("Events of a user without events: got (%#v, %v), want (empty non-nil slice, nil)", got, err)
		}
	})
}

func TestOutbox(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		msgs := []store.OutboxMessage{
			{ID: "m1", Channel: "email", To: "a@example.com", Subject: "one", Body: "body 1", Code: "c1", SentAt: at(time.Minute)},
			{ID: "m2", Channel: "email", To: "b@example.com", Subject: "two", Body: "body 2", Code: "", SentAt: at(2 * time.Minute)},
			{ID: "m3", Channel: "sms", To: "a@example.com", Body: "body 3", Code: "c3", SentAt: at(3 * time.Minute)},
			{ID: "m4", Channel: "email", To: "a@example.com", Subject: "four", Body: "body 4", SentAt: at(3 * time.Minute)},
		}
		for _, m := range msgs {
			must(t, db.AddOutbox(ctx(), m))
		}
		ids := func(ms []store.OutboxMessage) []string {
			out := []string{}
			for _, m := range ms {
				out = append(out, m.ID)
			}
			return out
		}
		for _, tt := range []struct {
			to    string
			limit int
			want  []string
		}{
			{"", 10, []string{"m4", "m3", "m2", "m1"}},
			{"", 2, []string{"m4", "m3"}},
			{"a@example.com", 10, []string{"m4", "m3", "m1"}},
			{"a@example.com", 1, []string{"m4"}},
			{"b@example.com", 10, []string{"m2"}},
			{"c@example.com", 10, []string{}},
		} {
			got, err := db.Outbox(ctx(), tt.to, tt.limit)
			if err != nil {
				t.Errorf("Outbox(%q, %d): %v", tt.to, tt.limit, err)
				continue
			}
			if !reflect.DeepEqual(ids(got), tt.want) {
				t.Errorf("Outbox(%q, %d): got %v, want %v", tt.to, tt.limit, ids(got), tt.want)
			}
		}
		got, err := db.Outbox(ctx(), "b@example.com", 10)
		must(t, err)
		checkRows(t, "Outbox message", got, nil, msgs[1:2])
	})
}

// ---- rate limits ----

// hit spends one unit of an unlimited budget at key (a window of window)
// and reads the counter back.
func hit(t *testing.T, db *store.DB, key string, now time.Time, window time.Duration) (store.Counter, error) {
	t.Helper()
	if r, err := db.Reserve(ctx(), now, []store.Want{{Key: key, Window: window, Limit: 1 << 40}}); err != nil || r != nil {
		t.Fatalf("Reserve %s: %+v, %v", key, r, err)
	}
	return db.ReadCounter(ctx(), key)
}

func TestBudgetWindows(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		const key, window = "k:window", time.Hour
		c, err := db.ReadCounter(ctx(), key)
		checkCounter(t, "ReadCounter of a missing key", c, err, store.Counter{})

		for _, step := range []struct {
			now  time.Time
			want store.Counter
		}{
			{base, store.Counter{Count: 1, WindowStart: base}},
			{at(10 * time.Minute), store.Counter{Count: 2, WindowStart: base}},
			{at(window - time.Microsecond), store.Counter{Count: 3, WindowStart: base}},
			// The window that started at now-window is over: a fresh one starts now.
			{at(window), store.Counter{Count: 1, WindowStart: at(window)}},
			{at(window + time.Minute), store.Counter{Count: 2, WindowStart: at(window)}},
			{at(5 * window), store.Counter{Count: 1, WindowStart: at(5 * window)}},
		} {
			c, err := hit(t, db, key, step.now, window)
			checkCounter(t, fmt.Sprintf("hit at +%v", step.now.Sub(base)), c, err, step.want)
			c, err = db.ReadCounter(ctx(), key)
			checkCounter(t, fmt.Sprintf("ReadCounter after a hit at +%v", step.now.Sub(base)), c, err, step.want)
		}

		// Keys are independent.
		c, err = hit(t, db, "k:other", at(5*window), window)
		checkCounter(t, "hit of another key", c, err, store.Counter{Count: 1, WindowStart: at(5 * window)})
	})
}

func TestResetCounter(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		for range 3 {
			_, err := hit(t, db, "k:reset", base, time.Hour)
			must(t, err)
		}
		_, err := hit(t, db, "k:keep", base, time.Hour)
		must(t, err)
		// A growing-delay attempt past the free ones blocks the key.
		blocked := store.Want{Key: "k:reset", Window: time.Hour, Delay: func(int64) time.Duration { return time.Hour }}
		if r, err := db.Reserve(ctx(), base, []store.Want{blocked}); err != nil || r != nil {
			t.Fatalf("Reserve: %+v, %v", r, err)
		}
		must(t, db.ResetCounter(ctx(), "k:reset"))
		c, err := db.ReadCounter(ctx(), "k:reset")
		checkCounter(t, "ReadCounter after ResetCounter", c, err, store.Counter{})
		c, err = db.ReadCounter(ctx(), "k:keep")
		checkCounter(t, "ReadCounter of another key after ResetCounter", c, err, store.Counter{Count: 1, WindowStart: base})
		c, err = hit(t, db, "k:reset", at(time.Minute), time.Hour)
		checkCounter(t, "hit after ResetCounter", c, err, store.Counter{Count: 1, WindowStart: at(time.Minute)})
		must(t, db.ResetCounter(ctx(), "k:missing"))
	})
}

// ---- known browsers ----

func TestKnownBrowsers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		alice := newUser(t, db, "u-alice", "alice@example.com")
		bob := newUser(t, db, "u-bob", "bob@example.com")
		must(t, db.RememberBrowser(ctx(), alice.ID, "bh-1", base, at(time.Hour)))

		check := func(what, userID, hash string, now time.Time, want bool) {
			t.Helper()
			got, err := db.KnownBrowser(ctx(), userID, hash, now)
			if err != nil || got != want {
				t.Errorf("%s: KnownBrowser(%s, %s, +%v) got (%v, %v), want (%v, nil)", what, userID, hash, now.Sub(base), got, err, want)
			}
		}
		check("remembered", alice.ID, "bh-1", at(time.Hour-time.Microsecond), true)
		check("at expiry", alice.ID, "bh-1", at(time.Hour), false)
		check("after expiry", alice.ID, "bh-1", at(2*time.Hour), false)
		check("other user", bob.ID, "bh-1", base, false)
		check("other browser", alice.ID, "bh-2", base, false)
		check("no user", "-", "bh-1", base, false)

		// Remembering again extends the expiry.
		must(t, db.RememberBrowser(ctx(), alice.ID, "bh-1", at(2*time.Hour), at(3*time.Hour)))
		check("remembered again", alice.ID, "bh-1", at(150*time.Minute), true)
		check("other user after re-remember", bob.ID, "bh-1", at(150*time.Minute), false)

		// Per user: bob's own record of the same browser is separate.
		must(t, db.RememberBrowser(ctx(), bob.ID, "bh-1", base, at(30*time.Minute)))
		check("bob's own", bob.ID, "bh-1", at(10*time.Minute), true)
		check("bob's own expired, alice's live", bob.ID, "bh-1", at(150*time.Minute), false)
		check("alice's live", alice.ID, "bh-1", at(150*time.Minute), true)

		if err := db.RememberBrowser(ctx(), "u-nobody", "bh-1", base, at(time.Hour)); err == nil {
			t.Errorf("RememberBrowser for an unknown user: got nil error, want a foreign-key error")
		}
	})
}

// ---- purge ----

func TestPurgeExpired(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			db, url := openMigrated(t, engine)
			u := newUser(t, db, "u-purge", "purge@example.com")
			now := at(time.Hour)

			// Rate limits: expires_at is the window's end, or a block's end.
			_, err := hit(t, db, "k:expired", base, time.Minute)
			must(t, err)
			_, err = hit(t, db, "k:live", base, 2*time.Hour)
			must(t, err)
			// A block outlives its window: the row stays until it ends.
			kept := store.Want{Key: "k:kept", Window: time.Minute, Delay: func(int64) time.Duration { return 2 * time.Hour }}
			if r, err := db.Reserve(ctx(), base, []store.Want{kept}); err != nil || r != nil {
				t.Fatalf("Reserve: %+v, %v", r, err)
			}
			newToken(t, db, "h-expired", "reset", u.ID, now.Add(-time.Microsecond))
			live := newToken(t, db, "h-live", "reset", u.ID, now.Add(time.Hour))
			newSession(t, db, "s-expired", u.ID, base, now.Add(-time.Microsecond))
			ls := newSession(t, db, "s-live", u.ID, base, now.Add(time.Hour))
			must(t, db.RememberBrowser(ctx(), u.ID, "bh-expired", base, now.Add(-time.Microsecond)))
			must(t, db.RememberBrowser(ctx(), u.ID, "bh-live", base, now.Add(time.Hour)))

			must(t, db.PurgeExpired(ctx(), now))

			c, err := db.ReadCounter(ctx(), "k:expired")
			checkCounter(t, "expired counter after purge", c, err, store.Counter{})
			c, err = db.ReadCounter(ctx(), "k:live")
			checkCounter(t, "live counter after purge", c, err, store.Counter{Count: 1, WindowStart: base})
			c, err = db.ReadCounter(ctx(), "k:kept")
			checkCounter(t, "counter kept by its block after purge", c, err, store.Counter{Count: 1, WindowStart: base, BlockedUntil: at(2 * time.Hour)})

			for _, tt := range []struct {
				table, where string
				arg          string
				want         int
			}{
				{"tokens", "hash = ?", "h-expired", 0},
				{"tokens", "hash = ?", "h-live", 1},
				{"sessions", "id = ?", "s-expired", 0},
				{"sessions", "id = ?", "s-live", 1},
				{"known_browsers", "browser_hash = ?", "bh-expired", 0},
				{"known_browsers", "browser_hash = ?", "bh-live", 1},
			} {
				if got := rawCount(t, engine, url, tt.table, tt.where, tt.arg); got != tt.want {
					t.Errorf("%s rows with %s %q after purge: got %d, want %d", tt.table, tt.where, tt.arg, got, tt.want)
				}
			}
			if got, err := db.PeekToken(ctx(), live.Hash, "reset", now); err != nil || !tokenEqual(got, live) {
				t.Errorf("live token after purge:\ngot  %+v, %v\nwant %+v", got, err, live)
			}
			if got, _, err := db.SessionByTokenHash(ctx(), ls.TokenHash); err != nil || !sessionEqual(got, ls) {
				t.Errorf("live session after purge:\ngot  %+v, %v\nwant %+v", got, err, ls)
			}
			if known, err := db.KnownBrowser(ctx(), u.ID, "bh-live", now); err != nil || !known {
				t.Errorf("live known browser after purge: got (%v, %v), want (true, nil)", known, err)
			}
		})
	}
}
