package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"twostep/internal/metrics"
)

// TestServeMetrics: the metrics listener answers GET /metrics and nothing
// else, stops with its context, and is not started without an address.
func TestServeMetrics(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if addr, err := serveMetrics(context.Background(), "", metrics.New().Handler(), log); addr != nil || err != nil {
		t.Fatalf("empty metrics_addr: %v, %v; want no listener", addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := serveMetrics(ctx, "127.0.0.1:0", metrics.New().Handler(), log)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string, error) {
		resp, err := http.Get("http://" + addr.String() + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	if code, body, err := get("/metrics"); err != nil || code != 200 || !strings.Contains(body, "twostep_signins_total") {
		t.Errorf("GET /metrics = %d, %v:\n%.300s", code, err, body)
	}
	if code, _, err := get("/api/v1/me"); err != nil || code != 404 {
		t.Errorf("GET /api/v1/me on the metrics listener = %d, %v; want 404", code, err)
	}
	cancel()
	for range 100 {
		if _, _, err := get("/metrics"); err != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("the metrics listener still answers after its context ended")
}
