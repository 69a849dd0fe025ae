// Package config holds twostep's settings: defaults, a YAML file, and
// TWOSTEP_* environment variables over it, validated once at start. The
// Config value is passed to constructors; nothing reads it globally.
package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written as "24h" or "90s" in YAML and env.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (use e.g. 90s, 10m, 24h): %q", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Config is every setting twostep has.
type Config struct {
	Server   Server   `yaml:"server"`
	Database Database `yaml:"database"`
	Secrets  Secrets  `yaml:"secrets"`
	Password Password `yaml:"password"`
	Session  Session  `yaml:"session"`
	Limits   Limits   `yaml:"limits"`
	Tokens   Tokens   `yaml:"tokens"`
	Delivery Delivery `yaml:"delivery"`
	TwoStep  TwoStep  `yaml:"two_step"`
	Methods  Methods  `yaml:"methods"`
	Codes    Codes    `yaml:"codes"`
}

// Methods says which kinds of second factor users may add.
type Methods struct {
	SMS   bool `yaml:"sms"`
	Voice bool `yaml:"voice"`
	// Email allows codes by e-mail as a second factor (low assurance);
	// e-mail is always used for notifications.
	Email bool `yaml:"email"`
}

// Codes are the one-time codes sent by text, call or e-mail.
type Codes struct {
	TTL            Duration `yaml:"ttl"`
	Attempts       int      `yaml:"attempts"`
	ResendCooldown Duration `yaml:"resend_cooldown"`
	// Countries limits text messages and calls to these ISO country codes
	// (comma-separated); empty allows all.
	Countries string `yaml:"countries"`
}

// TwoStep is the second-factor policy and its windows.
type TwoStep struct {
	// Backup is "required" (an active backup method before 2SV can be
	// turned on) or "optional".
	Backup string `yaml:"backup"`
	// AllowDisable lets users turn 2SV off themselves.
	AllowDisable bool `yaml:"allow_disable"`
	// Issuer names the account in authenticator apps (default: site name).
	Issuer            string   `yaml:"issuer"`
	PendingFactorTTL  Duration `yaml:"pending_factor_ttl"`
	PendingSignInTTL  Duration `yaml:"pending_signin_ttl"`
	PendingAttempts   int      `yaml:"pending_attempts"`
	StepUpWindow      Duration `yaml:"step_up_window"`
	DeviceLifetime    Duration `yaml:"device_lifetime"`
	DeviceMaxLifetime Duration `yaml:"device_max_lifetime"`
	TOTPDigits        int      `yaml:"totp_digits"`
	TOTPPeriod        int      `yaml:"totp_period"`
	TOTPAlgorithm     string   `yaml:"totp_algorithm"`
	TOTPSkew          int      `yaml:"totp_skew"`
}

// Server is the HTTP side.
type Server struct {
	Addr string `yaml:"addr"`
	// PublicURL is where users reach twostep; links in e-mails point here and
	// cookies are Secure unless it is plain HTTP on a loopback host.
	PublicURL       string   `yaml:"public_url"`
	SiteName        string   `yaml:"site_name"`
	DataDir         string   `yaml:"data_dir"`
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// TrustProxy lists the reverse proxies (networks or single addresses)
	// whose X-Forwarded-For entries are believed. Empty trusts none: the
	// client address is the peer's.
	TrustProxy Proxies `yaml:"trust_proxy"`
	// MemoryLimitMiB is a soft limit for the Go runtime (0: none).
	MemoryLimitMiB int `yaml:"memory_limit_mib"`
}

// Database selects the store: SQLite in the data dir unless URL is set.
type Database struct {
	URL string `yaml:"url"`
}

// Secrets holds the key that encrypts secrets at rest.
type Secrets struct {
	// Key is 32 bytes, base64 or hex. Empty: generated into the data dir.
	Key string `yaml:"key"`
	// OldKeys are earlier keys, comma-separated, still accepted for
	// decryption until `twostep rotate-key` has re-encrypted everything.
	OldKeys string `yaml:"old_keys"`
}

// Password holds hashing and policy settings.
type Password struct {
	MemoryKiB     uint32   `yaml:"memory_kib"`
	Iterations    uint32   `yaml:"iterations"`
	Parallelism   uint8    `yaml:"parallelism"`
	MaxConcurrent int      `yaml:"max_concurrent"`
	MaxWait       Duration `yaml:"max_wait"`
	MinLength     int      `yaml:"min_length"`
	MaxLength     int      `yaml:"max_length"`
}

// Session holds session lifetimes.
type Session struct {
	IdleTimeout Duration `yaml:"idle_timeout"`
	MaxLifetime Duration `yaml:"max_lifetime"`
	// KnownBrowserLifetime is how long a browser that signed in successfully
	// may keep trying while its account is throttled.
	KnownBrowserLifetime Duration `yaml:"known_browser_lifetime"`
}

// Backoff is a growing-delay throttle: Free failures cost nothing, then each
// further failure doubles the wait from Base up to Max. Counters are
// forgotten after Reset without failures.
type Backoff struct {
	Free  int      `yaml:"free"`
	Base  Duration `yaml:"base"`
	Max   Duration `yaml:"max"`
	Reset Duration `yaml:"reset"`
}

// Budget allows Limit events per Window.
type Budget struct {
	Limit  int      `yaml:"limit"`
	Window Duration `yaml:"window"`
}

// Limits are the rate limits, all kept in the database.
type Limits struct {
	PasswordPerAccount Backoff `yaml:"password_per_account"`
	PasswordPerBrowser Backoff `yaml:"password_per_browser"`
	PasswordPerAddress Backoff `yaml:"password_per_address"`
	SignupPerAddress   Budget  `yaml:"signup_per_address"`
	ResetPerAddress    Budget  `yaml:"reset_per_address"`
	ResetPerAccount    Budget  `yaml:"reset_per_account"`
	VerifyPerAccount   Budget  `yaml:"verify_email_per_account"`
	// Wrong second-factor codes, counted across all of a user's methods,
	// apart from password failures.
	CodePerAccount      Budget `yaml:"code_per_account"`
	CodePerAccountDaily Budget `yaml:"code_per_account_daily"`
	CodePerAddress      Budget `yaml:"code_per_address"`
	// Code sends (text, call, e-mail): per number across accounts, per
	// account, per address, and the SMS-pumping guard: a global budget and
	// one per destination country.
	SendPerPhone      Budget `yaml:"send_per_phone"`
	SendPerPhoneDaily Budget `yaml:"send_per_phone_daily"`
	SendPerAccount    Budget `yaml:"send_per_account"`
	SendPerAddress    Budget `yaml:"send_per_address"`
	SendGlobal        Budget `yaml:"send_global"`
	SendPerCountry    Budget `yaml:"send_per_country"`
}

// Tokens holds lifetimes of e-mailed tokens.
type Tokens struct {
	ResetTTL  Duration `yaml:"reset_ttl"`
	VerifyTTL Duration `yaml:"verify_ttl"`
}

// Delivery chooses how messages leave: "outbox" (developer outbox) or "smtp".
type Delivery struct {
	Email string `yaml:"email"`
	// SMS and Voice name providers, comma-separated in failover order:
	// outbox, twilio, webhook (sms only). Empty means the outbox while
	// e-mail goes to the outbox too (trying twostep), and no texts or calls
	// otherwise: a production setup never exposes codes in the developer
	// outbox by leaving a setting out.
	SMS     string   `yaml:"sms"`
	Voice   string   `yaml:"voice"`
	Retries int      `yaml:"retries"`
	Timeout Duration `yaml:"timeout"`
	SMTP    SMTP     `yaml:"smtp"`
	Twilio  Twilio   `yaml:"twilio"`
	Webhook Webhook  `yaml:"webhook"`
}

// Twilio is a Twilio account for text messages and calls.
type Twilio struct {
	AccountSID string `yaml:"account_sid"`
	AuthToken  string `yaml:"auth_token"`
	From       string `yaml:"from"`
	BaseURL    string `yaml:"base_url"`
	// VoiceLanguage is the language calls read codes in, e.g. en-GB.
	VoiceLanguage string `yaml:"voice_language"`
}

// Webhook posts signed JSON to an operator's SMS gateway.
type Webhook struct {
	URL    string `yaml:"url"`
	Secret string `yaml:"secret"`
}

// SMTP is an SMTP relay.
type SMTP struct {
	Host     string   `yaml:"host"`
	Port     int      `yaml:"port"`
	Username string   `yaml:"username"`
	Password string   `yaml:"password"`
	From     string   `yaml:"from"`
	TLS      string   `yaml:"tls"`
	Timeout  Duration `yaml:"timeout"`
}

// Default returns the settings used when nothing is configured.
func Default() Config {
	return Config{
		Server: Server{
			Addr:            "127.0.0.1:8080",
			SiteName:        "twostep",
			DataDir:         "twostep-data",
			ShutdownTimeout: Duration(15 * time.Second),
			// A soft limit makes the garbage collector return argon2's
			// 19 MiB buffers sooner under a flood of sign-ins.
			MemoryLimitMiB: 224,
		},
		Password: Password{
			MemoryKiB:     19456,
			Iterations:    2,
			Parallelism:   1,
			MaxConcurrent: 2 * runtime.NumCPU(),
			MaxWait:       Duration(10 * time.Second),
			MinLength:     8,
			MaxLength:     1024,
		},
		Session: Session{
			IdleTimeout:          Duration(24 * time.Hour),
			MaxLifetime:          Duration(30 * 24 * time.Hour),
			KnownBrowserLifetime: Duration(90 * 24 * time.Hour),
		},
		Limits: Limits{
			PasswordPerAccount:  Backoff{Free: 5, Base: Duration(time.Second), Max: Duration(15 * time.Minute), Reset: Duration(12 * time.Hour)},
			PasswordPerBrowser:  Backoff{Free: 10, Base: Duration(time.Second), Max: Duration(5 * time.Minute), Reset: Duration(12 * time.Hour)},
			PasswordPerAddress:  Backoff{Free: 50, Base: Duration(time.Second), Max: Duration(15 * time.Minute), Reset: Duration(time.Hour)},
			SignupPerAddress:    Budget{Limit: 20, Window: Duration(time.Hour)},
			ResetPerAddress:     Budget{Limit: 10, Window: Duration(time.Hour)},
			ResetPerAccount:     Budget{Limit: 5, Window: Duration(time.Hour)},
			VerifyPerAccount:    Budget{Limit: 5, Window: Duration(time.Hour)},
			CodePerAccount:      Budget{Limit: 10, Window: Duration(time.Hour)},
			CodePerAccountDaily: Budget{Limit: 20, Window: Duration(24 * time.Hour)},
			CodePerAddress:      Budget{Limit: 50, Window: Duration(time.Hour)},
			SendPerPhone:        Budget{Limit: 5, Window: Duration(time.Hour)},
			SendPerPhoneDaily:   Budget{Limit: 10, Window: Duration(24 * time.Hour)},
			SendPerAccount:      Budget{Limit: 10, Window: Duration(time.Hour)},
			SendPerAddress:      Budget{Limit: 20, Window: Duration(time.Hour)},
			SendGlobal:          Budget{Limit: 1000, Window: Duration(time.Hour)},
			SendPerCountry:      Budget{Limit: 200, Window: Duration(time.Hour)},
		},
		Methods: Methods{SMS: true, Voice: true, Email: false},
		Codes:   Codes{TTL: Duration(10 * time.Minute), Attempts: 5, ResendCooldown: Duration(30 * time.Second)},
		TwoStep: TwoStep{
			Backup: "required", AllowDisable: true,
			PendingFactorTTL: Duration(time.Hour), PendingSignInTTL: Duration(10 * time.Minute), PendingAttempts: 5,
			StepUpWindow:   Duration(10 * time.Minute),
			DeviceLifetime: Duration(90 * 24 * time.Hour), DeviceMaxLifetime: Duration(365 * 24 * time.Hour),
			TOTPDigits: 6, TOTPPeriod: 30, TOTPAlgorithm: "SHA1", TOTPSkew: 1,
		},
		Tokens: Tokens{
			ResetTTL:  Duration(time.Hour),
			VerifyTTL: Duration(48 * time.Hour),
		},
		Delivery: Delivery{
			Email: "outbox", Retries: 2, Timeout: Duration(10 * time.Second),
			SMTP:   SMTP{Port: 587, TLS: "starttls", Timeout: Duration(10 * time.Second)},
			Twilio: Twilio{BaseURL: "https://api.twilio.com", VoiceLanguage: "en-US"},
		},
	}
}

// Load starts from Default, applies the YAML file at path (if not empty),
// then TWOSTEP_* variables from env, and validates the result.
func Load(path string, env []string) (Config, error) {
	c := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // an empty file is fine
			return c, fmt.Errorf("config: %s: %w", path, err)
		}
	}
	if err := applyEnv(&c, env); err != nil {
		return c, err
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// EnvNames lists every environment variable Load reads, for the README and
// for `twostep config`.
func EnvNames() []string {
	var names []string
	d := Default()
	walk(reflect.ValueOf(&d).Elem(), "TWOSTEP", func(name string, _ reflect.Value) error {
		names = append(names, name)
		return nil
	})
	return names
}

func applyEnv(c *Config, env []string) error {
	vars := map[string]string{}
	for _, kv := range env {
		// TWOSTEP_CONFIG names the file; TWOSTEP_TEST_* belong to the tests.
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "TWOSTEP_") && k != "TWOSTEP_CONFIG" && !strings.HasPrefix(k, "TWOSTEP_TEST_") {
			vars[k] = v
		}
	}
	known := map[string]bool{}
	err := walk(reflect.ValueOf(c).Elem(), "TWOSTEP", func(name string, f reflect.Value) error {
		known[name] = true
		v, ok := vars[name]
		if !ok {
			return nil
		}
		if err := setField(f, v); err != nil {
			return fmt.Errorf("config: %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for k := range vars {
		if !known[k] {
			return fmt.Errorf("config: unknown environment variable %s (see README for the list)", k)
		}
	}
	return nil
}

func walk(v reflect.Value, prefix string, fn func(string, reflect.Value) error) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Struct {
			if err := walk(fv, name, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(name, fv); err != nil {
			return err
		}
	}
	return nil
}

func setField(f reflect.Value, s string) error {
	if u, ok := f.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(s))
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not true or false: %q", s)
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not a whole number: %q", s)
		}
		f.SetInt(n)
	case reflect.Uint8, reflect.Uint32:
		n, err := strconv.ParseUint(s, 10, f.Type().Bits())
		if err != nil {
			return fmt.Errorf("not a whole number in range: %q", s)
		}
		f.SetUint(n)
	default:
		return fmt.Errorf("unsupported setting type %s", f.Type())
	}
	return nil
}

// Validate checks every setting and says which one is wrong.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("config: "+format, a...)) }
	if _, _, err := net.SplitHostPort(c.Server.Addr); err != nil {
		bad("server.addr %q is not HOST:PORT", c.Server.Addr)
	}
	if c.Server.PublicURL != "" {
		u, err := url.Parse(c.Server.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("server.public_url %q must be an http:// or https:// URL", c.Server.PublicURL)
		}
	}
	if c.Server.MemoryLimitMiB < 0 {
		bad("server.memory_limit_mib must be 0 (none) or positive")
	}
	if c.Server.SiteName == "" {
		bad("server.site_name must not be empty")
	}
	if c.Server.DataDir == "" && c.Database.URL == "" {
		bad("server.data_dir must not be empty when database.url is not set")
	}
	if c.Database.URL != "" && !IsPostgres(c.Database.URL) && !strings.HasPrefix(c.Database.URL, "sqlite:") {
		bad("database.url must start with postgres://, postgresql:// or sqlite:")
	}
	p := c.Password
	if p.MemoryKiB < 8*uint32(max(p.Parallelism, 1)) {
		bad("password.memory_kib must be at least 8 × parallelism")
	}
	if p.Iterations < 1 {
		bad("password.iterations must be at least 1")
	}
	if p.Parallelism < 1 {
		bad("password.parallelism must be at least 1")
	}
	if p.MaxConcurrent < 1 {
		bad("password.max_concurrent must be at least 1")
	}
	if p.MaxWait <= 0 {
		bad("password.max_wait must be positive")
	}
	if p.MinLength < 8 || p.MaxLength < 64 || p.MinLength > p.MaxLength {
		bad("password.min_length must be ≥ 8 and max_length ≥ 64 and ≥ min_length")
	}
	positive := map[string]Duration{
		"session.idle_timeout": c.Session.IdleTimeout, "session.max_lifetime": c.Session.MaxLifetime,
		"session.known_browser_lifetime": c.Session.KnownBrowserLifetime,
		"tokens.reset_ttl":               c.Tokens.ResetTTL, "tokens.verify_ttl": c.Tokens.VerifyTTL,
		"server.shutdown_timeout": c.Server.ShutdownTimeout,
	}
	for name, d := range positive {
		if d <= 0 {
			bad("%s must be positive", name)
		}
	}
	for name, b := range map[string]Backoff{
		"limits.password_per_account": c.Limits.PasswordPerAccount,
		"limits.password_per_browser": c.Limits.PasswordPerBrowser,
		"limits.password_per_address": c.Limits.PasswordPerAddress,
	} {
		if b.Free < 0 || b.Base <= 0 || b.Max < b.Base || b.Reset <= 0 {
			bad("%s needs free ≥ 0, base > 0, max ≥ base and reset > 0", name)
		}
	}
	for name, b := range map[string]Budget{
		"limits.signup_per_address":       c.Limits.SignupPerAddress,
		"limits.reset_per_address":        c.Limits.ResetPerAddress,
		"limits.reset_per_account":        c.Limits.ResetPerAccount,
		"limits.verify_email_per_account": c.Limits.VerifyPerAccount,
		"limits.code_per_account":         c.Limits.CodePerAccount,
		"limits.code_per_account_daily":   c.Limits.CodePerAccountDaily,
		"limits.code_per_address":         c.Limits.CodePerAddress,
		"limits.send_per_phone":           c.Limits.SendPerPhone,
		"limits.send_per_phone_daily":     c.Limits.SendPerPhoneDaily,
		"limits.send_per_account":         c.Limits.SendPerAccount,
		"limits.send_per_address":         c.Limits.SendPerAddress,
		"limits.send_global":              c.Limits.SendGlobal,
		"limits.send_per_country":         c.Limits.SendPerCountry,
	} {
		if b.Limit < 1 || b.Window <= 0 {
			bad("%s needs limit ≥ 1 and a positive window", name)
		}
	}
	t := c.TwoStep
	if t.Backup != "required" && t.Backup != "optional" {
		bad("two_step.backup must be required or optional, not %q", t.Backup)
	}
	if t.PendingAttempts < 1 {
		bad("two_step.pending_attempts must be at least 1")
	}
	for name, d := range map[string]Duration{
		"two_step.pending_factor_ttl": t.PendingFactorTTL, "two_step.pending_signin_ttl": t.PendingSignInTTL,
		"two_step.step_up_window": t.StepUpWindow, "two_step.device_lifetime": t.DeviceLifetime,
	} {
		if d <= 0 {
			bad("%s must be positive", name)
		}
	}
	if t.DeviceMaxLifetime < t.DeviceLifetime {
		bad("two_step.device_max_lifetime must be at least two_step.device_lifetime")
	}
	if t.TOTPDigits < 6 || t.TOTPDigits > 8 || t.TOTPPeriod < 15 || t.TOTPPeriod > 120 || t.TOTPSkew < 0 || t.TOTPSkew > 3 {
		bad("two_step.totp_digits must be 6–8, totp_period 15–120 seconds, totp_skew 0–3")
	}
	switch t.TOTPAlgorithm {
	case "SHA1", "SHA256", "SHA512":
	default:
		bad("two_step.totp_algorithm must be SHA1, SHA256 or SHA512")
	}
	if c.Codes.TTL <= 0 || c.Codes.Attempts < 1 || c.Codes.ResendCooldown < 0 {
		bad("codes.ttl must be positive, codes.attempts at least 1, codes.resend_cooldown not negative")
	}
	if c.Delivery.Retries < 0 || c.Delivery.Timeout <= 0 {
		bad("delivery.retries must not be negative and delivery.timeout must be positive")
	}
	for _, ch := range []struct{ name, list string }{{"delivery.sms", c.SMSProviders()}, {"delivery.voice", c.VoiceProviders()}} {
		for _, p := range strings.Split(ch.list, ",") {
			switch p = strings.TrimSpace(p); p {
			case "":
			case "outbox":
			case "twilio":
				t := c.Delivery.Twilio
				if !strings.HasPrefix(t.AccountSID, "AC") || t.AuthToken == "" || t.From == "" {
					bad("%s uses twilio: delivery.twilio.account_sid (AC…), auth_token and from are required", ch.name)
				}
			case "webhook":
				if ch.name == "delivery.voice" {
					bad("delivery.voice cannot use webhook (it carries text only)")
				}
				if c.Delivery.Webhook.URL == "" || len(c.Delivery.Webhook.Secret) < 16 {
					bad("%s uses webhook: delivery.webhook.url and a secret of at least 16 characters are required", ch.name)
				}
			default:
				bad("%s: unknown provider %q (use outbox, twilio or webhook, comma-separated for failover)", ch.name, p)
			}
		}
	}
	switch c.Delivery.Email {
	case "outbox":
	case "smtp":
		if c.Delivery.SMTP.Host == "" || c.Delivery.SMTP.From == "" {
			bad("delivery.smtp.host and delivery.smtp.from are required when delivery.email is smtp")
		}
		switch c.Delivery.SMTP.TLS {
		case "starttls", "tls", "none":
		default:
			bad("delivery.smtp.tls must be starttls, tls or none")
		}
	default:
		bad("delivery.email must be outbox or smtp, not %q", c.Delivery.Email)
	}
	if err := c.CheckOutbox(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// OutboxSettings names the settings whose messages go to the developer
// outbox (delivery.email, delivery.sms, delivery.voice), none in
// production.
func (c *Config) OutboxSettings() []string {
	var names []string
	for _, ch := range []struct{ name, list string }{
		{"delivery.email", c.Delivery.Email}, {"delivery.sms", c.SMSProviders()}, {"delivery.voice", c.VoiceProviders()},
	} {
		for _, p := range strings.Split(ch.list, ",") {
			if strings.TrimSpace(p) == "outbox" {
				names = append(names, ch.name)
				break
			}
		}
	}
	return names
}

// CheckOutbox refuses the developer outbox anywhere but a developer's own
// machine: every code and reset link in it is readable by whoever can load
// /dev/outbox, so it is allowed only over plain HTTP on a loopback address.
func (c *Config) CheckOutbox() error {
	names := c.OutboxSettings()
	if len(names) == 0 {
		return nil
	}
	var why []string
	if u, err := url.Parse(c.Server.PublicURL); err == nil && c.Server.PublicURL != "" {
		if u.Scheme == "https" {
			why = append(why, fmt.Sprintf("server.public_url %q is https", c.Server.PublicURL))
		} else if !isLoopback(u.Hostname()) {
			why = append(why, fmt.Sprintf("server.public_url %q is not a loopback address", c.Server.PublicURL))
		}
	}
	if host, _, err := net.SplitHostPort(c.Server.Addr); err == nil && !isLoopback(host) {
		why = append(why, fmt.Sprintf("server.addr %q listens beyond this machine", c.Server.Addr))
	}
	if len(why) == 0 {
		return nil
	}
	return fmt.Errorf("config: %s send messages to the developer outbox, where anyone who can reach /dev/outbox reads every code and link, "+
		"but %s: set delivery.email to smtp (with delivery.smtp.host and from) and delivery.sms / delivery.voice to twilio or webhook, "+
		"or, to try twostep, listen on 127.0.0.1 over plain http",
		strings.Join(names, ", "), strings.Join(why, " and "))
}

// isLoopback reports whether host names this machine only. An empty host
// (":8080") listens on every interface.
func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// IsPostgres reports whether a database URL names PostgreSQL.
func IsPostgres(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// BaseURL is the public URL, or one derived from the listen address.
func (c *Config) BaseURL() string {
	if c.Server.PublicURL != "" {
		return strings.TrimRight(c.Server.PublicURL, "/")
	}
	return "http://" + c.Server.Addr
}

// SMSProviders is the effective list of text-message providers.
func (c *Config) SMSProviders() string { return c.channelProviders(c.Delivery.SMS) }

// VoiceProviders is the effective list of voice-call providers.
func (c *Config) VoiceProviders() string { return c.channelProviders(c.Delivery.Voice) }

func (c *Config) channelProviders(set string) string {
	if strings.TrimSpace(set) == "" && c.Delivery.Email == "outbox" {
		return "outbox"
	}
	return set
}

// Proxies are the reverse proxies twostep trusts to say who the client is,
// written as networks or single addresses: "127.0.0.1, 10.0.0.0/8" in the
// environment, the same string or a YAML list in the file. A request's
// X-Forwarded-For entries are believed only as far back as the hops that
// added them are in this list.
type Proxies []netip.Prefix

// Contains reports whether addr is one of the trusted proxies.
func (p Proxies) Contains(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, n := range p {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// UnmarshalText parses a comma-separated list. "false" and "" trust no
// proxy; "true" is refused, because trusting every hop lets any client
// choose its own address (and with it a fresh rate-limit budget).
func (p *Proxies) UnmarshalText(b []byte) error {
	return p.set(strings.Split(string(b), ","))
}

// UnmarshalYAML accepts a string (as UnmarshalText) or a list.
func (p *Proxies) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		return p.UnmarshalText([]byte(n.Value))
	case yaml.SequenceNode:
		var items []string
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: trust_proxy lists addresses or networks, e.g. 10.0.0.0/8", c.Line)
			}
			items = append(items, c.Value)
		}
		return p.set(items)
	}
	return fmt.Errorf("line %d: trust_proxy is a list of addresses or networks, e.g. [127.0.0.1, 10.0.0.0/8]", n.Line)
}

func (p *Proxies) set(items []string) error {
	var out Proxies
	for _, s := range items {
		s = strings.TrimSpace(s)
		switch strings.ToLower(s) {
		case "", "false", "none":
			continue
		case "true":
			return errors.New("trust_proxy no longer takes true (that let every client choose its own address): " +
				"list the proxies' addresses or networks, e.g. 127.0.0.1, 10.0.0.0/8")
		}
		var pre netip.Prefix
		if strings.Contains(s, "/") {
			v, err := netip.ParsePrefix(s)
			if err != nil {
				return fmt.Errorf("trust_proxy: %q is not an address or network (e.g. 10.0.0.0/8, ::1)", s)
			}
			pre = v
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return fmt.Errorf("trust_proxy: %q is not an address or network (e.g. 10.0.0.0/8, ::1)", s)
			}
			pre = netip.PrefixFrom(a, a.BitLen())
		}
		if pre.Addr().Is4In6() {
			bits := pre.Bits() - 96
			if bits < 0 {
				return fmt.Errorf("trust_proxy: %q mixes IPv4 and IPv6; write the IPv4 network", s)
			}
			pre = netip.PrefixFrom(pre.Addr().Unmap(), bits)
		}
		if pre.Bits() == 0 {
			return fmt.Errorf("trust_proxy: %q would trust every address, so any client could choose its own; list only your proxies", s)
		}
		out = append(out, pre.Masked())
	}
	*p = out
	return nil
}

// MarshalText writes the list as UnmarshalText reads it.
func (p Proxies) MarshalText() ([]byte, error) {
	s := make([]string, len(p))
	for i, n := range p {
		if n.IsSingleIP() {
			s[i] = n.Addr().String()
		} else {
			s[i] = n.String()
		}
	}
	return []byte(strings.Join(s, ",")), nil
}
