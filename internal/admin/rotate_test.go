package admin_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"twostep/internal/admin"
	"twostep/internal/app"
	"twostep/internal/delivery"
	"twostep/internal/secret"
	"twostep/internal/store"
	"twostep/internal/testenv"
)

// codeCatcher is the phone carrier and mail server: it keeps the codes.
type codeCatcher struct {
	mu   sync.Mutex
	sent []delivery.Message
}

func (c *codeCatcher) Send(_ context.Context, m delivery.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, m)
	return nil
}

// last returns the code of the newest message to to.
func (c *codeCatcher) last(t *testing.T, to string) string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.sent) - 1; i >= 0; i-- {
		if c.sent[i].To == to && c.sent[i].Code != "" {
			return c.sent[i].Code
		}
	}
	t.Fatalf("no code sent to %s", to)
	return ""
}

// mailDown is a mail server that is down: queued mail stays queued.
type mailDown struct{}

func (mailDown) Send(context.Context, delivery.Message) error {
	return &delivery.Error{Provider: "test", Temporary: true, Err: errors.New("mail server down")}
}

// rotEnv is one twostep on a database shared with the others of a test.
type rotEnv struct {
	t     *testing.T
	srv   *testenv.Server
	clock *testenv.Clock
}

func (e *rotEnv) call(c *http.Client, path string, body any, want int) map[string]any {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest("POST", e.srv.BaseURL()+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		e.t.Fatalf("POST %s: status %d, want %d: %s", path, resp.StatusCode, want, raw)
	}
	out := map[string]any{}
	json.Unmarshal(raw, &out)
	return out
}

func factorID(r map[string]any) string { return r["factor"].(map[string]any)["id"].(string) }

func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

const (
	rotEmail    = "rotate@example.com"
	rotPassword = "correct horse battery staple"
	rotPhone    = "+15062345678"
)

// TestRotateKeyReSealsEverySecret fills a database with every kind of
// sealed value — an authenticator key, a phone number, an e-mail address
// for codes, live sent codes for both, the recovery pepper — rotates to a
// new key, then checks with a keyring holding only the new key that each
// one opens and that nothing in any table is left under the old key, and
// signs in with every method on a server that knows only the new key.
func TestRotateKeyReSealsEverySecret(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			dbURL := testenv.DatabaseURL(t, engine)
			oldKey, newKey := newKey(t), newKey(t)
			clock := testenv.NewClock()
			codes := &codeCatcher{}
			start := func(key, oldKeys string, mail delivery.Sender) *rotEnv {
				cfg := testenv.Config(t, dbURL)
				cfg.Methods.Email = true
				cfg.Secrets.Key, cfg.Secrets.OldKeys = key, oldKeys
				o := app.Options{Now: clock.Now, Sender: mail, CodeSenders: map[delivery.Channel]delivery.Sender{
					delivery.SMS: codes, delivery.Voice: codes, delivery.Email: codes}}
				return &rotEnv{t: t, srv: testenv.Start(t, cfg, o), clock: clock}
			}

			// Before: an account with every kind of method, a sign-in that
			// has sent a code by text and by e-mail, not yet used, and mail
			// (the address's verification link) queued while the mail
			// server is down.
			before := start(oldKey, "", mailDown{})
			c := before.srv.Client()
			before.call(c, "/api/v1/signup", map[string]string{"email": rotEmail, "password": rotPassword}, 201)
			// As if the owner had opened the verification link: two-step
			// verification needs a confirmed address.
			u, err := before.srv.App.DB.UserByEmail(t.Context(), rotEmail)
			if err != nil {
				t.Fatal(err)
			}
			if err := before.srv.App.DB.MarkEmailVerified(t.Context(), u.ID, u.Email, clock.Now()); err != nil {
				t.Fatal(err)
			}
			phone := factorID(before.call(c, "/api/v1/factors/phone", map[string]string{"phone": "(506) 234-5678", "country": "CA", "channel": "sms"}, 201))
			before.call(c, "/api/v1/factors/"+phone+"/confirm", map[string]string{"code": codes.last(t, rotPhone)}, 200)
			mail := factorID(before.call(c, "/api/v1/factors/email", map[string]string{"email": rotEmail}, 201))
			before.call(c, "/api/v1/factors/"+mail+"/confirm", map[string]string{"code": codes.last(t, rotEmail)}, 200)
			app1 := before.call(c, "/api/v1/factors/totp", map[string]string{"label": "Phone app"}, 201)
			totpID, totpSecret := factorID(app1), app1["secret"].(string)
			before.call(c, "/api/v1/factors/"+totpID+"/confirm", map[string]string{"code": testenv.OathCode(t, totpSecret, clock.Now())}, 200)
			rc := before.call(c, "/api/v1/factors/recovery-codes", nil, 201)
			recID, recovery := factorID(rc), rc["codes"].([]any)[0].(string)
			before.call(c, "/api/v1/two-step/enable", nil, 200)

			clock.Advance(31 * time.Second)
			b := before.srv.Client()
			before.call(b, "/api/v1/signin", map[string]string{"email": rotEmail, "password": rotPassword}, 200)
			before.call(b, "/api/v1/signin/send", map[string]string{"method_id": phone}, 202)
			before.call(b, "/api/v1/signin/send", map[string]string{"method_id": mail}, 202)
			smsCode, mailCode := codes.last(t, rotPhone), codes.last(t, rotEmail)
			before.srv.App.Account.StopMail()

			// Rotate, as `twostep rotate-key` does: the new key current,
			// the old one still able to open.
			db, err := store.Open(t.Context(), dbURL, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			rotating, err := app.Keyring(mustKey(t, newKey), oldKey)
			if err != nil {
				t.Fatal(err)
			}
			n, err := admin.RotateKey(t.Context(), db, rotating)
			if err != nil {
				t.Fatalf("RotateKey: %v (re-sealed %d first)", err, n)
			}

			// Every sealed value opens with the new key alone, and every
			// kind was there to rotate.
			only, err := app.Keyring(mustKey(t, newKey), "")
			if err != nil {
				t.Fatal(err)
			}
			all, err := db.AllSealedSecrets(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, s := range all {
				sc, err := admin.SealContext(s)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := only.Open(s.Sealed, sc); err != nil {
					t.Errorf("%s %s (%s) does not open with the new key alone: %v", s.Table, s.ID, s.Kind, err)
				}
				kinds[s.Table+" "+string(s.Kind)]++
			}
			for _, k := range []string{"factors totp", "factors sms", "factors email", "sent_codes ", "server_secrets ", "mail_queue "} {
				if kinds[k] == 0 {
					t.Errorf("no %q among the sealed values %v: the test did not make every kind", k, kinds)
				}
			}
			if n != len(all) {
				t.Errorf("RotateKey re-sealed %d secrets, want all %d", n, len(all))
			}
			oldID := mustBox(t, oldKey).KeyID()
			for _, v := range allText(t, engine, dbURL) {
				if strings.HasPrefix(v, oldID+".") {
					t.Errorf("a value in the database is still sealed under the old key: %.24s…", v)
				}
			}
			// A second run finds nothing left to do.
			if n, err := admin.RotateKey(t.Context(), db, rotating); err != nil || n != 0 {
				t.Errorf("second RotateKey: got (%d, %v), want (0, nil)", n, err)
			}

			// After: a server that knows only the new key signs in with
			// every method. Each send opens the re-sealed recipient and
			// code (a resend within the code's life sends the same code).
			after := start(newKey, "", codes)
			signIn := func(method string, send bool, code func() string) {
				t.Helper()
				x := after.srv.Client()
				after.call(x, "/api/v1/signin", map[string]string{"email": rotEmail, "password": rotPassword}, 200)
				if send {
					after.call(x, "/api/v1/signin/send", map[string]string{"method_id": method}, 202)
				}
				after.call(x, "/api/v1/signin/verify", map[string]string{"method_id": method, "code": code()}, 200)
			}
			clock.Advance(31 * time.Second)
			// The text sent before the rotation is checked after it.
			signIn(phone, false, func() string { return smsCode })
			signIn(mail, true, func() string {
				if got := codes.last(t, rotEmail); got != mailCode {
					t.Errorf("a resend after the rotation sent %s, want the live code %s", got, mailCode)
				}
				return mailCode
			})
			clock.Advance(31 * time.Second)
			signIn(phone, true, func() string { return codes.last(t, rotPhone) })
			signIn(totpID, false, func() string { return testenv.OathCode(t, totpSecret, clock.Now()) })
			signIn(recID, false, func() string { return recovery })

			// The mail queued before the rotation goes out once due.
			clock.Advance(2 * time.Hour)
			after.srv.App.Account.Flush()
			queue, err := db.MailQueue(t.Context(), 100)
			if err != nil || len(queue) == 0 {
				t.Fatalf("mail queue: %d messages (%v), want the ones queued before the rotation", len(queue), err)
			}
			for _, m := range queue {
				if m.SentAt.IsZero() || !m.FailedAt.IsZero() {
					t.Errorf("queued %s to %s: sent %v, failed %v (%s); want it sent after the rotation", m.Kind, m.To, m.SentAt, m.FailedAt, m.LastError)
				}
			}
		})
	}
}

func mustKey(t *testing.T, s string) []byte {
	t.Helper()
	k, err := secret.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustBox(t *testing.T, s string) *secret.Box {
	t.Helper()
	b, err := secret.NewBox(mustKey(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// allText returns every non-empty text value in every table of the
// database, read with plain SQL: a sealed column the store does not list
// still shows here.
func allText(t *testing.T, engine, dbURL string) []string {
	t.Helper()
	driver, dsn, tables := "pgx", dbURL, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	if engine == "sqlite" {
		driver, dsn, tables = "sqlite", "file:"+strings.TrimPrefix(dbURL, "sqlite:"), `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var names []string
	rows, err := raw.Query(tables)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	if len(names) < 5 {
		t.Fatalf("found only the tables %v", names)
	}
	var out []string
	for _, table := range names {
		rows, err := raw.Query(fmt.Sprintf(`SELECT * FROM %q`, table))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case string:
					out = append(out, v)
				case []byte:
					out = append(out, string(v))
				}
			}
		}
		rows.Close()
	}
	return out
}
