package api_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/delivery"
	"twostep/internal/store"
	"twostep/internal/testenv"
)

// verifyEmail marks email as confirmed in the database, as if its owner
// had opened the verification link (two-step verification needs it).
// It goes through the store so it sends nothing and records no event.
func (e *env) verifyEmail(email string) {
	e.t.Helper()
	db := e.srv.App.DB
	u, err := db.UserByEmail(e.t.Context(), strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		e.t.Fatalf("verify %s: %v", email, err)
	}
	if err := db.MarkEmailVerified(e.t.Context(), u.ID, u.Email, e.clock.Now()); err != nil {
		e.t.Fatalf("verify %s: %v", email, err)
	}
}

// rawExec runs statements on the test database behind the store's back:
// to inject failures or set up states the service no longer allows.
func (e *env) rawExec(stmts ...string) {
	e.t.Helper()
	url := e.srv.App.Config.Database.URL
	driver, dsn := "pgx", url
	if strings.HasPrefix(url, "sqlite:") {
		driver, dsn = "sqlite", "file:"+strings.TrimPrefix(url, "sqlite:")+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			e.t.Fatalf("%s: %v", s, err)
		}
	}
}

// failWrites makes every INSERT into table fail, as a full disk would,
// until the returned function is called.
func (e *env) failWrites(table string) (restore func()) {
	e.t.Helper()
	if e.srv.App.DB.Postgres() {
		e.rawExec(
			`CREATE OR REPLACE FUNCTION injected_failure() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected write failure'; END $$`,
			`CREATE TRIGGER fail_`+table+` BEFORE INSERT ON `+table+` FOR EACH ROW EXECUTE FUNCTION injected_failure()`)
		return func() { e.rawExec(`DROP TRIGGER fail_` + table + ` ON ` + table) }
	}
	e.rawExec(`CREATE TRIGGER fail_` + table + ` BEFORE INSERT ON ` + table + ` BEGIN SELECT RAISE(ABORT, 'injected write failure'); END`)
	return func() { e.rawExec(`DROP TRIGGER fail_` + table) }
}

// mailbox is a delivery provider for tests: it fails the first fail
// attempts, then keeps every message.
type mailbox struct {
	fail  int
	delay time.Duration

	mu       sync.Mutex
	attempts int
	got      []delivery.Message
}

func (m *mailbox) Send(ctx context.Context, msg delivery.Message) error {
	time.Sleep(m.delay)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.attempts++
	if m.attempts <= m.fail {
		return errors.New("smtp: 451 try again later")
	}
	m.got = append(m.got, msg)
	return nil
}

func (m *mailbox) counts() (attempts, delivered int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.attempts, len(m.got)
}

func (m *mailbox) messages() []delivery.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]delivery.Message(nil), m.got...)
}

// queued returns the queue's row for the message to addr about what.
func (e *env) queued(addr, what string) store.Mail {
	e.t.Helper()
	rows, err := e.srv.App.DB.MailQueue(e.t.Context(), 100)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range rows {
		if m.To == addr && m.Kind == what {
			return m
		}
	}
	e.t.Fatalf("no queued %s to %s in %d rows", what, addr, len(rows))
	return store.Mail{}
}

// TestMailIsRetriedWithBackoff: a provider that fails twice gets the
// verification mail on the third attempt, each retry when its backoff is
// over, and the body is sealed at rest and dropped once sent.
func TestMailIsRetriedWithBackoff(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			box := &mailbox{fail: 2}
			e := start(t, engine, func(o *app.Options) { o.Sender = box })
			const addr = "retry@example.com"
			e.want(e.call(e.srv.Client(), "POST", "/api/v1/signup", map[string]string{"email": addr, "password": goodPassword}), 201, "")
			flush := e.srv.App.Account.Flush

			flush()
			if a, d := box.counts(); a != 1 || d != 0 {
				t.Fatalf("after sign-up: %d attempts, %d delivered; want 1, 0", a, d)
			}
			row := e.queued(addr, "verification")
			if row.Attempts != 1 || row.LastError == "" || row.SentAt.IsZero() == false {
				t.Fatalf("after a failure the row is %+v", row)
			}
			sealed := row.Sealed
			flush() // not due yet
			if a, _ := box.counts(); a != 1 {
				t.Fatalf("retried before the backoff: %d attempts", a)
			}
			e.advance(5 * time.Second)
			flush()
			if a, d := box.counts(); a != 2 || d != 0 {
				t.Fatalf("after 5 s: %d attempts, %d delivered; want 2, 0", a, d)
			}
			e.advance(19 * time.Second)
			flush()
			if a, _ := box.counts(); a != 2 {
				t.Fatalf("second retry came before 20 s: %d attempts", a)
			}
			e.advance(time.Second)
			flush()
			flush()
			if a, d := box.counts(); a != 3 || d != 1 {
				t.Fatalf("after 25 s: %d attempts, %d delivered; want 3, 1", a, d)
			}
			msg := box.messages()[0]
			if msg.To != addr || !strings.Contains(msg.Body, "/verify-email?token="+msg.Code) || msg.Code == "" {
				t.Fatalf("delivered %+v", msg)
			}
			if strings.Contains(sealed, msg.Code) || strings.Contains(sealed, "verify-email") {
				t.Fatal("the queued body is stored in the clear")
			}
			row = e.queued(addr, "verification")
			if row.SentAt.IsZero() || row.Sealed != "" || row.Attempts != 3 {
				t.Fatalf("sent row = %+v, want sent_at set, body dropped, 3 attempts", row)
			}
			// The link works.
			e.want(e.call(e.srv.Client(), "POST", "/api/v1/email/verify", map[string]string{"token": msg.Code}), 200, "")
		})
	}
}

// TestMailGivesUpAfterEightAttempts: a provider that never accepts is
// tried eight times, then the message is abandoned (and its body dropped).
func TestMailGivesUpAfterEightAttempts(t *testing.T) {
	box := &mailbox{fail: 1 << 30}
	e := start(t, "sqlite", func(o *app.Options) { o.Sender = box })
	const addr = "never@example.com"
	e.want(e.call(e.srv.Client(), "POST", "/api/v1/signup", map[string]string{"email": addr, "password": goodPassword}), 201, "")
	for range 20 {
		e.srv.App.Account.Flush()
		e.advance(2 * time.Hour)
	}
	if a, _ := box.counts(); a != 8 {
		t.Fatalf("%d attempts, want 8", a)
	}
	row := e.queued(addr, "verification")
	if row.FailedAt.IsZero() || row.Sealed != "" || !strings.Contains(row.LastError, "451") {
		t.Fatalf("abandoned row = %+v", row)
	}
}

// TestTwoInstancesNeverSendTheSameMail: two servers on one database drain
// one queue at once; every message goes out exactly once.
func TestTwoInstancesNeverSendTheSameMail(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			clock := testenv.NewClock()
			cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
			cfg.Limits.SignupPerAddress.Limit = 1000
			boxes := []*mailbox{{delay: time.Millisecond}, {delay: time.Millisecond}}
			var envs []*env
			for _, box := range boxes {
				// One data dir: the same secret key, as instances share.
				s := testenv.Start(t, cfg, app.Options{Now: clock.Now, Sender: box})
				envs = append(envs, &env{t: t, srv: s, clock: clock})
			}
			// Stop the background senders so the queue fills, then drain
			// it from both instances at once, several rounds each.
			for _, e := range envs {
				e.srv.App.Account.StopMail()
			}
			const n = 60
			for i := range n {
				envs[i%2].want(envs[i%2].call(envs[i%2].srv.Client(), "POST", "/api/v1/signup",
					map[string]string{"email": fmt.Sprintf("m%d@example.com", i), "password": goodPassword}), 201, "")
			}
			var wg sync.WaitGroup
			for _, e := range envs {
				for range 3 {
					wg.Go(e.srv.App.Account.Flush)
				}
			}
			wg.Wait()
			seen := map[string]int{}
			total := 0
			for i, box := range boxes {
				msgs := box.messages()
				t.Logf("instance %d sent %d", i+1, len(msgs))
				for _, m := range msgs {
					seen[m.To]++
					total++
				}
			}
			if total != n || len(seen) != n {
				t.Fatalf("%d messages sent to %d addresses, want %d each once", total, len(seen), n)
			}
			for to, k := range seen {
				if k != 1 {
					t.Fatalf("%s got %d messages", to, k)
				}
			}
		})
	}
}

// TestSignUpIsAtomic: when a write of the sign-up fails, no account is
// left behind (and the address can sign up again).
func TestSignUpIsAtomic(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		const addr = "atomic@example.com"
		for _, table := range []string{"tokens", "mail_queue"} {
			restore := e.failWrites(table)
			r := e.call(e.srv.Client(), "POST", "/api/v1/signup", map[string]string{"email": addr, "password": goodPassword})
			restore()
			if r.Status != http.StatusInternalServerError {
				t.Fatalf("sign-up with failing %s writes: %d %s, want 500", table, r.Status, r.Body)
			}
			if _, err := e.srv.App.DB.UserByEmail(t.Context(), addr); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("failing %s writes left an account behind (err %v)", table, err)
			}
		}
		e.want(e.call(e.srv.Client(), "POST", "/api/v1/signup", map[string]string{"email": addr, "password": goodPassword}), 201, "")
		e.tokenFrom(addr, "Confirm your e-mail")
	})
}

// TestPasswordChangeEndsPendingSignIns: a sign-in waiting at the second
// step with the old password cannot finish after a reset or a change.
func TestPasswordChangeEndsPendingSignIns(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		en := e.enroll("pending@example.com")
		code := func() string { e.advance(30 * time.Second); return testenv.OathCode(t, en.secret, e.clock.Now()) }

		// Reset.
		b := e.srv.Client()
		if r := e.password(b, en.email); r.str("status") == "signed_in" {
			t.Fatalf("password alone signed in: %s", r.Body)
		}
		e.want(e.call(e.srv.Client(), "POST", "/api/v1/password/reset", map[string]string{"email": en.email}), 202, "")
		token := e.tokenFrom(en.email, "Reset your")
		const pw2 = "a reset passphrase here"
		e.want(e.call(e.srv.Client(), "POST", "/api/v1/password/reset/confirm", map[string]string{"token": token, "new_password": pw2}), 200, "")
		e.want(e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": code()}), 401, "signin_expired")

		// Change, from a session fully signed in.
		owner := e.srv.Client()
		e.want(e.call(owner, "POST", "/api/v1/signin", map[string]string{"email": en.email, "password": pw2}), 200, "")
		e.want(e.call(owner, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": code()}), 200, "")
		b = e.srv.Client()
		e.want(e.call(b, "POST", "/api/v1/signin", map[string]string{"email": en.email, "password": pw2}), 200, "")
		e.want(e.call(owner, "POST", "/api/v1/password", map[string]string{"current_password": pw2, "new_password": "a changed passphrase"}), 200, "")
		e.want(e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": en.totpID, "code": code()}), 401, "signin_expired")
	})
}

// TestTwoStepNeedsAConfirmedAddress: an address nobody proved cannot turn
// two-step verification on.
func TestTwoStepNeedsAConfirmedAddress(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		const addr = "squat@example.com"
		c := e.srv.Client()
		e.want(e.call(c, "POST", "/api/v1/signup", map[string]string{"email": addr, "password": goodPassword}), 201, "")
		r := e.call(c, "POST", "/api/v1/factors/totp", map[string]string{"label": "Phone app"})
		e.want(r, 201, "")
		id, secret := r.JSON["factor"].(map[string]any)["id"].(string), r.str("secret")
		e.want(e.call(c, "POST", "/api/v1/factors/"+id+"/confirm", map[string]string{"code": testenv.OathCode(t, secret, e.clock.Now())}), 200, "")
		e.want(e.call(c, "POST", "/api/v1/factors/recovery-codes", nil), 201, "")
		e.want(e.call(c, "POST", "/api/v1/two-step/enable", nil), 409, "email_not_verified")

		e.want(e.call(c, "POST", "/api/v1/email/verify", map[string]string{"token": e.tokenFrom(addr, "Confirm your e-mail")}), 200, "")
		e.want(e.call(c, "POST", "/api/v1/two-step/enable", nil), 200, "")
	})
}

// TestResetByTheOwnerClearsASquattersTwoStep: two-step set up on an
// address never confirmed (as earlier versions allowed) is removed when
// the address's owner resets the password from the mailbox; the address
// is confirmed and the owner is told.
func TestResetByTheOwnerClearsASquattersTwoStep(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		en := e.enroll("owner@example.com")
		e.rawExec(`UPDATE users SET email_verified_at = NULL WHERE email = 'owner@example.com'`)

		anon := e.srv.Client()
		e.want(e.call(anon, "POST", "/api/v1/password/reset", map[string]string{"email": en.email}), 202, "")
		token := e.tokenFrom(en.email, "Reset your")
		e.want(e.call(anon, "POST", "/api/v1/password/reset/confirm", map[string]string{"token": token, "new_password": "the owner's own passphrase"}), 200, "")

		c := e.srv.Client()
		r := e.call(c, "POST", "/api/v1/signin", map[string]string{"email": en.email, "password": "the owner's own passphrase"})
		e.want(r, 200, "")
		if r.str("status") != "signed_in" {
			t.Fatalf("the squatter's two-step still guards the account: %s", r.Body)
		}
		me := e.call(c, "GET", "/api/v1/me", nil)
		if me.JSON["user"].(map[string]any)["email_verified"] != true || me.JSON["two_step"].(map[string]any)["enabled"] != false {
			t.Fatalf("after the reset: %s", me.Body)
		}
		if f := e.call(c, "GET", "/api/v1/factors", nil); strings.Contains(string(f.Body), en.totpID) {
			t.Fatalf("the squatter's app is still there: %s", f.Body)
		}
		var note delivery.Sent
		for _, m := range e.outbox(en.email) {
			if strings.Contains(m.Subject, "password was reset") {
				note = m
				break
			}
		}
		if !strings.Contains(note.Body, "Two-step verification had been set up") {
			t.Fatalf("the notification does not say two-step was removed: %q", note.Body)
		}
		ev := e.call(c, "GET", "/api/v1/events", nil)
		if !strings.Contains(string(ev.Body), "two_step_disabled") {
			t.Fatalf("no two_step_disabled event: %s", ev.Body)
		}
	})
}
