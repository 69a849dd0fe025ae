// Package account is sign-up, sign-in, sessions, passwords and e-mail
// verification: the first factor and everything around it. The web pages
// and the JSON API both call this package, so they cannot disagree.
package account

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"twostep/internal/config"
	"twostep/internal/delivery"
	"twostep/internal/password"
	"twostep/internal/ratelimit"
	"twostep/internal/secret"
	"twostep/internal/store"
)

// Errors the flows return; handlers map them to messages and status codes.
var (
	// ErrInvalidCredentials is the one answer for an unknown e-mail and a
	// wrong password alike.
	ErrInvalidCredentials = errors.New("account: invalid e-mail or password")
	ErrEmailTaken         = errors.New("account: e-mail already registered")
	ErrWrongPassword      = errors.New("account: current password is wrong")
	ErrInvalidToken       = errors.New("account: link is invalid, expired or already used")
	ErrNoSession          = errors.New("account: not signed in")
	ErrSessionNotFound    = errors.New("account: no such session")
	// ErrBusy means the password hasher is saturated: retry shortly.
	ErrBusy = password.ErrBusy
)

// Client describes who is asking: recorded with every event and session.
type Client struct {
	IP        string
	UserAgent string
	// BrowserID is the raw value of the browser's twostep cookie, if any.
	BrowserID string
	// DeviceTokens are the remembered-device tokens the browser holds, one
	// per account that trusted it.
	DeviceTokens []string
}

// Options wires a Service.
type Options struct {
	DB      *store.DB
	Hasher  *password.Hasher
	Limiter *ratelimit.Limiter
	Sender  delivery.Sender
	// CodeSenders deliver codes per channel (sms, voice, email); a channel
	// without one cannot be used for codes.
	CodeSenders map[delivery.Channel]delivery.Sender
	Keys        *secret.Keyring
	// Pepper keys the hashes of recovery codes.
	Pepper []byte
	Config config.Config
	Now    func() time.Time
	Log    *slog.Logger
}

// Service runs the account flows.
type Service struct {
	db      *store.DB
	hasher  *password.Hasher
	policy  password.Policy
	limiter *ratelimit.Limiter
	sender  delivery.Sender
	senders map[delivery.Channel]delivery.Sender
	keys    *secret.Keyring
	pepper  []byte
	cfg     config.Config
	baseURL string
	now     func() time.Time
	log     *slog.Logger

	// mail tracks messages being sent in the background, so that sending
	// (or not, for an unknown address) never shows in response times.
	mail sync.WaitGroup
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Service{
		db: o.DB, hasher: o.Hasher, limiter: o.Limiter, sender: o.Sender, cfg: o.Config, keys: o.Keys, pepper: o.Pepper, senders: o.CodeSenders,
		policy:  password.Policy{MinLen: o.Config.Password.MinLength, MaxLen: o.Config.Password.MaxLength},
		baseURL: o.Config.BaseURL(), now: o.Now, log: o.Log,
	}
}

// Now is the service's clock: every handler reads time through it, so
// tests on a fake clock see one consistent time.
func (s *Service) Now() time.Time { return s.now() }

// Config returns the settings the service runs with.
func (s *Service) Config() config.Config { return s.cfg }

// Flush waits until every message queued so far has been handed to the
// delivery provider (shutdown and tests).
func (s *Service) Flush() { s.mail.Wait() }

// send hands m to the provider in the background.
func (s *Service) send(m delivery.Message, what string) {
	s.mail.Add(1)
	go func() {
		defer s.mail.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.sender.Send(ctx, m); err != nil {
			s.log.Error("send message failed", "what", what, "channel", m.Channel, "err", err)
		}
	}()
}

// record stores a security event; a failure to record is logged, never
// shown to the user.
func (s *Service) record(ctx context.Context, c Client, userID, kind, outcome, detail string) {
	err := s.db.AddEvent(context.WithoutCancel(ctx), store.Event{
		ID: store.NewID(), UserID: userID, Kind: kind, Outcome: outcome,
		IP: c.IP, UserAgent: truncate(c.UserAgent, 512), Detail: detail, CreatedAt: s.now(),
	})
	if err != nil {
		s.log.Error("record event failed", "kind", kind, "err", err)
	}
}

// Events lists the user's recent security activity, newest first.
func (s *Service) Events(ctx context.Context, userID string, limit int) ([]store.Event, error) {
	return s.db.Events(ctx, userID, limit)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n]
}

// ratelimitBudget is a budget setting.
type ratelimitBudget = config.Budget
