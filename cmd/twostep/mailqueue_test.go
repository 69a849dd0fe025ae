package main

import (
	"bytes"
	"context"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"twostep/internal/store"
	"twostep/internal/testenv"
)

// relay is a real SMTP server for the test: while failing, it answers
// every MAIL FROM with 451 (a relay that is down for maintenance).
type relay struct {
	failing  atomic.Bool
	refused  atomic.Int64
	mu       sync.Mutex
	messages [][]byte
}

func (r *relay) NewSession(*gosmtp.Conn) (gosmtp.Session, error) { return &relaySession{r: r}, nil }

func (r *relay) received() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.messages...)
}

type relaySession struct{ r *relay }

func (s *relaySession) Mail(string, *gosmtp.MailOptions) error {
	if s.r.failing.Load() {
		s.r.refused.Add(1)
		return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "down for maintenance"}
	}
	return nil
}
func (s *relaySession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s *relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	s.r.messages = append(s.r.messages, b)
	s.r.mu.Unlock()
	return nil
}
func (s *relaySession) Reset()        {}
func (s *relaySession) Logout() error { return nil }

func startRelay(t *testing.T) (*relay, int) {
	t.Helper()
	r := &relay{}
	srv := gosmtp.NewServer(r)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); ln.Close(); <-done })
	return r, ln.Addr().(*net.TCPAddr).Port
}

// serveChild starts `twostep serve` as a child process and waits until it
// is ready.
func serveChild(t *testing.T, addr string, env []string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--addr", addr)
	cmd.Env = append(append(os.Environ(), "TWOSTEP_TEST_RUN_MAIN=1"), env...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd, &out
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var resetLink = regexp.MustCompile(`/reset-password\?token=([A-Za-z0-9_-]+)`)

// TestResetMailSurvivesKill9: a reset requested while the mail relay is
// down is answered 202; the process is then killed with SIGKILL before
// the mail could go out; a new process, with the relay back, delivers it,
// and the link in it works.
func TestResetMailSurvivesKill9(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			r, port := startRelay(t)
			r.failing.Store(true)
			dir := t.TempDir()
			dbURL := testenv.DatabaseURL(t, engine)
			env := []string{
				"TWOSTEP_DATABASE_URL=" + dbURL, "TWOSTEP_SERVER_DATA_DIR=" + dir,
				"TWOSTEP_DELIVERY_EMAIL=smtp", "TWOSTEP_DELIVERY_SMTP_HOST=127.0.0.1", "TWOSTEP_DELIVERY_SMTP_PORT=" + strconv.Itoa(port),
				"TWOSTEP_DELIVERY_SMTP_TLS=none", "TWOSTEP_DELIVERY_SMTP_FROM=twostep@example.com",
				"TWOSTEP_PASSWORD_MEMORY_KIB=1024", "TWOSTEP_PASSWORD_ITERATIONS=1",
			}
			addr := freeAddr(t)
			first, out := serveChild(t, addr, env)
			base := "http://" + addr
			post := func(path, body string) int {
				resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
				if err != nil {
					t.Fatalf("POST %s: %v", path, err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if st := post("/api/v1/signup", `{"email":"kill@example.com","password":"a long enough passphrase"}`); st != 201 {
				t.Fatalf("sign-up: %d\n%s", st, out.String())
			}
			if st := post("/api/v1/password/reset", `{"email":"kill@example.com"}`); st != 202 {
				t.Fatalf("reset request: %d\n%s", st, out.String())
			}

			// Both mails were tried and refused, and the failure recorded:
			// nothing is in flight when the process dies.
			db, err := store.Open(context.Background(), dbURL, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			waitFor(t, "two refused attempts recorded", 20*time.Second, func() bool {
				rows, err := db.MailQueue(context.Background(), 10)
				if err != nil || len(rows) != 2 {
					return false
				}
				for _, m := range rows {
					if m.Attempts != 1 || m.LastError == "" || m.Claim != "" {
						return false
					}
				}
				return true
			})
			if err := first.Process.Signal(os.Kill); err != nil {
				t.Fatal(err)
			}
			first.Wait()
			if len(r.received()) != 0 {
				t.Fatal("a mail went out while the relay was down")
			}

			r.failing.Store(false)
			serveChild(t, addr, env)
			var link string
			waitFor(t, "the reset mail after the restart", 30*time.Second, func() bool {
				for _, raw := range r.received() {
					if m := resetLink.FindStringSubmatch(decodeBody(t, raw)); m != nil {
						link = m[1]
						return true
					}
				}
				return false
			})
			if st := post("/api/v1/password/reset/confirm", `{"token":"`+link+`","new_password":"the passphrase after the crash"}`); st != 200 {
				t.Fatalf("the delivered link does not work: %d", st)
			}
			waitFor(t, "the verification mail too", 10*time.Second, func() bool {
				for _, raw := range r.received() {
					if strings.Contains(decodeBody(t, raw), "/verify-email?token=") {
						return true
					}
				}
				return false
			})
		})
	}
}

// decodeBody returns a mail's text, undoing quoted-printable.
func decodeBody(t *testing.T, raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("bad mail: %v", err)
	}
	var body io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, _ := io.ReadAll(body)
	return string(b)
}
