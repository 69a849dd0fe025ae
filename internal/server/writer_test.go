package server

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRefusalsGoToTheErrorWriter: the server speaks no surface's language;
// what it refuses is handed to the writer it was given, and answered in
// plain text without one.
func TestRefusalsGoToTheErrorWriter(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	crossSite := func() *http.Request {
		r := httptest.NewRequest("POST", "/hello", nil)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		return r
	}

	var got error
	h := Handler(log, Options{WriteError: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		w.WriteHeader(http.StatusTeapot)
	}}, hello{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, crossSite())
	if !errors.Is(got, ErrCrossOrigin) || rec.Code != http.StatusTeapot {
		t.Errorf("writer got %v and answered %d, want ErrCrossOrigin and its answer", got, rec.Code)
	}

	rec = httptest.NewRecorder()
	Handler(log, Options{}, hello{}).ServeHTTP(rec, crossSite())
	if rec.Code != http.StatusForbidden || rec.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("without a writer: %d %s, want a plain 403", rec.Code, rec.Header().Get("Content-Type"))
	}
}
