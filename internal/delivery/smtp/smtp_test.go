package smtp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"twostep/internal/delivery"
	"twostep/internal/delivery/smtp"
)

const (
	testFrom = "Shop <no-reply@shop.example>"
	testCode = "493817"
)

// received is one message as the test relay accepted it.
type received struct {
	From string
	To   []string
	User string // the authenticated username, if any
	Data []byte
}

// backend is a go-smtp backend that keeps every message it accepts and, when
// users is set, offers AUTH PLAIN against those credentials.
type backend struct {
	users map[string]string

	mu       sync.Mutex
	messages []received
}

func (b *backend) NewSession(*gosmtp.Conn) (gosmtp.Session, error) {
	return &session{b: b}, nil
}

func (b *backend) received() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.messages...)
}

type session struct {
	b    *backend
	user string
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string {
	if s.b.users == nil {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		want, ok := s.b.users[username]
		if !ok || password != want {
			return gosmtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.b.users != nil && s.user == "" {
		return gosmtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.messages = append(s.b.messages, received{From: s.from, To: s.to, User: s.user, Data: data})
	return nil
}

func (s *session) Reset() {
	s.from, s.to = "", nil
}

func (s *session) Logout() error { return nil }

// relay describes how to start the test server.
type relay struct {
	tls      *tls.Config // offered with STARTTLS, or spoken from the start if implicit
	implicit bool
	users    map[string]string
}

// start runs a real SMTP server on 127.0.0.1 until the test ends and returns
// its backend and port.
func (r relay) start(t *testing.T) (*backend, int) {
	t.Helper()
	be := &backend{users: r.users}
	srv := gosmtp.NewServer(be)
	srv.Domain = "localhost"
	srv.ReadTimeout = 5 * time.Second
	srv.WriteTimeout = 5 * time.Second
	srv.AllowInsecureAuth = false

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	if r.implicit {
		ln = tls.NewListener(ln, r.tls)
	} else {
		srv.TLSConfig = r.tls
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		// Server.Close misses a listener that Serve has not registered yet;
		// closing it here ends Serve either way.
		_ = ln.Close()
		<-done
	})
	return be, ln.Addr().(*net.TCPAddr).Port
}

// selfSigned returns a server TLS config for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test relay"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}, pool
}

func newSender(t *testing.T, cfg smtp.Config) *smtp.Sender {
	t.Helper()
	s, err := smtp.New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return s
}

func codeMessage() delivery.Message {
	return delivery.Message{
		Channel: delivery.Email,
		To:      "alice@example.com",
		Subject: "Your sign-in code",
		Body:    "Your code is " + testCode + ".\nIt expires in 10 minutes.\n",
		Code:    testCode,
	}
}

// parsed is the part of a received message the tests compare.
type parsed struct {
	From, To, Subject, Body string
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, data)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	if ct := msg.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", ct)
	}
	body := msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return parsed{
		From:    msg.Header.Get("From"),
		To:      msg.Header.Get("To"),
		Subject: subject,
		Body:    strings.ReplaceAll(string(b), "\r\n", "\n"),
	}
}

// checkDelivered asserts that exactly m arrived at be, sent by testFrom.
func checkDelivered(t *testing.T, be *backend, m delivery.Message) received {
	t.Helper()
	msgs := be.received()
	if len(msgs) != 1 {
		t.Fatalf("relay received %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if got.From != "no-reply@shop.example" {
		t.Errorf("MAIL FROM = %q, want %q", got.From, "no-reply@shop.example")
	}
	if len(got.To) != 1 || got.To[0] != m.To {
		t.Errorf("RCPT TO = %q, want [%q]", got.To, m.To)
	}
	p := parse(t, got.Data)
	from, err := mail.ParseAddress(p.From)
	if err != nil {
		t.Fatalf("parse From header %q: %v", p.From, err)
	}
	if from.Name != "Shop" || from.Address != "no-reply@shop.example" {
		t.Errorf("From = %q, want %q", p.From, testFrom)
	}
	if !strings.Contains(p.To, m.To) {
		t.Errorf("To = %q, want it to contain %q", p.To, m.To)
	}
	if p.Subject != m.Subject {
		t.Errorf("Subject = %q, want %q", p.Subject, m.Subject)
	}
	if strings.TrimRight(p.Body, "\n") != strings.TrimRight(m.Body, "\n") {
		t.Errorf("body = %q, want %q", p.Body, m.Body)
	}
	return got
}

// checkNothing asserts that the relay accepted no message and that err, the
// failure Send reported, does not leak the code.
func checkNothing(t *testing.T, be *backend, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("Send succeeded, want an error")
	}
	if strings.Contains(err.Error(), testCode) {
		t.Errorf("error %q contains the code", err)
	}
	if !strings.HasPrefix(err.Error(), "smtp: ") {
		t.Errorf("error %q lacks the smtp: prefix", err)
	}
	if n := len(be.received()); n != 0 {
		t.Errorf("relay received %d messages, want 0", n)
	}
}

func TestSendPlain(t *testing.T) {
	be, port := relay{}.start(t)
	s := newSender(t, smtp.Config{Host: "127.0.0.1", Port: port, From: testFrom, TLS: "none"})

	m := codeMessage()
	m.Subject = "Votre code de connexion — été"
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkDelivered(t, be, m)
}

func TestSendHeaderInjection(t *testing.T) {
	be, port := relay{}.start(t)
	s := newSender(t, smtp.Config{Host: "127.0.0.1", Port: port, From: testFrom, TLS: "none"})

	m := codeMessage()
	m.Subject = "Hello\r\nBcc: mallory@evil.example"
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := be.received()
	if len(got) != 1 {
		t.Fatalf("relay received %d messages, want 1", len(got))
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(got[0].Data)))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	if bcc := msg.Header.Get("Bcc"); bcc != "" {
		t.Errorf("subject injected a Bcc header: %q", bcc)
	}
	if len(got[0].To) != 1 {
		t.Errorf("RCPT TO = %q, want one recipient", got[0].To)
	}
}

func TestSendStartTLSAuth(t *testing.T) {
	serverTLS, pool := selfSigned(t)
	be, port := relay{tls: serverTLS, users: map[string]string{"shop": "s3cret"}}.start(t)
	cfg := smtp.Config{
		Host:     "127.0.0.1",
		Port:     port,
		Username: "shop",
		From:     testFrom,
		TLS:      "starttls",
		RootCAs:  pool,
		Timeout:  5 * time.Second,
	}

	t.Run("wrong password", func(t *testing.T) {
		cfg := cfg
		cfg.Password = "wrong"
		err := newSender(t, cfg).Send(context.Background(), codeMessage())
		checkNothing(t, be, err)
		if strings.Contains(err.Error(), "wrong") {
			t.Errorf("error %q contains the password", err)
		}
	})

	t.Run("untrusted certificate", func(t *testing.T) {
		cfg := cfg
		cfg.Password = "s3cret"
		cfg.RootCAs = x509.NewCertPool()
		checkNothing(t, be, newSender(t, cfg).Send(context.Background(), codeMessage()))
	})

	t.Run("right password", func(t *testing.T) {
		cfg := cfg
		cfg.Password = "s3cret"
		m := codeMessage()
		if err := newSender(t, cfg).Send(context.Background(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if got := checkDelivered(t, be, m); got.User != "shop" {
			t.Errorf("authenticated user = %q, want %q", got.User, "shop")
		}
	})
}

func TestSendImplicitTLS(t *testing.T) {
	serverTLS, pool := selfSigned(t)
	be, port := relay{tls: serverTLS, implicit: true, users: map[string]string{"shop": "s3cret"}}.start(t)
	cfg := smtp.Config{
		Host:     "127.0.0.1",
		Port:     port,
		Username: "shop",
		Password: "s3cret",
		From:     testFrom,
		TLS:      "tls",
		RootCAs:  pool,
		Timeout:  5 * time.Second,
	}

	t.Run("untrusted certificate", func(t *testing.T) {
		cfg := cfg
		cfg.RootCAs = x509.NewCertPool()
		checkNothing(t, be, newSender(t, cfg).Send(context.Background(), codeMessage()))
	})

	t.Run("delivered", func(t *testing.T) {
		m := codeMessage()
		if err := newSender(t, cfg).Send(context.Background(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if got := checkDelivered(t, be, m); got.User != "shop" {
			t.Errorf("authenticated user = %q, want %q", got.User, "shop")
		}
	})
}

func TestSendStartTLSRequired(t *testing.T) {
	be, port := relay{}.start(t) // no TLS config: STARTTLS is not offered
	for _, mode := range []string{"", "starttls"} {
		t.Run("mode "+strconv.Quote(mode), func(t *testing.T) {
			s := newSender(t, smtp.Config{Host: "127.0.0.1", Port: port, From: testFrom, TLS: mode})
			checkNothing(t, be, s.Send(context.Background(), codeMessage()))
		})
	}
}

func TestSendUnsupportedChannel(t *testing.T) {
	s := newSender(t, smtp.Config{Host: "127.0.0.1", Port: 1, From: testFrom, TLS: "none"})
	for _, ch := range []delivery.Channel{delivery.SMS, delivery.Voice, ""} {
		m := codeMessage()
		m.Channel = ch
		m.To = "+447400123456"
		err := s.Send(context.Background(), m)
		if !errors.Is(err, delivery.ErrUnsupportedChannel) {
			t.Errorf("Send on channel %q = %v, want ErrUnsupportedChannel", ch, err)
		}
	}
}

func TestSendBadRecipient(t *testing.T) {
	be, port := relay{}.start(t)
	s := newSender(t, smtp.Config{Host: "127.0.0.1", Port: port, From: testFrom, TLS: "none"})
	for _, to := range []string{"", "not an address", "a@b.example\r\nRCPT TO:<x@y.example>"} {
		m := codeMessage()
		m.To = to
		checkNothing(t, be, s.Send(context.Background(), m))
	}
}

// closedPort returns a local port that nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatalf("close listener: %v", err)
	}
	return port
}

// silentPort returns the port of a server that accepts connections and never
// says a word, so a client waits for its greeting.
func silentPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

func TestSendFailsInTime(t *testing.T) {
	m := codeMessage()
	tests := []struct {
		name    string
		port    int
		timeout time.Duration
		ctx     func() (context.Context, context.CancelFunc)
		want    error // nil: any error
	}{
		{
			name:    "nothing listening",
			port:    closedPort(t),
			timeout: 2 * time.Second,
			ctx:     func() (context.Context, context.CancelFunc) { return context.Background(), func() {} },
		},
		{
			name:    "context already cancelled",
			port:    closedPort(t),
			timeout: 2 * time.Second,
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			want: context.Canceled,
		},
		{
			name:    "context deadline while waiting for the greeting",
			port:    silentPort(t),
			timeout: time.Minute, // only the context can end this Send in time
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 200*time.Millisecond)
			},
			want: context.DeadlineExceeded,
		},
		{
			name:    "timeout while waiting for the greeting",
			port:    silentPort(t),
			timeout: 200 * time.Millisecond,
			ctx:     func() (context.Context, context.CancelFunc) { return context.Background(), func() {} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSender(t, smtp.Config{
				Host: "127.0.0.1", Port: tt.port, From: testFrom, TLS: "none", Timeout: tt.timeout,
			})
			ctx, cancel := tt.ctx()
			defer cancel()

			start := time.Now()
			err := s.Send(ctx, m)
			elapsed := time.Since(start)

			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Send = %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), testCode) {
				t.Errorf("error %q contains the code", err)
			}
			if limit := 3 * time.Second; elapsed > limit {
				t.Errorf("Send took %s, want under %s", elapsed, limit)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	valid := smtp.Config{Host: "smtp.example.com", From: testFrom}
	tests := []struct {
		name   string
		change func(*smtp.Config)
		want   string
	}{
		{"no host", func(c *smtp.Config) { c.Host = "" }, "smtp: host is required"},
		{"blank host", func(c *smtp.Config) { c.Host = "  " }, "smtp: host is required"},
		{"negative port", func(c *smtp.Config) { c.Port = -1 }, "port"},
		{"port too high", func(c *smtp.Config) { c.Port = 70000 }, "port"},
		{"no from", func(c *smtp.Config) { c.From = "" }, "from address is required"},
		{"bad from", func(c *smtp.Config) { c.From = "Shop no-reply" }, "from address"},
		{"unknown tls mode", func(c *smtp.Config) { c.TLS = "ssl" }, "tls mode"},
		{"opportunistic tls mode", func(c *smtp.Config) { c.TLS = "starttls-optional" }, "tls mode"},
		{"negative timeout", func(c *smtp.Config) { c.Timeout = -time.Second }, "timeout"},
		{"username without password", func(c *smtp.Config) { c.Username = "shop" }, "password"},
		{"password without username", func(c *smtp.Config) { c.Password = "s3cret" }, "username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.change(&cfg)
			s, err := smtp.New(cfg)
			if err == nil {
				t.Fatalf("New(%+v) = %v, nil; want an error containing %q", cfg, s, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "smtp: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %q, want the smtp: prefix and %q", err, tt.want)
			}
			if cfg.Password != "" && strings.Contains(err.Error(), cfg.Password) {
				t.Errorf("New error %q contains the password", err)
			}
		})
	}

	t.Run("valid", func(t *testing.T) {
		for _, mode := range []string{"", "starttls", "tls", "none"} {
			cfg := valid
			cfg.TLS = mode
			if _, err := smtp.New(cfg); err != nil {
				t.Errorf("New with TLS %q: %v", mode, err)
			}
		}
	})
}
