package api_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"twostep/internal/app"
	"twostep/internal/store"
	"twostep/internal/testenv"
)

// TestReadyzNeedsWrites: /readyz answers 200 only while the database takes
// writes. twostep runs on PostgreSQL as a role of its own; taking the
// role's right to write (the database still answers every read) turns
// readiness to 503, and giving it back turns it to 200 again.
//
// SQLite has no such switch for a file already open (the open descriptor
// keeps writing whatever its mode becomes); its write probe is tested in
// package store, and a read-only file is refused at start (cmd/twostep).
func TestReadyzNeedsWrites(t *testing.T) {
	ctx := context.Background()
	dbURL := testenv.DatabaseURL(t, "postgres")
	db, err := store.Open(ctx, dbURL, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()

	u, _ := url.Parse(dbURL)
	schema := u.Query().Get("search_path")
	role := "rw_" + strings.TrimPrefix(schema, "t_")
	admin, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := admin.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE ROLE " + role + " LOGIN")
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", dbURL); err == nil {
			db.Exec("DROP OWNED BY " + role)
			db.Exec("DROP ROLE " + role)
			db.Close()
		}
	})
	exec("GRANT USAGE, CREATE ON SCHEMA " + schema + " TO " + role)
	exec("GRANT ALL ON ALL TABLES IN SCHEMA " + schema + " TO " + role)
	exec("GRANT ALL ON ALL SEQUENCES IN SCHEMA " + schema + " TO " + role)
	u.User = url.User(role)

	cfg := testenv.Config(t, u.String())
	srv := testenv.Start(t, cfg, app.Options{Now: testenv.NewClock().Now})
	e := &env{t: t, srv: srv}
	c := srv.Client()
	e.want(e.call(c, "GET", "/readyz", nil), http.StatusOK, "")

	exec("REVOKE INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + schema + " FROM " + role)
	e.want(e.call(c, "GET", "/readyz", nil), http.StatusServiceUnavailable, "not_ready")
	e.want(e.call(c, "GET", "/healthz", nil), http.StatusOK, "")

	exec("GRANT ALL ON ALL TABLES IN SCHEMA " + schema + " TO " + role)
	e.want(e.call(c, "GET", "/readyz", nil), http.StatusOK, "")
}
