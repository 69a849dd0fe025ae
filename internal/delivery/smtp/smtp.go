package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"slices"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"twostep/internal/delivery"
)

// TLS modes accepted in Config.TLS.
const (
	// TLSStartTLS upgrades a plain connection with STARTTLS and refuses to
	// continue if the relay does not offer it. It is the default.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte, as on port 465.
	TLSImplicit = "tls"
	// TLSNone never encrypts; meant for a relay on the same host and tests.
	TLSNone = "none"
)

// DefaultTimeout bounds each network step of a delivery when Config.Timeout
// is zero.
const DefaultTimeout = 10 * time.Second

// Config says which relay to use and how to reach it.
type Config struct {
	Host string
	// Port defaults to 587 for "starttls", 465 for "tls" and 25 for "none".
	Port int
	// Username and Password are sent with AUTH PLAIN when Username is set.
	Username string
	Password string
	// From is the sender, with or without a display name:
	// "Shop <no-reply@shop.example>".
	From string
	// TLS is "starttls" (the default), "tls" or "none".
	TLS string
	// Timeout bounds each network step; DefaultTimeout when zero.
	Timeout time.Duration
	// InsecureSkipVerify turns off certificate checks. Tests only.
	InsecureSkipVerify bool
	// RootCAs, when set, replaces the system roots for verifying the relay.
	RootCAs *x509.CertPool
}

// Sender delivers e-mail messages through one SMTP relay. It is safe for
// concurrent use; each Send opens its own connection.
type Sender struct {
	host     string
	from     string
	implicit bool // dial with TLS rather than upgrade with STARTTLS
	tls      *tls.Config
	opts     []gomail.Option
}

var _ delivery.Sender = (*Sender)(nil)

// New checks cfg and returns a Sender for it. Nothing is dialled until Send.
func New(cfg Config) (*Sender, error) {
	if strings.TrimSpace(cfg.Host) == "" {
		return nil, errors.New("smtp: host is required")
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("smtp: port %d out of range", cfg.Port)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("smtp: timeout %s is negative", cfg.Timeout)
	}
	if cfg.Username == "" && cfg.Password != "" {
		return nil, errors.New("smtp: password set without a username")
	}
	if cfg.Username != "" && cfg.Password == "" {
		return nil, errors.New("smtp: password is required with a username")
	}
	if strings.TrimSpace(cfg.From) == "" {
		return nil, errors.New("smtp: from address is required")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: parse from address: %w", err)
	}

	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	tlsConfig := &tls.Config{
		ServerName:         cfg.Host,
		RootCAs:            cfg.RootCAs,
		InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // opt-in, for tests
		MinVersion:         tls.VersionTLS12,
	}
	opts := []gomail.Option{
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(tlsConfig),
	}

	port := cfg.Port
	switch cfg.TLS {
	case "", TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
		port = defaultPort(port, 587)
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
		port = defaultPort(port, 465)
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		port = defaultPort(port, 25)
	default:
		return nil, fmt.Errorf("smtp: unknown tls mode %q (want %q, %q or %q)",
			cfg.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	opts = append(opts, gomail.WithPort(port))

	if cfg.Username != "" {
		// SMTPAuthPlain, not the NoEnc variant: credentials never cross an
		// unencrypted connection except to localhost.
		opts = append(opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername(cfg.Username),
			gomail.WithPassword(cfg.Password),
		)
	}

	// Build a client once so that option errors surface here, not on the
	// first delivery.
	if _, err := gomail.NewClient(cfg.Host, opts...); err != nil {
		return nil, fmt.Errorf("smtp: configure client: %w", err)
	}
	return &Sender{
		host:     cfg.Host,
		from:     from.String(),
		implicit: cfg.TLS == TLSImplicit,
		tls:      tlsConfig,
		opts:     opts,
	}, nil
}

func defaultPort(port, fallback int) int {
	if port == 0 {
		return fallback
	}
	return port
}

// Send delivers m as a plain-text e-mail. It returns
// delivery.ErrUnsupportedChannel for any channel but delivery.Email. Errors
// never carry the message body or m.Code.
func (s *Sender) Send(ctx context.Context, m delivery.Message) error {
	if m.Channel != delivery.Email {
		return fmt.Errorf("smtp: send %s: %w", m.Channel, delivery.ErrUnsupportedChannel)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("smtp: send: %w", err)
	}

	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("smtp: set from address: %w", err)
	}
	if strings.TrimSpace(m.To) == "" {
		return errors.New("smtp: recipient is required")
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("smtp: set recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)

	// go-mail uses ctx only while dialling and then runs on its own
	// per-command deadlines. Closing the connection when ctx ends makes a
	// cancelled Send return promptly at any stage.
	var stop func() bool
	dial := func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		conn, err := s.dial(dialCtx, network, addr)
		if err != nil {
			return nil, err
		}
		stop = context.AfterFunc(ctx, func() { _ = conn.Close() })
		return conn, nil
	}
	client, err := gomail.NewClient(s.host, slices.Concat(s.opts, []gomail.Option{gomail.WithDialContextFunc(dial)})...)
	if err != nil {
		return fmt.Errorf("smtp: configure client: %w", err)
	}

	err = client.DialAndSendWithContext(ctx, msg)
	if stop != nil {
		stop()
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("smtp: send: %w", errors.Join(ctxErr, err))
		}
		return fmt.Errorf("smtp: send: %w", err)
	}
	return nil
}

// dial opens the connection itself, because go-mail skips its own implicit
// TLS dialling once a dial function is given. It returns a *tls.Conn for
// implicit TLS so that go-mail sees the connection as encrypted.
func (s *Sender) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	if s.implicit {
		td := tls.Dialer{NetDialer: &d, Config: s.tls}
		return td.DialContext(ctx, network, addr)
	}
	return d.DialContext(ctx, network, addr)
}
