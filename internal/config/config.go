// Package config holds twostep's settings: defaults, a YAML file, and
// TWOSTEP_* environment variables over it, validated once at start. The
// Config value is passed to constructors; nothing reads it globally.
package config

import (
	"fmt"
	"runtime"
	"strings"
	"time"
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
	Recovery Recovery `yaml:"recovery"`
	// AccessControl decides the forward-auth checks of reverse proxies.
	AccessControl AccessControl `yaml:"access_control"`
}

// Policies an access rule can give.
const (
	PolicyBypass    = "bypass"
	PolicyOneFactor = "one_factor"
	PolicyTwoFactor = "two_factor"
	PolicyDeny      = "deny"
)

// AccessControl is what the forward-auth endpoints allow: the first rule
// matching a request decides, DefaultPolicy when none does. Rules are
// YAML-only (a list of structures has no environment form);
// TWOSTEP_ACCESS_CONTROL_DEFAULT_POLICY sets the default.
type AccessControl struct {
	DefaultPolicy string       `yaml:"default_policy"`
	Rules         []AccessRule `yaml:"rules"`
}

// AccessRule matches a request when every list it sets matches: an empty
// list matches anything.
type AccessRule struct {
	// Domain lists hosts, exact ("app.example.com") or every subdomain
	// ("*.example.com", which does not match example.com itself).
	Domain []string `yaml:"domain"`
	// Resources are regular expressions over the path and query.
	Resources []string `yaml:"resources"`
	Methods   []string `yaml:"methods"`
	// Networks are client addresses or networks, the client being the
	// address found behind server.trust_proxy.
	Networks []string `yaml:"networks"`
	Policy   string   `yaml:"policy"`
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
	// Passkeys allows signing in with a passkey alone (POST
	// /api/v1/signin/passkey/*); off, passkeys and security keys still
	// work as a second step.
	Passkeys bool `yaml:"passkeys"`
	// Required sends everyone without two-step verification to the set-up
	// wizard after signing in; once RequiredGrace has passed (from the
	// later of the account's creation and the first time a server
	// enforced the policy on the database), nothing else is allowed.
	Required      bool     `yaml:"required"`
	RequiredGrace Duration `yaml:"required_grace"`
}

// Recovery is the recovery with a waiting period, for someone who has
// the password and the e-mail but lost every second method.
type Recovery struct {
	// Delay is the wait between opening the e-mailed link and finishing
	// the recovery, during which every address and phone is told (at the
	// start and halfway) and any sign-in with a second step cancels it.
	Delay Duration `yaml:"delay"`
	// LinkTTL is how long the e-mailed confirmation link works.
	LinkTTL Duration `yaml:"link_ttl"`
	// PerAccount and PerAddress budget the requests (each sends an
	// e-mail): per account, and per client address.
	PerAccount Budget `yaml:"per_account"`
	PerAddress Budget `yaml:"per_address"`
}

// Server is the HTTP side.
type Server struct {
	Addr string `yaml:"addr"`
	// PublicURL is where users reach twostep; links in e-mails point here and
	// cookies are Secure unless it is plain HTTP on a loopback host.
	PublicURL string `yaml:"public_url"`
	SiteName  string `yaml:"site_name"`
	// DefaultLanguage is the language of pages for a browser that asks for
	// none the site has, and of messages to people who chose none (a BCP
	// 47 tag of a shipped catalogue: en, de, fr, pt-BR…).
	DefaultLanguage string `yaml:"default_language"`
	// MessagesFile is the operator's own wording: a TOML file of messages
	// by language ([en] "signin.title" = "Log in") overriding the
	// catalogues', checked at start. Empty: none.
	MessagesFile    string   `yaml:"messages_file"`
	DataDir         string   `yaml:"data_dir"`
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// TrustProxy lists the reverse proxies (networks or single addresses)
	// whose X-Forwarded-For entries are believed. Empty trusts none: the
	// client address is the peer's.
	TrustProxy Proxies `yaml:"trust_proxy"`
	// MemoryLimitMiB is a soft limit for the Go runtime (0: none).
	MemoryLimitMiB int `yaml:"memory_limit_mib"`
	// MetricsAddr is where GET /metrics serves Prometheus metrics, on a
	// listener of its own, never the public one. Empty: no metrics
	// listener.
	MetricsAddr string `yaml:"metrics_addr"`
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
	// CookieDomain, when set, sends the session cookie to this domain and
	// every host below it (so apps behind forward-auth see it): Secure
	// with a Domain attribute instead of the __Host- prefix, which forbids
	// one.
	CookieDomain string `yaml:"cookie_domain"`
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
			DefaultLanguage: "en",
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
			Passkeys: true, RequiredGrace: Duration(7 * 24 * time.Hour),
		},
		// Forward-auth refuses everything until rules say otherwise.
		AccessControl: AccessControl{DefaultPolicy: PolicyDeny},
		Recovery: Recovery{
			Delay: Duration(72 * time.Hour), LinkTTL: Duration(time.Hour),
			PerAccount: Budget{Limit: 3, Window: Duration(24 * time.Hour)},
			PerAddress: Budget{Limit: 10, Window: Duration(time.Hour)},
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
