package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// runMain runs the twostep binary with args, as a person types them, and
// returns its stdout, stderr and exit code.
func runMain(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TWOSTEP_TEST_RUN_MAIN=1")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), stderr.String(), 0
	case errors.As(err, &exit):
		return stdout.String(), stderr.String(), exit.ExitCode()
	}
	t.Fatalf("run twostep %v: %v", args, err)
	return "", "", -1
}

// commands are what the list must name: every command main dispatches.
var commands = []string{"serve", "migrate", "rotate-key", "deliveries", "clients", "rotate-signing-key", "backup", "bench", "version", "help"}

func wantCommandList(t *testing.T, where, out string) {
	t.Helper()
	for _, c := range commands {
		if !strings.Contains(out, "\n  "+c+" ") {
			t.Errorf("%s does not list %q:\n%s", where, c, out)
		}
	}
}

// TestHelpListsTheCommands: the three ways a newcomer asks for help print
// the commands on stdout and succeed; before, `--help` was an unknown
// command.
func TestHelpListsTheCommands(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "help"} {
		t.Run(arg, func(t *testing.T) {
			stdout, stderr, code := runMain(t, arg)
			if code != 0 {
				t.Fatalf("twostep %s exited %d\nstderr: %s", arg, code, stderr)
			}
			if strings.Contains(stdout+stderr, "unknown command") {
				t.Fatalf("twostep %s: %s%s", arg, stdout, stderr)
			}
			wantCommandList(t, "twostep "+arg, stdout)
		})
	}
}

// TestUnknownCommandFailsWithTheList: a typo still fails, and shows the
// same list so the right spelling is one glance away.
func TestUnknownCommandFailsWithTheList(t *testing.T) {
	for _, args := range [][]string{{"serv"}, {"--halp"}, {}} {
		stdout, stderr, code := runMain(t, args...)
		if code == 0 {
			t.Fatalf("twostep %v exited 0; want a failure\nstdout: %s", args, stdout)
		}
		wantCommandList(t, "stderr of twostep "+strings.Join(args, " "), stderr)
		if len(args) > 0 && !strings.Contains(stderr, `unknown command "`+args[0]+`"`) {
			t.Errorf("stderr of twostep %v does not name the unknown command:\n%s", args, stderr)
		}
	}
}

// TestServeStartLinesNameTheOutbox: the lines a newcomer reads at start —
// stdout, not the log — say where the confirmation link and the codes
// went when the outbox is on, and say nothing of it when it is off.
func TestServeStartLinesNameTheOutbox(t *testing.T) {
	for _, tt := range []struct {
		name   string
		env    []string
		outbox bool
	}{
		{"outbox", nil, true},
		{"smtp", []string{"TWOSTEP_DELIVERY_EMAIL=smtp", "TWOSTEP_DELIVERY_SMTP_HOST=127.0.0.1", "TWOSTEP_DELIVERY_SMTP_FROM=noreply@example.com"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := freeAddr(t)
			_, stdout, stderr := startServe(t, tt.env, "--addr", addr, "--data-dir", t.TempDir())
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(stdout.String(), "Open http://") {
				if time.Now().After(deadline) {
					t.Fatalf("server did not start:\n%s", stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond) // the outbox line follows the URL
			got := stdout.String()
			if want := "http://" + addr + "/dev/outbox"; strings.Contains(got, want) != tt.outbox {
				t.Fatalf("stdout contains %q: %v, want %v\n%s", want, !tt.outbox, tt.outbox, got)
			}
		})
	}
}
