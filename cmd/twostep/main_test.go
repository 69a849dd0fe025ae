package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"twostep/internal/admin"
	"twostep/internal/app"
	"twostep/internal/factor"
	"twostep/internal/secret"
	"twostep/internal/store"
	"twostep/internal/testenv"
)

// TestMain lets the tests run this binary's main as a child process.
func TestMain(m *testing.M) {
	if os.Getenv("TWOSTEP_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer the child's output copier and the test can
// use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeShutsDownGracefully starts `twostep serve`, sends SIGTERM while
// a slow sign-in is in flight, and checks the request still gets its
// answer and the process exits cleanly.
func TestServeShutsDownGracefully(t *testing.T) {
	addr := freeAddr(t)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "serve", "--addr", addr, "--data-dir", dir)
	// Expensive hashing so the sign-in is still running when SIGTERM comes.
	cmd.Env = append(os.Environ(), "TWOSTEP_TEST_RUN_MAIN=1", "TWOSTEP_PASSWORD_MEMORY_KIB=262144", "TWOSTEP_PASSWORD_ITERATIONS=4")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(stdout.String(), "Open http://"+addr) {
		t.Fatalf("stdout = %q, want the URL to open", stdout.String())
	}
	if _, err := os.Stat(dir + "/secret.key"); err != nil {
		t.Fatalf("no generated key: %v", err)
	}
	if fi, _ := os.Stat(dir + "/secret.key"); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key mode = %v, want 0600", fi.Mode().Perm())
	}

	done := make(chan string)
	go func() {
		resp, err := http.Post(base+"/api/v1/signin", "application/json", strings.NewReader(`{"email":"a@example.com","password":"something long"}`))
		if err != nil {
			done <- "error: " + err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- fmt.Sprintf("%d %s", resp.StatusCode, body)
	}()
	time.Sleep(100 * time.Millisecond) // the hash is now running
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if !strings.HasPrefix(got, "401 ") || !strings.Contains(got, "invalid_credentials") {
		t.Fatalf("in-flight sign-in got %q, want its 401 answer", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped") {
		t.Fatalf("no clean stop in log:\n%s", stderr.String())
	}
}

func TestVersionAndUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run([]string{"version"}, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "twostep ") {
		t.Fatalf("version: %q, %v", out.String(), err)
	}
	if err := run([]string{"frobnicate"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("unknown command: %v", err)
	}
	if err := run(nil, &out, &errb); err == nil {
		t.Fatal("no command: want usage error")
	}
}

func TestMigrateCommand(t *testing.T) {
	var out, errb bytes.Buffer
	dir := t.TempDir()
	if err := run([]string{"migrate", "--data-dir", dir}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "applied ") || strings.HasPrefix(out.String(), "applied 0 ") {
		t.Fatalf("first migrate: %q", out.String())
	}
	out.Reset()
	if err := run([]string{"migrate", "--data-dir", dir}, &out, &errb); err != nil || !strings.Contains(out.String(), "applied 0 migration") {
		t.Fatalf("second migrate: %q, %v", out.String(), err)
	}
}

func TestBadConfigIsRefusedClearly(t *testing.T) {
	var out, errb bytes.Buffer
	t.Setenv("TWOSTEP_SESSION_IDLE_TIMEOUT", "soon")
	err := run([]string{"migrate", "--data-dir", t.TempDir()}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "TWOSTEP_SESSION_IDLE_TIMEOUT") {
		t.Fatalf("err = %v, want it to name TWOSTEP_SESSION_IDLE_TIMEOUT", err)
	}
}

func TestDeliveriesCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run([]string{"deliveries", "--data-dir", t.TempDir()}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "time (UTC)") {
		t.Fatalf("deliveries output = %q, want a table header", out.String())
	}
}

// startServe runs `twostep serve` as a child with extra environment and
// returns it with its output; the caller waits or kills.
func startServe(t *testing.T, env []string, args ...string) (*exec.Cmd, *syncBuffer, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve"}, args...)...)
	cmd.Env = append(append(os.Environ(), "TWOSTEP_TEST_RUN_MAIN=1"), env...)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, &stdout, &stderr
}

// waitExit waits up to 30 s for cmd to end and returns its error.
func waitExit(t *testing.T, cmd *exec.Cmd) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("twostep serve did not exit")
		return nil
	}
}

// TestServeRefusesAnExposedOutbox: the developer outbox on a server that
// others can reach — over https, or listening beyond loopback — is refused
// at start, naming the settings to change, before anything listens.
func TestServeRefusesAnExposedOutbox(t *testing.T) {
	port := strings.TrimPrefix(freeAddr(t), "127.0.0.1:")
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"https public url", []string{"TWOSTEP_SERVER_PUBLIC_URL=https://login.example.com"}, []string{"--addr", freeAddr(t)},
			[]string{"delivery.email", "delivery.sms", "delivery.voice", "server.public_url", "https"}},
		{"every interface", nil, []string{"--addr", "0.0.0.0:" + port}, []string{"delivery.email", "server.addr", "0.0.0.0:" + port}},
		{"a non-loopback address", nil, []string{"--addr", "192.0.2.1:" + port}, []string{"delivery.email", "server.addr", "192.0.2.1"}},
		{"smtp but texts to the outbox", []string{"TWOSTEP_DELIVERY_EMAIL=smtp", "TWOSTEP_DELIVERY_SMTP_HOST=mail.example.com",
			"TWOSTEP_DELIVERY_SMTP_FROM=noreply@example.com", "TWOSTEP_DELIVERY_SMS=outbox"}, []string{"--addr", "0.0.0.0:" + port},
			[]string{"delivery.sms", "server.addr"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd, stdout, stderr := startServe(t, tt.env, append(tt.args, "--data-dir", t.TempDir())...)
			err := waitExit(t, cmd)
			if err == nil {
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

// TestServeOutboxBanner: `twostep serve` with no settings still runs on
// 127.0.0.1 with the outbox, and says so loudly with the outbox's URL; a
// server without the outbox prints no banner.
func TestServeOutboxBanner(t *testing.T) {
	for _, tt := range []struct {
		name   string
		env    []string
		banner bool
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
			time.Sleep(100 * time.Millisecond) // the banner follows the URL
			resp, err := http.Get("http://" + addr + "/readyz")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("GET /readyz: %v %v\n%s", resp, err, stderr.String())
			}
			resp.Body.Close()
			got := stderr.String()
			for _, w := range []string{"DEVELOPER OUTBOX IS ON", "http://" + addr + "/dev/outbox", "never use in production", "delivery.email"} {
				if strings.Contains(got, w) != tt.banner {
					t.Errorf("stderr contains %q: %v, want %v\n%s", w, !tt.banner, tt.banner, got)
				}
			}
			if tt.banner && strings.Count(got, "\n") < 6 {
				t.Errorf("banner is not the loud multi-line kind:\n%s", got)
			}
		})
	}
}

// TestServeRefusesAReadOnlySQLiteFile: SQLite opens a file it may not
// write read-only without a word, and every sign-in would then fail; serve
// refuses to start instead, saying why. When the tests run as root (who
// may write any file) the server runs as nobody, so the mode is real.
func TestServeRefusesAReadOnlySQLiteFile(t *testing.T) {
	dir, err := os.MkdirTemp("", "twostep-readonly-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A database that has been served before (schema and server secret in
	// place), so nothing but the file mode stands in the way of starting.
	data := dir + "/data"
	key := strings.Repeat("ab", 32)
	cfg := testenv.Config(t, "")
	cfg.Server.DataDir, cfg.Secrets.Key = data, key
	a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{Now: testenv.NewClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	if err := os.Chmod(data+"/twostep.db", 0o444); err != nil {
		t.Fatal(err)
	}
	bin := os.Args[0]
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		// nobody owns the directory (SQLite may make its -shm there) but
		// not the database file, which root keeps at 0444.
		const nobody = 65534
		if err := os.Chown(data, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		bin = dir + "/twostep.test"
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
		cred = &syscall.Credential{Uid: nobody, Gid: nobody}
	}
	cmd := exec.Command(bin, "serve", "--addr", freeAddr(t), "--data-dir", data)
	cmd.Env = append(os.Environ(), "TWOSTEP_TEST_RUN_MAIN=1",
		"TWOSTEP_SECRETS_KEY="+key) // no key file to write either
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("serve on a read-only database is still running\nstdout: %s\nstderr: %s", stdout.String(), stderr.String())
	}
	if err == nil || strings.Contains(stdout.String(), "is running") {
		t.Fatalf("serve on a read-only database: exit %v, stdout %q; want a refusal", err, stdout.String())
	}
	if got := stderr.String(); !strings.Contains(got, "twostep.db") || !strings.Contains(got, "read-only") {
		t.Errorf("stderr %q: want it to name the database file and say it is read-only", got)
	}
}

// TestRotateKeyCommand runs `twostep rotate-key` on a database holding
// every kind of sealed value under the old key: without the old key in
// secrets.old_keys it changes nothing and says so; with it, it re-seals
// everything, after which the new key alone opens every value and a
// second run has nothing to do.
func TestRotateKeyCommand(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			dbURL := testenv.DatabaseURL(t, engine)
			oldKey, newKey := hex.EncodeToString(randomBytes(32)), hex.EncodeToString(randomBytes(32))
			t.Setenv("TWOSTEP_DATABASE_URL", dbURL)
			dir := t.TempDir()
			db, err := store.Open(t.Context(), dbURL, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			old := keyring(t, oldKey, "")
			if _, err := app.Pepper(t.Context(), db, old); err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
			if err := db.CreateUser(t.Context(), store.User{ID: "u1", Email: "a@example.com", PasswordHash: "x", CreatedAt: now, PasswordChangedAt: now}); err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct{ id, kind, plain, context string }{
				{"f-app", "totp", "JBSWY3DPEHPK3PXP", "totp:f-app"},
				{"f-sms", "sms", "+15062345678", "to:f-sms"},
				{"f-voice", "voice", "+15062345679", "to:f-voice"},
				{"f-mail", "email", "a@example.com", "to:f-mail"},
			} {
				if err := db.CreateFactor(t.Context(), store.Factor{ID: f.id, UserID: "u1", Kind: factor.Kind(f.kind), Label: f.id, Role: "primary",
					Status: "active", Secret: old.Seal([]byte(f.plain), f.context), CreatedAt: now, ConfirmedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.IssueSentCode(t.Context(), store.SentCode{ID: "c1", FactorID: "f-sms", CodeHash: "h",
				SealedCode: old.Seal([]byte("123456"), "code:c1"), CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}, now, 5); err != nil {
				t.Fatal(err)
			}
			if err := db.QueueMail(t.Context(), store.Mail{ID: "m1", Kind: "verification", Channel: "email", To: "a@example.com",
				Sealed: old.Seal([]byte(`{"s":"Confirm"}`), "mail:m1"), CreatedAt: now, DueAt: now}); err != nil {
				t.Fatal(err)
			}
			before, err := db.AllSealedSecrets(t.Context())
			if err != nil || len(before) != 7 {
				t.Fatalf("sealed values before: %d (%v), want 7", len(before), err)
			}

			var out, errb bytes.Buffer
			t.Setenv("TWOSTEP_SECRETS_KEY", newKey)
			err = run([]string{"rotate-key", "--data-dir", dir}, &out, &errb)
			if err == nil || !strings.Contains(err.Error(), "re-encrypted 0 before the error") || !strings.Contains(err.Error(), "secrets.old_keys") {
				t.Fatalf("rotate-key without the old key: err = %v, want a failure that re-encrypted nothing", err)
			}
			if after, _ := db.AllSealedSecrets(t.Context()); !reflect.DeepEqual(after, before) {
				t.Fatalf("a failed rotate-key changed the sealed values:\n got  %v\n want %v", after, before)
			}

			t.Setenv("TWOSTEP_SECRETS_OLD_KEYS", oldKey)
			if err := run([]string{"rotate-key", "--data-dir", dir}, &out, &errb); err != nil {
				t.Fatalf("rotate-key: %v", err)
			}
			if want := "re-encrypted 7 secret(s) under key " + keyring(t, newKey, "").KeyID(); !strings.HasPrefix(out.String(), want) {
				t.Fatalf("rotate-key said %q, want it to start %q", out.String(), want)
			}
			only := keyring(t, newKey, "")
			after, err := db.AllSealedSecrets(t.Context())
			if err != nil || len(after) != 7 {
				t.Fatalf("sealed values after: %d (%v), want 7", len(after), err)
			}
			for _, s := range after {
				sc, err := admin.SealContext(s)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := only.Open(s.Sealed, sc); err != nil {
					t.Errorf("%s %s does not open with the new key alone: %v", s.Table, s.ID, err)
				}
			}
			t.Setenv("TWOSTEP_SECRETS_OLD_KEYS", "")
			out.Reset()
			if err := run([]string{"rotate-key", "--data-dir", dir}, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "re-encrypted 0 ") {
				t.Fatalf("second rotate-key: %q, %v; want nothing left to do", out.String(), err)
			}
		})
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func keyring(t *testing.T, key, oldKeys string) *secret.Keyring {
	t.Helper()
	k, err := secret.ParseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := app.Keyring(k, oldKeys)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}
