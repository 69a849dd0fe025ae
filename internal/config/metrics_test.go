package config_test

import (
	"testing"

	"twostep/internal/config"
)

// TestMetricsAddr: metrics are off unless server.metrics_addr is set, and
// a set one must be HOST:PORT other than the public listener's.
func TestMetricsAddr(t *testing.T) {
	if got := config.Default().Server.MetricsAddr; got != "" {
		t.Errorf("default server.metrics_addr = %q, want empty (off)", got)
	}
	c, err := config.Load(writeFile(t, "server:\n  metrics_addr: 127.0.0.1:9090\n"), nil)
	if err != nil || c.Server.MetricsAddr != "127.0.0.1:9090" {
		t.Errorf("Load: metrics_addr %q, %v; want 127.0.0.1:9090", c.Server.MetricsAddr, err)
	}
	c, err = config.Load(writeFile(t, ""), []string{"TWOSTEP_SERVER_METRICS_ADDR=:9100"})
	if err != nil || c.Server.MetricsAddr != ":9100" {
		t.Errorf("Load from the environment: metrics_addr %q, %v; want :9100", c.Server.MetricsAddr, err)
	}
	for _, tt := range []struct{ name, body string }{
		{"no port", "server:\n  metrics_addr: localhost\n"},
		{"empty port", "server:\n  metrics_addr: \"localhost:\"\n"},
		{"the public listener", "server:\n  addr: 127.0.0.1:8080\n  metrics_addr: 127.0.0.1:8080\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(writeFile(t, tt.body), nil)
			wantErrContaining(t, "Load", err, "server.metrics_addr")
		})
	}
}
