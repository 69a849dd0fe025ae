package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"twostep/internal/testenv"
)

// backupServerEnv runs a server on dataDir with cheap hashing (the cost is
// argon2's, not what these tests check) and the sign-up and password
// budgets lifted: every client here comes from 127.0.0.1.
func backupServerEnv(dataDir string) []string {
	env := []string{"TWOSTEP_SERVER_DATA_DIR=" + dataDir,
		"TWOSTEP_PASSWORD_MEMORY_KIB=1024", "TWOSTEP_PASSWORD_ITERATIONS=1",
		"TWOSTEP_LIMITS_SIGNUP_PER_ADDRESS_LIMIT=100000"}
	for _, k := range []string{"ADDRESS", "ACCOUNT", "BROWSER"} {
		env = append(env, "TWOSTEP_LIMITS_PASSWORD_PER_"+k+"_FREE=100000")
	}
	return env
}

// postAccount posts an e-mail and password to /api/v1/signup or
// /api/v1/signin and reports the status and whether a session cookie came
// back.
func postAccount(base, path, email string) (status int, session bool, err error) {
	body := fmt.Sprintf(`{"email":%q,"password":"backup-%s-correct-horse"}`, email, email)
	resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	for _, c := range resp.Cookies() {
		if strings.HasSuffix(c.Name, "twostep_session") && c.Value != "" {
			session = true
		}
	}
	return resp.StatusCode, session, nil
}

func mustSignIn(t *testing.T, base, email string) {
	t.Helper()
	status, session, err := postAccount(base, "/api/v1/signin", email)
	if err != nil || status != http.StatusOK || !session {
		t.Fatalf("sign in %s at %s: status %d, session cookie %v, %v; want 200 with a session", email, base, status, session, err)
	}
}

// TestBackupUnderLoadRestores runs `twostep backup` against a live server
// while clients sign up and sign in, then serves the copy (with the key)
// from a new data directory and signs in there to accounts made before
// the backup. The copy without the key is refused at start, as the
// command's warning says.
func TestBackupUnderLoadRestores(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	env := backupServerEnv(dir)
	serveChild(t, addr, env)
	base := "http://" + addr
	for i := range 3 {
		if status, _, err := postAccount(base, "/api/v1/signup", fmt.Sprintf("before-%d@example.com", i)); err != nil || status != http.StatusCreated {
			t.Fatalf("sign up before-%d: %d %v", i, status, err)
		}
	}

	// Writers: each signs up new accounts and signs in to them until the
	// backup is done. Every sign-up and sign-in writes (user, session,
	// events).
	ctx, cancel := context.WithCancel(t.Context())
	var wrote atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				email := fmt.Sprintf("load-%d-%d@example.com", g, i)
				up, _, err1 := postAccount(base, "/api/v1/signup", email)
				in, session, err2 := postAccount(base, "/api/v1/signin", email)
				if ctx.Err() != nil {
					return
				}
				if up != http.StatusCreated || in != http.StatusOK || !session || err1 != nil || err2 != nil {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s: sign-up %d %v, sign-in %d session %v %v", email, up, err1, in, session, err2))
					mu.Unlock()
					continue
				}
				wrote.Add(1)
			}
		})
	}
	waitFor(t, "load to start", 30*time.Second, func() bool { return wrote.Load() >= 4 })

	file := filepath.Join(t.TempDir(), "twostep-backup.db")
	// Flags after the file, as people type them.
	startedAt := wrote.Load()
	out, errOut, code := twostepCmd(t, nil, "backup", file, "--data-dir", dir)
	during := wrote.Load() - startedAt
	cancel()
	wg.Wait()
	if code != 0 {
		t.Fatalf("backup: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if len(failures) > 0 {
		t.Fatalf("%d sign-ups/sign-ins failed under load, e.g. %s", len(failures), failures[0])
	}
	t.Logf("%d accounts signed up and in under load, %d while the backup ran", wrote.Load(), during)
	if during == 0 {
		t.Error("no sign-in finished while the backup ran: the backup held the server up")
	}
	if !strings.HasPrefix(out, "wrote a consistent copy of "+filepath.Join(dir, "twostep.db")+" to "+file) {
		t.Errorf("backup stdout = %q", out)
	}
	keyFile := filepath.Join(dir, "secret.key")
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out+errOut, strings.TrimSpace(string(key))) {
		t.Fatal("backup printed the secret key")
	}
	if !strings.Contains(errOut, "THE SECRET KEY IS NOT IN THIS BACKUP") || !strings.Contains(errOut, keyFile) {
		t.Errorf("backup stderr %q: want the loud warning naming %s", errOut, keyFile)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, %v; want mode 0600", fi, err)
	}

	// An existing file is refused and left as it was.
	before, _ := os.ReadFile(file)
	_, errOut, code = twostepCmd(t, nil, "backup", "--data-dir", dir, file)
	if code == 0 || !strings.Contains(errOut, "already exists") {
		t.Errorf("backup onto an existing file: exit %d, stderr %q; want a refusal", code, errOut)
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(before, after) {
		t.Error("the refused backup changed the existing file")
	}

	// Restore: the copy as twostep.db, the key beside it.
	restored := t.TempDir()
	copyFile(t, file, filepath.Join(restored, "twostep.db"))
	copyFile(t, keyFile, filepath.Join(restored, "secret.key"))
	addr2 := freeAddr(t)
	serveChild(t, addr2, backupServerEnv(restored))
	base2 := "http://" + addr2
	mustSignIn(t, base2, "before-0@example.com")
	mustSignIn(t, base2, "before-2@example.com")
	// Each writer's first account was made before the backup began.
	mustSignIn(t, base2, "load-0-0@example.com")
	mustSignIn(t, base2, "load-3-0@example.com")

	// Without the key the copy is refused at start, saying why.
	keyless := t.TempDir()
	copyFile(t, file, filepath.Join(keyless, "twostep.db"))
	cmd, stdout, stderr := startServe(t, backupServerEnv(keyless), "--addr", freeAddr(t))
	if err := waitExit(t, cmd); err == nil || strings.Contains(stdout.String(), "is running") {
		t.Fatalf("serve on the copy without its key: exit %v, stdout %q; want a refusal", err, stdout.String())
	}
	if !strings.Contains(stderr.String(), "secrets.key") {
		t.Errorf("serve without the key: stderr %q, want it to name secrets.key", stderr.String())
	}
}

// TestBackupRefusals: PostgreSQL is pointed to pg_dump, a data directory
// with no database is named, and a missing FILE is a usage error; none
// creates a file.
func TestBackupRefusals(t *testing.T) {
	file := filepath.Join(t.TempDir(), "backup.db")
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"postgres", []string{"TWOSTEP_DATABASE_URL=" + testenv.DatabaseURL(t, "postgres")},
			[]string{"backup", file}, []string{"PostgreSQL", "pg_dump", "pg_restore"}},
		{"no database", nil, []string{"backup", file, "--data-dir", filepath.Join(t.TempDir(), "empty")},
			[]string{"no database at", filepath.Join("empty", "twostep.db")}},
		{"no file", nil, []string{"backup", "--data-dir", t.TempDir()}, []string{"usage: twostep backup FILE"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := twostepCmd(t, tt.env, tt.args...)
			if code == 0 {
				t.Fatalf("exit 0; want a refusal")
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q: want %q", errOut, w)
				}
			}
			if _, err := os.Stat(file); err == nil {
				t.Error("a refused backup created the file")
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
