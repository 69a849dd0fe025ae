package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"golang.org/x/text/language"
)

// Validate checks every setting and says which one is wrong.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("config: "+format, a...)) }
	if _, _, err := net.SplitHostPort(c.Server.Addr); err != nil {
		bad("server.addr %q is not HOST:PORT", c.Server.Addr)
	}
	if c.Server.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.Server.MetricsAddr); err != nil || port == "" {
			bad("server.metrics_addr %q is not HOST:PORT (empty: no metrics)", c.Server.MetricsAddr)
		} else if c.Server.MetricsAddr == c.Server.Addr {
			bad("server.metrics_addr %q must differ from server.addr: metrics are never served on the public listener", c.Server.MetricsAddr)
		}
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
	if _, err := language.Parse(c.Server.DefaultLanguage); err != nil {
		bad("server.default_language %q is not a language tag (en, de, pt-BR…)", c.Server.DefaultLanguage)
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
		"recovery.delay":          c.Recovery.Delay, "recovery.link_ttl": c.Recovery.LinkTTL,
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
		"recovery.per_account":            c.Recovery.PerAccount,
		"recovery.per_address":            c.Recovery.PerAddress,
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
	if t.RequiredGrace < 0 {
		bad("two_step.required_grace must not be negative (0: no grace period)")
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
	errs = append(errs, c.checkAccess()...)
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
