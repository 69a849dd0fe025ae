// Package app wires twostep together from a Config: store, key, hasher,
// limiter, delivery, flows and HTTP surfaces. cmd/twostep and the
// integration tests build the server the same way through it.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"twostep/internal/account"
	"twostep/internal/api"
	"twostep/internal/config"
	"twostep/internal/delivery"
	"twostep/internal/delivery/outbox"
	"twostep/internal/delivery/smtp"
	"twostep/internal/delivery/twilio"
	"twostep/internal/forwardauth"
	"twostep/internal/i18n"
	"twostep/internal/metrics"
	"twostep/internal/oidc"
	"twostep/internal/password"
	"twostep/internal/ratelimit"
	"twostep/internal/secret"
	"twostep/internal/server"
	"twostep/internal/session"
	"twostep/internal/store"
	"twostep/internal/web"
)

// App is a running twostep, minus the listener.
type App struct {
	Config  config.Config
	DB      *store.DB
	Account *account.Service
	Outbox  *outbox.Outbox // nil unless the outbox delivers e-mail
	Handler http.Handler
	// Metrics counts what the server does; its Handler is for the
	// metrics listener (server.metrics_addr), never Handler's.
	Metrics *metrics.Metrics
	// KeyCreated is true when a new secret key was written to the data dir.
	KeyCreated bool
}

// Options adjust what tests need to control.
type Options struct {
	Now    func() time.Time
	Sender delivery.Sender // overrides the configured e-mail provider
	// CodeSenders override the configured providers of some channels.
	CodeSenders map[delivery.Channel]delivery.Sender
	// Locales replaces the embedded catalogues (i18n.Options.Locales), for
	// tests of languages not shipped yet.
	Locales fs.FS
}

// Open builds an App: connects, migrates, and assembles the handler.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, o Options) (*App, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	db, err := store.Open(ctx, cfg.Database.URL, cfg.Server.DataDir)
	if err != nil {
		return nil, err
	}
	a, err := assemble(ctx, cfg, log, o, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func assemble(ctx context.Context, cfg config.Config, log *slog.Logger, o Options, db *store.DB) (*App, error) {
	// Counted from the first statement on: the store tells the metrics
	// about events, refusals and failures.
	m := metrics.New()
	db.SetMeter(m)
	// Config.Validate refuses this too; checked again here because tests
	// and tools build configs by hand.
	if err := cfg.CheckOutbox(); err != nil {
		return nil, err
	}
	// A database that answers reads but takes no writes (read-only role,
	// replica, full disk) is refused here rather than failing every
	// sign-in later; it usually fails the migration first, so say why.
	if _, err := db.Migrate(ctx); err != nil {
		if werr := db.CheckWritable(ctx); werr != nil {
			return nil, errors.Join(werr, err)
		}
		return nil, err
	}
	if err := db.CheckWritable(ctx); err != nil {
		return nil, err
	}
	key, created, err := secret.LoadOrCreateKey(cfg.Secrets.Key, cfg.Server.DataDir)
	if err != nil {
		return nil, err
	}
	keys, err := Keyring(key, cfg.Secrets.OldKeys)
	if err != nil {
		return nil, err
	}
	pepper, err := Pepper(ctx, db, keys)
	if err != nil {
		return nil, err
	}
	params := password.Params{
		MemoryKiB: cfg.Password.MemoryKiB, Iterations: cfg.Password.Iterations, Parallelism: cfg.Password.Parallelism,
		SaltLen: 16, KeyLen: 32,
	}
	if err := params.Validate(); err != nil {
		return nil, fmt.Errorf("config: password: %w", err)
	}
	hasher := password.NewHasher(params, cfg.Password.MaxConcurrent, cfg.Password.MaxWait.D())
	hasher.Observe(m)

	var box *outbox.Outbox
	if usesOutbox(cfg) {
		box = outbox.New(db, o.Now)
	}
	sender := o.Sender
	switch {
	case sender != nil:
	case cfg.Delivery.Email == "smtp":
		s := cfg.Delivery.SMTP
		sender, err = smtp.New(smtp.Config{Host: s.Host, Port: s.Port, Username: s.Username, Password: s.Password, From: s.From, TLS: s.TLS, Timeout: s.Timeout.D()})
		if err != nil {
			return nil, err
		}
	default:
		sender = box
	}
	senders, err := codeSenders(cfg, db, box, sender, m, o.Now, log)
	if err != nil {
		return nil, err
	}
	for ch, s := range o.CodeSenders {
		senders[ch] = s
	}

	// The words of every page and message, with the operator's own: a
	// file that names an unknown message or holds a bad template refuses
	// to start, naming it.
	msgs, err := i18n.Load(i18n.Options{Default: cfg.Server.DefaultLanguage, Overrides: cfg.Server.MessagesFile, Site: cfg.Server.SiteName, Locales: o.Locales})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	acct := account.New(account.Options{
		DB: db, Hasher: hasher, Messages: msgs, Limiter: ratelimit.New(db, o.Now), Sender: sender, Config: cfg, Now: o.Now, Log: log,
		Keys: keys, Pepper: pepper, CodeSenders: senders,
	})
	cookies := session.NewCookies(cfg.BaseURL()).WithLifetimes(session.Lifetimes{
		Session: cfg.Session.MaxLifetime.D(), Browser: cfg.Session.KnownBrowserLifetime.D(), Device: cfg.TwoStep.DeviceMaxLifetime.D(),
	}).WithDomain(cfg.Session.CookieDomain)
	// A return address may lead to twostep itself and to the apps the
	// access rules name; nowhere else.
	returnHosts := cfg.AccessControl.Domains()
	if u, err := url.Parse(cfg.BaseURL()); err == nil {
		returnHosts = append(returnHosts, strings.ToLower(u.Hostname()))
	}
	apps, err := oidc.New(ctx, oidc.Options{
		Issuer: cfg.BaseURL(), DB: db, Keys: keys, Limiter: ratelimit.New(db, o.Now), ClientAuth: cfg.Limits.PasswordPerAccount,
		Sessions: acct, Cookies: &cookies, TrustProxy: cfg.Server.TrustProxy, Record: acct.RecordEvent, Now: o.Now, Log: log,
	})
	if err != nil {
		return nil, err
	}
	pages, err := web.New(acct, cookies, box, web.Options{
		SiteName: cfg.Server.SiteName, TrustProxy: cfg.Server.TrustProxy, ResetTTL: cfg.Tokens.ResetTTL.D(),
		StepUpWindow: cfg.TwoStep.StepUpWindow.D(), AllowDisable: cfg.TwoStep.AllowDisable && !cfg.TwoStep.Required, PhoneMethods: acct.PhoneMethodsAllowed(),
		ReturnHosts: returnHosts, Apps: apps, Messages: msgs,
	}, log)
	if err != nil {
		return nil, err
	}
	rules, err := forwardauth.Compile(cfg.AccessControl)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	proxyCheck := forwardauth.New(forwardauth.Options{
		// Asked on every request of every protected app: lookups are
		// cached for a second (session.Cache), never past a change made here.
		Sessions: session.NewCache(acct, db.SessionsChanged, o.Now), Cookies: cookies, Rules: rules, TrustProxy: cfg.Server.TrustProxy, BaseURL: cfg.BaseURL(), Log: log,
	})
	jsonAPI := api.New(acct, cookies, box, db, log)
	surfaces := []server.Routes{jsonAPI, pages, proxyCheck, apps}
	if cfg.Delivery.Twilio.AuthToken != "" {
		surfaces = append(surfaces, &twilio.StatusHandler{Token: cfg.Delivery.Twilio.AuthToken, URL: cfg.BaseURL() + twilio.StatusPath, Store: db, Now: o.Now, Log: log})
	}
	// A request the server refuses itself is answered in the words of the
	// surface it was for.
	writeError := func(w http.ResponseWriter, r *http.Request, err error) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			jsonAPI.WriteError(w, r, err)
			return
		}
		pages.WriteError(w, r, err)
	}
	h := server.Handler(log, server.Options{HSTS: strings.HasPrefix(cfg.BaseURL(), "https://"), WriteError: writeError, CrossOriginAllowed: oidc.CrossOriginPaths,
		Observe: m}, surfaces...)
	acct.StartMail() // the outgoing-mail queue's sender; Close stops it
	return &App{Config: cfg, DB: db, Account: acct, Outbox: box, Handler: h, Metrics: m, KeyCreated: created}, nil
}

// Keyring builds the keyring from the current key and the comma-separated
// earlier keys.
func Keyring(current []byte, oldKeys string) (*secret.Keyring, error) {
	var old [][]byte
	for _, s := range strings.Split(oldKeys, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		k, err := secret.ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("config: secrets.old_keys: %w", err)
		}
		old = append(old, k)
	}
	return secret.NewKeyring(current, old...)
}

// Pepper returns the server-wide pepper for recovery-code hashes: random,
// made by the first instance, kept sealed in the database.
func Pepper(ctx context.Context, db *store.DB, keys *secret.Keyring) ([]byte, error) {
	sealed, err := db.ServerSecret(ctx, "recovery_pepper", func() string {
		return keys.Seal([]byte(secret.NewToken()), secret.ServerSecretContext("recovery_pepper"))
	})
	if err != nil {
		return nil, err
	}
	p, err := keys.Open(sealed, secret.ServerSecretContext("recovery_pepper"))
	if err != nil {
		return nil, fmt.Errorf("open recovery pepper (is secrets.key the key this database was made with?): %w", err)
	}
	return p, nil
}

// Close stops the mail sender (after the round in hand; unsent mail stays
// queued in the database) and closes the database.
func (a *App) Close() error {
	a.Account.StopMail()
	return a.DB.Close()
}

// PurgeLoop deletes expired rows every interval until ctx ends.
func (a *App) PurgeLoop(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.DB.PurgeExpired(ctx, a.Account.Now()); err != nil && ctx.Err() == nil {
				log.Warn("purge expired rows", "err", err)
			}
		}
	}
}

// The metrics are told by the store, the hasher and the middleware.
var (
	_ store.Meter       = (*metrics.Metrics)(nil)
	_ password.Observer = (*metrics.Metrics)(nil)
	_ server.Observer   = (*metrics.Metrics)(nil)
)
