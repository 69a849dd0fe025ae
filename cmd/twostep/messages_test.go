package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRefusesBadMessages: `twostep serve` checks the operator's
// messages file (server.messages_file) at start and refuses one that
// names an unknown message, a language the site lacks or holds a bad
// template, saying which, before anything listens; a good file starts.
func TestServeRefusesBadMessages(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		want       []string
	}{
		{"unknown id", "[en]\n\"signin.titel\" = \"Log in\"\n", []string{"server.messages_file", `"signin.titel"`}},
		{"unknown language", "[xx]\n\"signin.heading\" = \"Log in\"\n", []string{"server.messages_file", `"xx"`}},
		{"bad template", "[en.signin]\nheading = \"Log in to {{.Site\"\n", []string{"server.messages_file", `"signin.heading"`}},
		{"unknown data", "[en.signin]\nheading = \"Hello {{.Name}}\"\n", []string{"server.messages_file", "{{.Name}}"}},
		{"unknown default", "", []string{"server.default_language", "xx"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := []string{"TWOSTEP_SERVER_DEFAULT_LANGUAGE=xx"}
			if tt.file != "" {
				path := filepath.Join(t.TempDir(), "messages.toml")
				if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
				env = []string{"TWOSTEP_SERVER_MESSAGES_FILE=" + path}
			}
			cmd, stdout, stderr := startServe(t, env, "--addr", freeAddr(t), "--data-dir", t.TempDir())
			if err := waitExit(t, cmd); err == nil {
				t.Fatalf("serve exited cleanly; want a refusal\nstdout: %s", stdout.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q: want it to name %q", stderr.String(), w)
				}
			}
			if strings.Contains(stdout.String(), "is running") {
				t.Errorf("stdout %q: the server said it was running", stdout.String())
			}
		})
	}
}
