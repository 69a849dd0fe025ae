package server

import (
	"context"
	"net/http"
	"time"
)

// Observer measures requests. Begin may give the request a context that
// the work it does reports into; End is told the request's route, status
// and duration.
type Observer interface {
	Begin(ctx context.Context) context.Context
	// End gets the mux pattern that served the request ("POST
	// /api/v1/signin", "/" for a page not found) — never the raw path,
	// whose values are unbounded — or "" when it was refused before
	// routing.
	End(ctx context.Context, route string, status int, d time.Duration)
}

// observe wraps the whole handler, panics and refusals included, so that
// every answer is measured.
func observe(o Observer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// The mux sets Pattern on the request it is handed: this one,
		// as nothing between clones it.
		r = r.WithContext(o.Begin(r.Context()))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			o.End(r.Context(), r.Pattern, status, time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer
// (flushing, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush keeps streamed answers streaming.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		f.Flush()
	}
}
