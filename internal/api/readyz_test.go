package api_test

import (
	"context"
	"net/http"
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

	rw := testenv.NewPostgresRole(t, dbURL, "rw_",
		"GRANT USAGE, CREATE ON SCHEMA %[1]s TO %[2]s",
		"GRANT ALL ON ALL TABLES IN SCHEMA %[1]s TO %[2]s",
		"GRANT ALL ON ALL SEQUENCES IN SCHEMA %[1]s TO %[2]s")

	cfg := testenv.Config(t, rw.URL)
	srv := testenv.Start(t, cfg, app.Options{Now: testenv.NewClock().Now})
	e := &env{t: t, srv: srv}
	c := srv.Client()
	e.want(e.call(c, "GET", "/readyz", nil), http.StatusOK, "")

	rw.Exec(t, "REVOKE INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %[1]s FROM %[2]s")
	e.want(e.call(c, "GET", "/readyz", nil), http.StatusServiceUnavailable, "not_ready")
	e.want(e.call(c, "GET", "/healthz", nil), http.StatusOK, "")

	rw.Exec(t, "GRANT ALL ON ALL TABLES IN SCHEMA %[1]s TO %[2]s")
	e.want(e.call(c, "GET", "/readyz", nil), http.StatusOK, "")
}
