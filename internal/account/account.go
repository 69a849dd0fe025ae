// Package account is sign-up, sign-in, sessions, passwords and e-mail
// verification: the first factor and everything around it. The web pages
// and the JSON API both call this package, so they cannot disagree.
package account

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"twostep/internal/audit"
	"twostep/internal/config"
	"twostep/internal/delivery"
	"twostep/internal/device"
	"twostep/internal/factor"
	"twostep/internal/i18n"
	"twostep/internal/method"
	"twostep/internal/method/appcode"
	"twostep/internal/method/recoverycode"
	"twostep/internal/method/securitykey"
	"twostep/internal/method/sentcode"
	"twostep/internal/password"
	"twostep/internal/ratelimit"
	"twostep/internal/secret"
	"twostep/internal/session"
	"twostep/internal/signin"
	"twostep/internal/stepup"
	"twostep/internal/store"
)

// Errors the flows return; handlers map them to messages and status codes.
var (
	// ErrInvalidCredentials is the one answer for an unknown e-mail and a
	// wrong password alike.
	ErrInvalidCredentials = signin.ErrInvalidCredentials
	ErrEmailTaken         = errors.New("account: e-mail already registered")
	ErrWrongPassword      = stepup.ErrWrongPassword
	ErrInvalidToken       = errors.New("account: link is invalid, expired or already used")
	ErrNoSession          = session.ErrNoSession
	ErrSessionNotFound    = session.ErrNotFound
	// ErrEmailNotVerified refuses two-step verification on an address its
	// holder has not proved: a squatter could otherwise lock the owner out.
	ErrEmailNotVerified = errors.New("account: confirm the e-mail address first")
	// ErrBusy means the password hasher is saturated: retry shortly.
	ErrBusy = password.ErrBusy
)

// Client describes who is asking: recorded with every event and session.
// It is session's, so that the flows in their own packages share it.
type Client = session.Client

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
	// Messages are the words of e-mails, texts and calls in every
	// language; nil is the embedded catalogues without overrides.
	Messages *i18n.Catalogue
	Now      func() time.Time
	Log      *slog.Logger
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
	// audit records security events and queues the notices about them.
	audit *audit.Recorder
	// msgs says e-mails, texts and calls in the person's language.
	msgs *i18n.Catalogue

	// mail wakes and serialises the sender of the outgoing-mail queue
	// (mail.go): messages are queued in the database and sent in the
	// background, so sending never shows in response times.
	mail mailer
	// sessions starts, finds and ends sessions.
	sessions *session.Service
	// stepup asks for, and renews, re-verification before sensitive
	// actions.
	stepup *stepup.Service
	// signin runs the sign-in: password, second step, session.
	signin *signin.Service
	// devices remembers browsers that skip the second step.
	devices *device.Service
	// methods verifies (and, for sent codes, issues) each kind of second
	// factor.
	methods method.Registry
	// webauthn registers and checks security keys and passkeys; nil when
	// the relying party could not be set up from the configuration.
	webauthn *securitykey.Method
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Messages == nil {
		o.Messages = i18n.MustLoad(o.Config.Server.SiteName)
	}
	s := &Service{
		db: o.DB, hasher: o.Hasher, limiter: o.Limiter, sender: o.Sender, cfg: o.Config, keys: o.Keys, pepper: o.Pepper, senders: o.CodeSenders,
		policy:  password.Policy{MinLen: o.Config.Password.MinLength, MaxLen: o.Config.Password.MaxLength},
		baseURL: o.Config.BaseURL(), now: o.Now, log: o.Log,
		mail: mailer{poke: make(chan struct{}, 1)}, msgs: o.Messages,
	}
	s.audit = audit.New(audit.Options{Events: o.DB, Mail: s.queueMail, BaseURL: s.baseURL, Messages: o.Messages, Now: o.Now, Log: o.Log})
	s.sessions = session.NewService(session.Options{DB: o.DB, MaxLifetime: o.Config.Session.MaxLifetime.D(), IdleTimeout: o.Config.Session.IdleTimeout.D(),
		KnownBrowser: o.Config.Session.KnownBrowserLifetime.D(), Audit: s.audit, Now: o.Now})
	s.stepup = stepup.New(stepup.Options{DB: o.DB, Factors: stepupFactors{s}, Hasher: o.Hasher, Limiter: o.Limiter,
		Window: o.Config.TwoStep.StepUpWindow.D(), Guesses: o.Config.Limits.PasswordPerAccount, Audit: s.audit, Now: o.Now, Log: o.Log})
	s.devices = device.New(device.Options{DB: o.DB, Lifetime: o.Config.TwoStep.DeviceLifetime.D(), MaxLifetime: o.Config.TwoStep.DeviceMaxLifetime.D(),
		Audit: s.audit, Now: o.Now, Log: o.Log})
	s.signin = signin.New(signin.Options{DB: o.DB, Account: signinAccount{s}, Hasher: o.Hasher, Limiter: o.Limiter,
		Sessions: s.sessions, Devices: s.devices, Audit: s.audit, Limits: o.Config.Limits,
		PendingTTL: o.Config.TwoStep.PendingSignInTTL.D(), PendingAttempts: o.Config.TwoStep.PendingAttempts, Now: o.Now, Log: o.Log})
	sent := sentcode.New(o.DB, o.Pepper, o.Config.Codes.Attempts, s.sendCode, o.Now)
	s.methods = method.Registry{
		factor.TOTP:     appcode.New(o.DB, o.Keys, s.totpParams(), o.Now),
		factor.SMS:      sent,
		factor.Voice:    sent,
		factor.Email:    sent,
		factor.Recovery: recoverycode.New(o.DB, o.Pepper, o.Now),
	}
	if keys, err := securitykey.New(o.DB, securitykey.RelyingParty(o.Config), o.Now); err != nil {
		o.Log.Error("security keys and passkeys are off: the relying party could not be set up", "err", err)
	} else {
		s.webauthn = keys
		s.methods[factor.WebAuthn] = keys
	}
	return s
}

// Now is the service's clock: every handler reads time through it, so
// tests on a fake clock see one consistent time.
func (s *Service) Now() time.Time { return s.now() }

// Config returns the settings the service runs with.
func (s *Service) Config() config.Config { return s.cfg }

// record stores a security event; a failure to record is logged, never
// shown to the user.
func (s *Service) record(ctx context.Context, c Client, userID string, k audit.Kind, o audit.Outcome, detail string) {
	s.audit.Record(ctx, c.Audit(), userID, k, o, detail)
}

// event builds a security event to record now, in a transaction.
func (s *Service) event(c Client, userID string, k audit.Kind, o audit.Outcome, detail string) store.Event {
	return s.audit.Event(c.Audit(), userID, k, o, detail)
}

// notify tells u about a security change by e-mail, once it is committed.
func (s *Service) notify(ctx context.Context, u store.User, n audit.Notice) {
	s.audit.Notify(ctx, u, n)
}

// Events lists the user's recent security activity, newest first.
func (s *Service) Events(ctx context.Context, userID string, limit int) ([]store.Event, error) {
	return s.db.Events(ctx, userID, limit)
}

// ratelimitBudget is a budget setting.
type ratelimitBudget = config.Budget
