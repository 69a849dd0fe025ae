package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"twostep/internal/app"
	"twostep/internal/store"
	"twostep/internal/testenv"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestHSTSFollowsPublicURL: an https public URL makes every answer carry
// Strict-Transport-Security; plain HTTP (a developer's localhost) never.
func TestHSTSFollowsPublicURL(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			for _, tt := range []struct{ url, want string }{
				{"https://login.example.com", "max-age=31536000; includeSubDomains"},
				{"http://127.0.0.1:8080", ""},
			} {
				cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
				cfg.Server.PublicURL = tt.url
				cfg.Delivery.Email, cfg.Delivery.SMTP.Host, cfg.Delivery.SMTP.From = "smtp", "mail.example.com", "noreply@example.com"
				a, err := app.Open(context.Background(), cfg, quiet, app.Options{Now: testenv.NewClock().Now})
				if err != nil {
					t.Fatalf("app.Open with public_url %s: %v", tt.url, err)
				}
				defer a.Close()
				rec := httptest.NewRecorder()
				a.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
				if got := rec.Header().Get("Strict-Transport-Security"); got != tt.want {
					t.Errorf("public_url %s: Strict-Transport-Security %q, want %q", tt.url, got, tt.want)
				}
			}
		})
	}
}

// TestOpenRefusesAnExposedOutbox: a config built by hand, never validated,
// still cannot put the developer outbox on a public server.
func TestOpenRefusesAnExposedOutbox(t *testing.T) {
	for _, tt := range []struct {
		name string
		addr string
		url  string
		want string
	}{
		{"https", "127.0.0.1:8080", "https://login.example.com", "server.public_url"},
		{"every interface", "0.0.0.0:8080", "", "server.addr"},
		{"public address", "192.0.2.1:8080", "", "server.addr"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testenv.Config(t, testenv.DatabaseURL(t, "sqlite"))
			cfg.Server.Addr, cfg.Server.PublicURL = tt.addr, tt.url
			a, err := app.Open(context.Background(), cfg, quiet, app.Options{Now: testenv.NewClock().Now})
			if err == nil {
				a.Close()
				t.Fatalf("app.Open with the outbox and %s %s: got nil error, want a refusal", tt.addr, tt.url)
			}
			for _, w := range []string{"delivery.email", tt.want} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("app.Open: got %q, want it to name %s", err, w)
				}
			}
		})
	}
}

// TestOpenRefusesAReadOnlyDatabase: on PostgreSQL, a role that may read
// twostep's schema but write nothing in it is refused at start, with an
// error that says the database takes no writes. (A read-only SQLite file
// is refused the same way; cmd/twostep tests it with a real file mode.)
func TestOpenRefusesAReadOnlyDatabase(t *testing.T) {
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

	ro := testenv.NewPostgresRole(t, dbURL, "ro_",
		"GRANT USAGE ON SCHEMA %[1]s TO %[2]s",
		"GRANT SELECT ON ALL TABLES IN SCHEMA %[1]s TO %[2]s")

	cfg := testenv.Config(t, ro.URL)
	a, err := app.Open(ctx, cfg, quiet, app.Options{Now: testenv.NewClock().Now})
	if err == nil {
		a.Close()
		t.Fatal("app.Open as a read-only role: got nil error, want a refusal")
	}
	if !strings.Contains(err.Error(), "takes no writes") {
		t.Errorf("app.Open as a read-only role: got %q, want it to say the database takes no writes", err)
	}
}
