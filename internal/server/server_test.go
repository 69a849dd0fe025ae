package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

type hello struct{}

func (hello) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
}

// TestHSTS: a site served over https tells browsers to keep to https
// (on every answer, errors included); one on plain HTTP must not, or a
// developer's localhost would be pinned to https.
func TestHSTS(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tt := range []struct {
		name string
		hsts bool
		want string
	}{
		{"https", true, "max-age=31536000; includeSubDomains"},
		{"plain http", false, ""},
	} {
		for _, path := range []string{"/hello", "/missing"} {
			t.Run(tt.name+path, func(t *testing.T) {
				h := Handler(log, Options{HSTS: tt.hsts}, hello{})
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
				if got := rec.Header().Get("Strict-Transport-Security"); got != tt.want {
					t.Errorf("GET %s: Strict-Transport-Security %q, want %q", path, got, tt.want)
				}
				if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("GET %s: X-Content-Type-Options %q, want nosniff", path, got)
				}
			})
		}
	}
}
