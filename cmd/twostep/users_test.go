package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"

	"twostep/internal/admin"
	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/delivery"
	"twostep/internal/factor/totp"
	"twostep/internal/store"
	"twostep/internal/testenv"
)

// usersEnv is a running `twostep serve` child on a database of its own,
// and the environment the users commands get to reach it.
type usersEnv struct {
	t    *testing.T
	base string
	env  []string
	db   *store.DB
	url  string
	dir  string
}

func startUsersEnv(t *testing.T, engine string, extra ...string) *usersEnv {
	t.Helper()
	dbURL, dir, addr := testenv.DatabaseURL(t, engine), t.TempDir(), freeAddr(t)
	e := &usersEnv{t: t, base: "http://" + addr, url: dbURL, dir: dir}
	// Cheap hashing for the server's own hashes: what these tests check
	// is what the commands do, not argon2's cost.
	e.env = append([]string{"TWOSTEP_DATABASE_URL=" + dbURL, "TWOSTEP_SERVER_DATA_DIR=" + dir,
		"TWOSTEP_SECRETS_KEY=" + hex.EncodeToString(randomBytes(32)), "TWOSTEP_SERVER_PUBLIC_URL=" + e.base,
		"TWOSTEP_PASSWORD_MEMORY_KIB=1024", "TWOSTEP_PASSWORD_ITERATIONS=1"}, extra...)
	serveChild(t, addr, e.env)
	db, err := store.Open(t.Context(), dbURL, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	return e
}

// users runs `twostep users ARGS…` and wants exit code 0.
func (e *usersEnv) users(args ...string) (stdout, stderr string) {
	e.t.Helper()
	out, errOut, code := twostepCmd(e.t, e.env, append([]string{"users"}, args...)...)
	if code != 0 {
		e.t.Fatalf("twostep users %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out, errOut
}

func (e *usersEnv) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// call sends a JSON request and returns the status and the decoded body.
func (e *usersEnv) call(c *http.Client, method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// want calls and checks the status (and the problem code, if given).
func (e *usersEnv) want(c *http.Client, method, path string, body any, status int, code string) map[string]any {
	e.t.Helper()
	got, out := e.call(c, method, path, body)
	if got != status || (code != "" && out["code"] != code) {
		e.t.Fatalf("%s %s: %d %v, want %d %s", method, path, got, out, status, code)
	}
	return out
}

// message waits (the servers' mail loop polls every few seconds) for a
// message to to whose subject or body contains text, and returns it.
func (e *usersEnv) message(to, text string) delivery.Sent {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(e.base + "/api/v1/dev/outbox?to=" + url.QueryEscape(to))
		if err != nil {
			e.t.Fatal(err)
		}
		var msgs []delivery.Sent
		json.NewDecoder(resp.Body).Decode(&msgs)
		resp.Body.Close()
		for _, m := range msgs {
			if strings.Contains(m.Subject, text) || strings.Contains(m.Body, text) {
				return m
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no message to %s containing %q; got %+v", to, text, msgs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

const (
	adaEmail    = "ada@example.com"
	adaPassword = "correct horse battery staple"
	adaPhone    = "+15062345678"
)

// twoStepAccount signs up ada with a confirmed address, a phone, an
// authenticator app and recovery codes, and two-step on; it returns the
// signed-in client, the app's secret, and the recovery codes' method id
// with one of the codes.
func (e *usersEnv) twoStepAccount() (c *http.Client, secret, recoveryID, recoveryCode string) {
	e.t.Helper()
	c = e.client()
	e.want(c, "POST", "/api/v1/signup", map[string]string{"email": adaEmail, "password": adaPassword}, 201, "")
	verify := e.message(adaEmail, "Confirm your e-mail")
	e.want(c, "POST", "/api/v1/email/verify", map[string]string{"token": verify.Code}, 200, "")
	phone := e.want(c, "POST", "/api/v1/factors/phone", map[string]string{"phone": "(506) 234-5678", "country": "CA", "channel": "sms"}, 201, "")
	phoneID := phone["factor"].(map[string]any)["id"].(string)
	e.want(c, "POST", "/api/v1/factors/"+phoneID+"/confirm", map[string]string{"code": e.message(adaPhone, "").Code}, 200, "")
	app := e.want(c, "POST", "/api/v1/factors/totp", map[string]string{"label": "Phone app"}, 201, "")
	secret = app["secret"].(string)
	e.want(c, "POST", "/api/v1/factors/"+app["factor"].(map[string]any)["id"].(string)+"/confirm", map[string]string{"code": totpNow(e.t, secret)}, 200, "")
	rc := e.want(c, "POST", "/api/v1/factors/recovery-codes", nil, 201, "")
	e.want(c, "POST", "/api/v1/two-step/enable", nil, 200, "")
	return c, secret, rc["factor"].(map[string]any)["id"].(string), rc["codes"].([]any)[0].(string)
}

func totpNow(t *testing.T, secret string) string {
	t.Helper()
	key, err := totp.DecodeSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return totp.HOTP(key, uint64(time.Now().Unix()/30), 6, totp.SHA1)
}

// signInWithCode signs ada in with a recovery code, and remembers the
// browser.
func (e *usersEnv) signInWithCode(methodID, code string) *http.Client {
	e.t.Helper()
	c := e.client()
	e.want(c, "POST", "/api/v1/signin", map[string]string{"email": adaEmail, "password": adaPassword}, 200, "")
	e.want(c, "POST", "/api/v1/signin/verify", map[string]any{"method_id": methodID, "code": code, "remember_device": true}, 200, "")
	return c
}

// rawCount counts rows of table matching where (? placeholders) with
// plain SQL, for what the store's API does not show.
func (e *usersEnv) rawCount(table, where string, args ...any) int {
	e.t.Helper()
	driver, dsn := "pgx", e.url
	if strings.HasPrefix(e.url, "sqlite:") {
		driver, dsn = "sqlite", "file:"+strings.TrimPrefix(e.url, "sqlite:")
	} else {
		n := 0
		where = regexp.MustCompile(`\?`).ReplaceAllStringFunc(where, func(string) string { n++; return fmt.Sprintf("$%d", n) })
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow("SELECT COUNT(*) FROM "+table+" WHERE "+where, args...).Scan(&n); err != nil {
		e.t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// TestUsersCommands runs every one-account command with the real binary
// against a running server on the same database: the server sees each
// change at once, the person is told, and each is recorded.
func TestUsersCommands(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			e := startUsersEnv(t, engine)
			session, secret, recoveryID, recoveryCode := e.twoStepAccount()
			u, err := e.db.UserByEmail(t.Context(), adaEmail)
			if err != nil {
				t.Fatal(err)
			}

			// list and show: the account, its methods, never a secret.
			out, _ := e.users("list", "--json", "--filter", "ADA@")
			var list []map[string]any
			if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0]["email"] != adaEmail ||
				list[0]["two_step_enabled"] != true || list[0]["methods"] != float64(3) || list[0]["status"] != "active" {
				t.Fatalf("users list --json: %s (%v)", out, err)
			}
			out, _ = e.users("show", adaEmail)
			for _, want := range []string{"status:            active", "two-step:          on", "sms", "totp", "recovery_code", "•••", "Sessions (1 live)", "two_step_enabled"} {
				if !strings.Contains(out, want) {
					t.Errorf("users show: want %q in\n%s", want, out)
				}
			}
			if strings.Contains(out, secret) || strings.Contains(out, "5062345678") || strings.Contains(out, u.PasswordHash) {
				t.Errorf("users show printed a secret, the full number or the hash:\n%s", out)
			}

			// disable (flags first): signed out, refused with the right
			// password only, told.
			out, _ = e.users("disable", "--reason", "fraud report #12", adaEmail)
			if !strings.Contains(out, "disabled "+adaEmail) || !strings.Contains(out, "sessions ended: 1") {
				t.Errorf("users disable printed %q", out)
			}
			e.want(session, "GET", "/api/v1/me", nil, 401, "")
			c := e.client()
			e.want(c, "POST", "/api/v1/signin", map[string]string{"email": adaEmail, "password": adaPassword}, 403, "account_disabled")
			e.want(c, "POST", "/api/v1/signin", map[string]string{"email": adaEmail, "password": "wrong " + adaPassword}, 401, "invalid_credentials")
			e.message(adaEmail, "Your account was disabled")
			if out, _ := e.users("disable", adaEmail, "--reason", "again"); !strings.Contains(out, "already disabled") {
				t.Errorf("disabling twice: %q", out)
			}
			if _, errOut, code := twostepCmd(t, e.env, "users", "disable", adaEmail); code == 0 || !strings.Contains(errOut, "--reason") {
				t.Errorf("disable without --reason: exit %d, %q", code, errOut)
			}

			// enable (flags after): signing in works again.
			e.users("enable", adaEmail, "--reason", "cleared")
			e.want(c, "POST", "/api/v1/signin", map[string]string{"email": adaEmail, "password": adaPassword}, 200, "")
			e.message(adaEmail, "enabled again")

			// reset-two-step: every method, session and remembered browser
			// gone; told on the address and the phone; the next sign-in
			// needs no code.
			signedIn := e.signInWithCode(recoveryID, recoveryCode)
			e.want(signedIn, "GET", "/api/v1/me", nil, 200, "")
			out, _ = e.users("reset-two-step", adaEmail, "--reason", "lost phone; identity checked by reply from address and second staff member")
			if !strings.Contains(out, "methods removed: 3, remembered browsers forgotten: 1") || !strings.Contains(out, "sessions ended: 1") {
				t.Errorf("users reset-two-step printed %q", out)
			}
			e.want(signedIn, "GET", "/api/v1/me", nil, 401, "")
			if n := e.rawCount("factors", "user_id = ?", u.ID); n != 0 {
				t.Errorf("%d methods left after reset-two-step", n)
			}
			if n := e.rawCount("devices", "user_id = ?", u.ID); n != 0 {
				t.Errorf("%d remembered browsers left after reset-two-step", n)
			}
			e.message(adaEmail, "Two-step verification was reset")
			if m := e.message(adaPhone, "reset two-step verification"); m.Channel != delivery.SMS {
				t.Errorf("the phone was told by %s, want a text", m.Channel)
			}
			if r := e.want(e.client(), "POST", "/api/v1/signin", map[string]string{"email": adaEmail, "password": adaPassword}, 200, ""); r["status"] != "signed_in" {
				t.Errorf("sign-in after reset-two-step: %v, want signed_in without a code", r)
			}

			// force-password-reset: the right password is refused, a link
			// is sent, and the reset works.
			e.users("force-password-reset", adaEmail, "--reason", "password seen in a paste")
			e.want(e.client(), "POST", "/api/v1/signin", map[string]string{"email": adaEmail, "password": adaPassword}, 403, "password_reset_required")
			link := e.message(adaEmail, "Choose a new password")
			e.want(e.client(), "POST", "/api/v1/password/reset/confirm", map[string]string{"token": link.Code, "new_password": "a brand new passphrase 42"}, 200, "")
			e.want(e.client(), "POST", "/api/v1/signin", map[string]string{"email": adaEmail, "password": "a brand new passphrase 42"}, 200, "")

			// export: everything kept, no secret.
			out, _ = e.users("export", adaEmail)
			var x map[string]any
			if err := json.Unmarshal([]byte(out), &x); err != nil {
				t.Fatalf("users export is not JSON: %v\n%s", err, out)
			}
			if x["account"].(map[string]any)["email"] != adaEmail || len(x["not_included"].([]any)) == 0 || len(x["sessions"].([]any)) < 3 {
				t.Errorf("export: %s", out)
			}
			kinds := map[string]bool{}
			for _, ev := range x["security_events"].([]any) {
				kinds[ev.(map[string]any)["kind"].(string)] = true
			}
			for _, k := range []string{"admin_disable", "admin_enable", "admin_reset_two_step", "admin_force_password_reset", "admin_export", "signup"} {
				if !kinds[k] {
					t.Errorf("export: no %s event among %v", k, kinds)
				}
			}
			after, _ := e.db.UserByID(t.Context(), u.ID)
			for _, s := range []string{after.PasswordHash, secret, link.Code} {
				if strings.Contains(out, s) {
					t.Errorf("export holds a secret %q", s)
				}
			}
			operator := admin.Operator()
			if n := e.rawCount("events", "user_id = ? AND kind = 'admin_disable' AND detail = ?", u.ID, "by "+operator+": fraud report #12"); n != 1 {
				t.Errorf("admin_disable event with the operator %q and reason: %d", operator, n)
			}

			// delete: gone; its events stay, anonymised.
			events := e.rawCount("events", "user_id = ?", u.ID)
			e.users("delete", adaEmail, "--reason", "GDPR erasure request 2026-118")
			if _, err := e.db.UserByEmail(t.Context(), adaEmail); err == nil {
				t.Fatal("the deleted account is still there")
			}
			if n := e.rawCount("events", "user_id = ?", u.ID); n != 0 {
				t.Errorf("%d events still name the deleted account", n)
			}
			if n := e.rawCount("events", "user_id IS NULL AND ip = '' AND user_agent = '' AND detail = ''"); n != events {
				t.Errorf("%d anonymised events, want the account's %d", n, events)
			}
			if n := e.rawCount("events", "user_id IS NULL AND kind = 'admin_delete' AND detail = ?", "by "+operator+": GDPR erasure request 2026-118"); n != 1 {
				t.Errorf("the erasure is not recorded without the account: %d", n)
			}
			for _, table := range []string{"sessions", "mail_queue", "known_browsers", "tokens"} {
				if n := e.rawCount(table, "user_id = ?", u.ID); n != 0 {
					t.Errorf("%s: %d rows of the deleted account", table, n)
				}
			}
			e.want(e.client(), "POST", "/api/v1/signin", map[string]string{"email": adaEmail, "password": "a brand new passphrase 42"}, 401, "invalid_credentials")
			if _, errOut, code := twostepCmd(t, e.env, "users", "show", adaEmail); code == 0 || !strings.Contains(errOut, "no account") {
				t.Errorf("show after delete: exit %d %q", code, errOut)
			}
		})
	}
}

// TestUsersForceAll demands a new password of 3,000 accounts in batches
// while the server runs, resumes a run that was interrupted, and prints
// its rate.
func TestUsersForceAll(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			e := startUsersEnv(t, engine)
			c := e.client()
			e.want(c, "POST", "/api/v1/signup", map[string]string{"email": adaEmail, "password": adaPassword}, 201, "")
			const n = 3000
			now := time.Now()
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(e.db.InTx(t.Context(), func(tx *store.Tx) error {
				for i := range n - 1 {
					if err := tx.CreateUser(t.Context(), store.User{ID: store.NewID(), Email: fmt.Sprintf("u%05d@example.com", i), PasswordHash: "$2a$04$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", CreatedAt: now, PasswordChangedAt: now}); err != nil {
						return err
					}
				}
				return nil
			}))

			// An interrupted run: stopped after two batches of 100.
			cfg, err := config.Load("", e.env)
			must(err)
			acct, _, err := app.Operator(t.Context(), cfg, e.db, nil)
			must(err)
			ctx, cancel := context.WithCancel(t.Context())
			batches := 0
			_, err = admin.NewUsers(e.db, acct, "tester").ForceAll(ctx, "breach of the old forum", 100, func(p admin.Progress) {
				if p.Batch > 0 {
					if batches++; batches == 2 {
						cancel()
					}
				}
			})
			if err == nil {
				t.Fatal("the interrupted run finished")
			}
			job, err := e.db.UnfinishedJob(t.Context(), admin.JobForceReset)
			must(err)
			if job.Done != 200 {
				t.Fatalf("interrupted after %d accounts, want 200", job.Done)
			}

			// The command resumes it.
			start := time.Now()
			out, _ := e.users("force-password-reset", "--all", "--reason", "breach", "--batch", "500")
			elapsed := time.Since(start)
			if !strings.Contains(out, "resuming the run") || !strings.Contains(out, "200 accounts already done") || !strings.Contains(out, fmt.Sprintf("every account (%d)", n)) {
				t.Fatalf("users force-password-reset --all printed:\n%s", out)
			}
			t.Logf("%s: %s(whole command %s, including start-up)", engine, out[strings.Index(out, "  this run"):], elapsed.Round(time.Millisecond))
			if got := e.rawCount("users", "password_reset_required_at = ?", job.StartedAt.UnixMicro()); got != n {
				t.Errorf("%d accounts must choose a new password, want %d", got, n)
			}
			if got := e.rawCount("mail_queue", "kind = 'password reset'"); got != n {
				t.Errorf("%d reset e-mails queued, want %d (one each, none twice)", got, n)
			}
			if got := e.rawCount("events", "kind = 'admin_force_password_reset'"); got != n {
				t.Errorf("%d admin_force_password_reset events, want %d", got, n)
			}
			e.want(c, "GET", "/api/v1/me", nil, 401, "")
			e.want(e.client(), "POST", "/api/v1/signin", map[string]string{"email": adaEmail, "password": adaPassword}, 403, "password_reset_required")
			e.message(adaEmail, "Choose a new password")
			if _, err := e.db.UnfinishedJob(t.Context(), admin.JobForceReset); err == nil {
				t.Error("the run is still unfinished")
			}
		})
	}
}

// TestUsersImport brings in accounts with every hash format, real hashes
// made here, reports bad lines by number, changes nothing when run again,
// and the first sign-in of each turns its hash into the server's argon2id.
func TestUsersImport(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			e := startUsersEnv(t, engine)
			pw := func(i int) string { return fmt.Sprintf("imported password %d", i) }
			salt := []byte("saltsaltsaltsalt")
			b64 := base64.RawStdEncoding
			bc := func(i int, prefix string) string {
				h, err := bcrypt.GenerateFromPassword([]byte(pw(i)), 4)
				if err != nil {
					t.Fatal(err)
				}
				return prefix + string(h[4:])
			}
			p256, _ := pbkdf2.Key(sha256.New, pw(5), []byte("djsalt"), 1000, 32)
			p1, _ := pbkdf2.Key(sha1.New, pw(6), []byte("djsalt"), 1000, 20)
			hashes := []string{
				"$argon2id$v=19$m=256,t=2,p=1$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(argon2.IDKey([]byte(pw(0)), salt, 2, 256, 1, 32)),
				"$argon2i$v=19$m=256,t=2,p=1$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(argon2.Key([]byte(pw(1)), salt, 2, 256, 1, 32)),
				bc(2, "$2a$"), bc(3, "$2b$"), bc(4, "$2y$"),
				"pbkdf2_sha256$1000$djsalt$" + base64.StdEncoding.EncodeToString(p256),
				"pbkdf2_sha1$1000$djsalt$" + base64.StdEncoding.EncodeToString(p1),
			}
			var lines []string
			for i, h := range hashes {
				l, _ := json.Marshal(map[string]any{"email": fmt.Sprintf("Imported%d@Example.com", i), "password_hash": h, "email_verified": i%2 == 0, "created_at": "2024-05-01T12:00:00Z"})
				lines = append(lines, string(l))
			}
			bad := []string{
				`{"email": "broken@example.com", "password_hash": `, // line 8: not JSON
				`{"email": "not an address", "password_hash": "` + hashes[2] + `"}`,
				`{"email": "plain@example.com", "password_hash": "hunter2"}`,
				`{"email": "future@example.com", "password_hash": "` + hashes[2] + `", "created_at": "2999-01-01T00:00:00Z"}`,
			}
			lines = append(lines, bad...)
			lines = append(lines, "", lines[0]) // a blank line, and a repeat
			file := filepath.Join(t.TempDir(), "old-users.jsonl")
			if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			out, errOut := e.users("import", file)
			if !strings.Contains(out, "12 lines: 7 accounts created, 1 already there (skipped), 4 bad lines (skipped)") ||
				!strings.Contains(out, "argon2i 1, argon2id 1, bcrypt 3, pbkdf2_sha1 1, pbkdf2_sha256 1") {
				t.Errorf("import printed:\n%s", out)
			}
			for i, want := range []string{":8: skipped: not a JSON object", ":9: skipped: email", ":10: skipped: plain@example.com: password_hash", ":11: skipped: future@example.com: created_at"} {
				if !strings.Contains(errOut, file+want) {
					t.Errorf("bad line %d: want %q in\n%s", i, file+want, errOut)
				}
			}
			out, _ = e.users("import", file)
			if !strings.Contains(out, "0 accounts created, 8 already there") {
				t.Errorf("a second import changed something:\n%s", out)
			}
			u, err := e.db.UserByEmail(t.Context(), "imported0@example.com")
			if err != nil || u.EmailVerifiedAt.IsZero() || !u.CreatedAt.Equal(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)) {
				t.Fatalf("imported account %+v (%v): want verified, created 2024-05-01", u, err)
			}
			for i, h := range hashes {
				email := fmt.Sprintf("imported%d@example.com", i)
				e.want(e.client(), "POST", "/api/v1/signin", map[string]string{"email": email, "password": pw(i) + "x"}, 401, "invalid_credentials")
				e.want(e.client(), "POST", "/api/v1/signin", map[string]string{"email": email, "password": pw(i)}, 200, "")
				u, _ := e.db.UserByEmail(t.Context(), email)
				if u.PasswordHash == h || !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=1024,t=1,p=") {
					t.Errorf("%s: hash after the first sign-in %q, want the server's argon2id", email, u.PasswordHash)
				}
			}
			if n := e.rawCount("events", "kind = 'admin_import' AND user_id IS NOT NULL"); n != 7 {
				t.Errorf("%d admin_import events for accounts, want 7", n)
			}
		})
	}
}
