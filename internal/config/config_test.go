package config_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"twostep/internal/config"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "twostep.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func wantErrContaining(t *testing.T, what string, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got nil error, want one containing %q", what, parts)
		return
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: got error %q, want it to contain %q", what, err, p)
		}
	}
}

func TestDefaultValidates(t *testing.T) {
	c := config.Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate(): got %v, want nil", err)
	}
	if got, want := c.Password.MaxConcurrent, 2*runtime.NumCPU(); got != want {
		t.Errorf("default password.max_concurrent: got %d, want %d", got, want)
	}
}

func TestLoadDefaults(t *testing.T) {
	want := config.Default()
	got, err := config.Load("", nil)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Load without file or env:\ngot  %+v, %v\nwant %+v", got, err, want)
	}
	got, err = config.Load(writeFile(t, ""), []string{"PATH=/bin", "HOME=/root", "NOT_TWOSTEP_X=1", "TWOSTEP_NO_EQUALS"})
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Load with an empty file and unrelated env:\ngot  %+v, %v\nwant %+v", got, err, want)
	}
	got, err = config.Load(writeFile(t, "# only a comment\n"), nil)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Load with a comment-only file:\ngot  %+v, %v\nwant %+v", got, err, want)
	}
}

func TestLoadYAML(t *testing.T) {
	path := writeFile(t, `
server:
  addr: "0.0.0.0:9000"
  public_url: https://login.example.com
  site_name: Example
  trust_proxy: [127.0.0.1, "10.0.0.0/8", "2001:db8::/32"]
database:
  url: sqlite:/var/lib/twostep/db.sqlite
password:
  parallelism: 2
  min_length: 10
session:
  idle_timeout: 30m
limits:
  signup_per_address:
    limit: 3
    window: 10m
  password_per_account:
    free: 2
delivery:
  email: smtp
  smtp:
    host: mail.example.com
    from: noreply@example.com
    tls: tls
    port: 465
`)
	got, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := config.Default()
	want.Server.Addr = "0.0.0.0:9000"
	want.Server.PublicURL = "https://login.example.com"
	want.Server.SiteName = "Example"
	want.Server.TrustProxy = config.Proxies{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	want.Database.URL = "sqlite:/var/lib/twostep/db.sqlite"
	want.Password.Parallelism = 2
	want.Password.MinLength = 10
	want.Session.IdleTimeout = config.Duration(30 * time.Minute)
	want.Limits.SignupPerAddress = config.Budget{Limit: 3, Window: config.Duration(10 * time.Minute)}
	want.Limits.PasswordPerAccount.Free = 2 // the rest of the block keeps its defaults
	want.Delivery.Email = "smtp"
	want.Delivery.SMTP.Host = "mail.example.com"
	want.Delivery.SMTP.From = "noreply@example.com"
	want.Delivery.SMTP.TLS = "tls"
	want.Delivery.SMTP.Port = 465
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load with YAML:\ngot  %+v\nwant %+v", got, want)
	}
}

func TestLoadYAMLErrors(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       []string
	}{
		{"unknown key", "server:\n  adress: 127.0.0.1:1\n", []string{"adress"}},
		{"unknown section", "sever:\n  addr: 127.0.0.1:1\n", []string{"sever"}},
		{"bad duration", "session:\n  idle_timeout: soon\n", []string{"soon"}},
		{"duration without unit", "session:\n  idle_timeout: 3600\n", []string{"3600"}},
		{"wrong type", "password:\n  min_length: long\n", []string{"long"}},
		{"invalid value", "server:\n  addr: nowhere\n", []string{"server.addr"}},
		{"not YAML", "server: [\n", []string{"twostep.yaml"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(writeFile(t, tt.body), nil)
			wantErrContaining(t, "Load", err, tt.want...)
		})
	}
	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "missing.yaml")
		_, err := config.Load(path, nil)
		wantErrContaining(t, "Load of a missing file", err, "missing.yaml")
	})
}

func TestLoadEnv(t *testing.T) {
	path := writeFile(t, `
session:
  idle_timeout: 30m
  max_lifetime: 240h
server:
  addr: "0.0.0.0:9000"
database:
  url: sqlite:/from/yaml.db
`)
	env := []string{
		"PATH=/usr/bin",
		"TWOSTEP_SESSION_IDLE_TIMEOUT=2h",
		"TWOSTEP_DATABASE_URL=postgres://twostep@db.example.com/twostep?sslmode=require",
		"TWOSTEP_SERVER_TRUST_PROXY=10.1.2.3/8, 192.0.2.7",
		"TWOSTEP_DELIVERY_EMAIL=smtp", // 0.0.0.0 refuses the developer outbox
		"TWOSTEP_DELIVERY_SMTP_HOST=mail.example.com",
		"TWOSTEP_DELIVERY_SMTP_FROM=noreply@example.com",
		"TWOSTEP_SERVER_MEMORY_LIMIT_MIB=512",
		"TWOSTEP_PASSWORD_PARALLELISM=4",
		"TWOSTEP_PASSWORD_MEMORY_KIB=65536",
		"TWOSTEP_LIMITS_VERIFY_EMAIL_PER_ACCOUNT_LIMIT=7",
		"TWOSTEP_LIMITS_PASSWORD_PER_BROWSER_MAX=1m",
		"TWOSTEP_DELIVERY_SMTP_PASSWORD=p=a=s=s", // only the first = splits
		"TWOSTEP_SERVER_SITE_NAME=Example Login",
	}
	got, err := config.Load(path, env)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := config.Default()
	want.Session.IdleTimeout = config.Duration(2 * time.Hour)   // env over YAML
	want.Session.MaxLifetime = config.Duration(240 * time.Hour) // YAML only
	want.Server.Addr = "0.0.0.0:9000"
	want.Database.URL = "postgres://twostep@db.example.com/twostep?sslmode=require"
	want.Server.TrustProxy = config.Proxies{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32")}
	want.Delivery.Email = "smtp"
	want.Delivery.SMTP.Host = "mail.example.com"
	want.Delivery.SMTP.From = "noreply@example.com"
	want.Server.MemoryLimitMiB = 512
	want.Password.Parallelism = 4
	want.Password.MemoryKiB = 65536
	want.Limits.VerifyPerAccount.Limit = 7
	want.Limits.PasswordPerBrowser.Max = config.Duration(time.Minute)
	want.Delivery.SMTP.Password = "p=a=s=s"
	want.Server.SiteName = "Example Login"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load with env over YAML:\ngot  %+v\nwant %+v", got, want)
	}
}

func TestLoadEnvErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  string
		want []string
	}{
		{"unknown variable", "TWOSTEP_SESSION_IDLE=2h", []string{"TWOSTEP_SESSION_IDLE"}},
		{"section name only", "TWOSTEP_SERVER=x", []string{"TWOSTEP_SERVER"}},
		{"bad duration", "TWOSTEP_SESSION_IDLE_TIMEOUT=two hours", []string{"TWOSTEP_SESSION_IDLE_TIMEOUT", "two hours"}},
		{"bad bool", "TWOSTEP_METHODS_SMS=maybe", []string{"TWOSTEP_METHODS_SMS", "maybe"}},
		{"proxy not an address", "TWOSTEP_SERVER_TRUST_PROXY=maybe", []string{"TWOSTEP_SERVER_TRUST_PROXY", "maybe"}},
		{"proxy true", "TWOSTEP_SERVER_TRUST_PROXY=true", []string{"TWOSTEP_SERVER_TRUST_PROXY", "10.0.0.0/8"}},
		{"proxy everyone", "TWOSTEP_SERVER_TRUST_PROXY=0.0.0.0/0", []string{"TWOSTEP_SERVER_TRUST_PROXY", "every address"}},
		{"proxy zone", "TWOSTEP_SERVER_TRUST_PROXY=fe80::1%eth0", []string{"TWOSTEP_SERVER_TRUST_PROXY", "fe80::1%eth0"}},
		{"bad int", "TWOSTEP_PASSWORD_MIN_LENGTH=ten", []string{"TWOSTEP_PASSWORD_MIN_LENGTH", "ten"}},
		{"uint8 out of range", "TWOSTEP_PASSWORD_PARALLELISM=300", []string{"TWOSTEP_PASSWORD_PARALLELISM", "300"}},
		{"negative uint", "TWOSTEP_PASSWORD_ITERATIONS=-1", []string{"TWOSTEP_PASSWORD_ITERATIONS"}},
		{"invalid value", "TWOSTEP_SERVER_ADDR=nowhere", []string{"server.addr"}},
		{"invalid database url", "TWOSTEP_DATABASE_URL=mysql://x", []string{"database.url"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load("", []string{"PATH=/bin", tt.env})
			wantErrContaining(t, "Load with "+tt.env, err, tt.want...)
		})
	}
}

func TestValidate(t *testing.T) {
	d := func(v time.Duration) config.Duration { return config.Duration(v) }
	smtp := func(c *config.Config) {
		c.Delivery.Email, c.Delivery.SMTP.Host, c.Delivery.SMTP.From = "smtp", "mail.example.com", "noreply@example.com"
	}
	for _, tt := range []struct {
		name   string
		change func(c *config.Config)
		want   string // "" means valid
	}{
		{"default", func(c *config.Config) {}, ""},
		{"addr", func(c *config.Config) { c.Server.Addr = "8080" }, "server.addr"},
		{"addr port only", func(c *config.Config) { c.Server.Addr = ":8080"; smtp(c) }, ""},
		{"public url scheme", func(c *config.Config) { c.Server.PublicURL = "ftp://example.com" }, "server.public_url"},
		{"public url host", func(c *config.Config) { c.Server.PublicURL = "https://" }, "server.public_url"},
		{"public url https", func(c *config.Config) { c.Server.PublicURL = "https://login.example.com/"; smtp(c) }, ""},
		{"site name", func(c *config.Config) { c.Server.SiteName = "" }, "server.site_name"},
		{"data dir", func(c *config.Config) { c.Server.DataDir = "" }, "server.data_dir"},
		{"data dir not needed with url", func(c *config.Config) { c.Server.DataDir = ""; c.Database.URL = "sqlite:/tmp/x.db" }, ""},
		{"database url", func(c *config.Config) { c.Database.URL = "mysql://db/x" }, "database.url"},
		{"database url postgresql", func(c *config.Config) { c.Database.URL = "postgresql://db/x" }, ""},
		{"memory", func(c *config.Config) { c.Password.MemoryKiB = 7 }, "password.memory_kib"},
		{"memory per lane", func(c *config.Config) { c.Password.MemoryKiB = 31; c.Password.Parallelism = 4 }, "password.memory_kib"},
		{"iterations", func(c *config.Config) { c.Password.Iterations = 0 }, "password.iterations"},
		{"parallelism", func(c *config.Config) { c.Password.Parallelism = 0 }, "password.parallelism"},
		{"max concurrent", func(c *config.Config) { c.Password.MaxConcurrent = 0 }, "password.max_concurrent"},
		{"max wait", func(c *config.Config) { c.Password.MaxWait = 0 }, "password.max_wait"},
		{"max wait negative", func(c *config.Config) { c.Password.MaxWait = d(-time.Second) }, "password.max_wait"},
		{"min length", func(c *config.Config) { c.Password.MinLength = 7 }, "password.min_length"},
		{"max length", func(c *config.Config) { c.Password.MaxLength = 63 }, "max_length"},
		{"min over max", func(c *config.Config) { c.Password.MinLength = 100; c.Password.MaxLength = 99 }, "password.min_length"},
		{"idle timeout", func(c *config.Config) { c.Session.IdleTimeout = 0 }, "session.idle_timeout"},
		{"max lifetime", func(c *config.Config) { c.Session.MaxLifetime = d(-time.Hour) }, "session.max_lifetime"},
		{"known browser lifetime", func(c *config.Config) { c.Session.KnownBrowserLifetime = 0 }, "session.known_browser_lifetime"},
		{"reset ttl", func(c *config.Config) { c.Tokens.ResetTTL = 0 }, "tokens.reset_ttl"},
		{"verify ttl", func(c *config.Config) { c.Tokens.VerifyTTL = 0 }, "tokens.verify_ttl"},
		{"shutdown timeout", func(c *config.Config) { c.Server.ShutdownTimeout = 0 }, "server.shutdown_timeout"},
		{"backoff free", func(c *config.Config) { c.Limits.PasswordPerAccount.Free = -1 }, "limits.password_per_account"},
		{"backoff free zero", func(c *config.Config) { c.Limits.PasswordPerAccount.Free = 0 }, ""},
		{"backoff base", func(c *config.Config) { c.Limits.PasswordPerBrowser.Base = 0 }, "limits.password_per_browser"},
		{"backoff max", func(c *config.Config) { c.Limits.PasswordPerAddress.Max = d(time.Millisecond) }, "limits.password_per_address"},
		{"backoff reset", func(c *config.Config) { c.Limits.PasswordPerAccount.Reset = 0 }, "limits.password_per_account"},
		{"budget limit", func(c *config.Config) { c.Limits.SignupPerAddress.Limit = 0 }, "limits.signup_per_address"},
		{"budget window", func(c *config.Config) { c.Limits.ResetPerAddress.Window = 0 }, "limits.reset_per_address"},
		{"budget account", func(c *config.Config) { c.Limits.ResetPerAccount.Limit = -1 }, "limits.reset_per_account"},
		{"budget verify", func(c *config.Config) { c.Limits.VerifyPerAccount.Window = d(-time.Second) }, "limits.verify_email_per_account"},
		{"code budget", func(c *config.Config) { c.Limits.CodePerAccount.Limit = 0 }, "limits.code_per_account"},
		{"code budget daily", func(c *config.Config) { c.Limits.CodePerAccountDaily.Window = 0 }, "limits.code_per_account_daily"},
		{"code budget address", func(c *config.Config) { c.Limits.CodePerAddress.Limit = 0 }, "limits.code_per_address"},
		{"two-step backup", func(c *config.Config) { c.TwoStep.Backup = "sometimes" }, "two_step.backup"},
		{"two-step backup optional", func(c *config.Config) { c.TwoStep.Backup = "optional" }, ""},
		{"pending attempts", func(c *config.Config) { c.TwoStep.PendingAttempts = 0 }, "two_step.pending_attempts"},
		{"pending factor ttl", func(c *config.Config) { c.TwoStep.PendingFactorTTL = 0 }, "two_step.pending_factor_ttl"},
		{"pending sign-in ttl", func(c *config.Config) { c.TwoStep.PendingSignInTTL = 0 }, "two_step.pending_signin_ttl"},
		{"step-up window", func(c *config.Config) { c.TwoStep.StepUpWindow = 0 }, "two_step.step_up_window"},
		{"device lifetime", func(c *config.Config) { c.TwoStep.DeviceLifetime = 0 }, "two_step.device_lifetime"},
		{"device max lifetime", func(c *config.Config) { c.TwoStep.DeviceMaxLifetime = c.TwoStep.DeviceLifetime - 1 }, "two_step.device_max_lifetime"},
		{"totp digits", func(c *config.Config) { c.TwoStep.TOTPDigits = 9 }, "two_step.totp_digits"},
		{"totp period", func(c *config.Config) { c.TwoStep.TOTPPeriod = 10 }, "totp_period"},
		{"totp skew", func(c *config.Config) { c.TwoStep.TOTPSkew = 4 }, "totp_skew"},
		{"totp algorithm", func(c *config.Config) { c.TwoStep.TOTPAlgorithm = "MD5" }, "two_step.totp_algorithm"},
		{"totp sha256", func(c *config.Config) { c.TwoStep.TOTPAlgorithm = "SHA256"; c.TwoStep.TOTPDigits = 8 }, ""},
		{"delivery", func(c *config.Config) { c.Delivery.Email = "pigeon" }, "delivery.email"},
		{"smtp host", func(c *config.Config) { c.Delivery.Email = "smtp"; c.Delivery.SMTP.From = "a@example.com" }, "delivery.smtp.host"},
		{"smtp from", func(c *config.Config) { c.Delivery.Email = "smtp"; c.Delivery.SMTP.Host = "mail" }, "delivery.smtp.from"},
		{"smtp tls", func(c *config.Config) {
			c.Delivery.Email = "smtp"
			c.Delivery.SMTP.Host, c.Delivery.SMTP.From, c.Delivery.SMTP.TLS = "mail", "a@example.com", "ssl"
		}, "delivery.smtp.tls"},
		{"smtp ok", func(c *config.Config) {
			c.Delivery.Email = "smtp"
			c.Delivery.SMTP.Host, c.Delivery.SMTP.From, c.Delivery.SMTP.TLS = "mail", "a@example.com", "none"
		}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			tt.change(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate: got %v, want nil", err)
				}
				return
			}
			wantErrContaining(t, "Validate", err, tt.want)
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := config.Default()
	c.Server.Addr = "bad"
	c.Session.IdleTimeout = 0
	c.Delivery.Email = "pigeon"
	wantErrContaining(t, "Validate with three problems", c.Validate(), "server.addr", "session.idle_timeout", "delivery.email")
}

func TestEnvNames(t *testing.T) {
	names := config.EnvNames()
	seen := map[string]bool{}
	for _, n := range names {
		if !strings.HasPrefix(n, "TWOSTEP_") || strings.ToUpper(n) != n {
			t.Errorf("EnvNames: %q is not an upper-case TWOSTEP_ name", n)
		}
		if seen[n] {
			t.Errorf("EnvNames: %q listed twice", n)
		}
		seen[n] = true
	}
	for _, want := range []string{
		"TWOSTEP_DATABASE_URL", "TWOSTEP_SERVER_ADDR", "TWOSTEP_SESSION_IDLE_TIMEOUT",
		"TWOSTEP_SECRETS_KEY", "TWOSTEP_DELIVERY_SMTP_HOST", "TWOSTEP_LIMITS_VERIFY_EMAIL_PER_ACCOUNT_WINDOW",
	} {
		if !seen[want] {
			t.Errorf("EnvNames: got %v, want it to contain %s", names, want)
		}
	}
	// Every listed name is one Load knows: "x" may be a bad value for it,
	// but never an unknown variable.
	for _, n := range names {
		_, err := config.Load("", []string{n + "=x"})
		if err != nil && strings.Contains(err.Error(), "unknown environment variable") {
			t.Errorf("Load rejects %s, listed by EnvNames, as unknown: %v", n, err)
		}
	}
}

func TestDuration(t *testing.T) {
	var d config.Duration
	if err := d.UnmarshalText([]byte("1h30m")); err != nil || d.D() != 90*time.Minute {
		t.Errorf("UnmarshalText(1h30m): got (%v, %v), want (1h30m0s, nil)", d.D(), err)
	}
	b, err := d.MarshalText()
	if err != nil || string(b) != "1h30m0s" {
		t.Errorf("MarshalText: got (%q, %v), want (\"1h30m0s\", nil)", b, err)
	}
	if err := d.UnmarshalText([]byte("ninety")); err == nil || !strings.Contains(err.Error(), "ninety") {
		t.Errorf("UnmarshalText(ninety): got %v, want an error naming the value", err)
	}
	if d.D() != 90*time.Minute {
		t.Errorf("a failed UnmarshalText changed the value: got %v, want 1h30m0s", d.D())
	}
}

func TestIsPostgresAndBaseURL(t *testing.T) {
	for u, want := range map[string]bool{
		"postgres://db/x": true, "postgresql://db/x": true, "sqlite:/x.db": false, "": false, "mysql://db": false,
	} {
		if got := config.IsPostgres(u); got != want {
			t.Errorf("IsPostgres(%q): got %v, want %v", u, got, want)
		}
	}
	c := config.Default()
	if got, want := c.BaseURL(), "http://127.0.0.1:8080"; got != want {
		t.Errorf("BaseURL without public_url: got %q, want %q", got, want)
	}
	c.Server.PublicURL = "https://login.example.com/"
	if got, want := c.BaseURL(), "https://login.example.com"; got != want {
		t.Errorf("BaseURL with public_url: got %q, want %q", got, want)
	}
}

// TestOutboxOnlyOnLoopback: the developer outbox shows every code and link
// to whoever loads /dev/outbox, so any channel delivering there refuses to
// start unless twostep is served over plain HTTP on a loopback address,
// and the error names the settings to change.
func TestOutboxOnlyOnLoopback(t *testing.T) {
	twilio := func(c *config.Config) {
		c.Delivery.Twilio.AccountSID, c.Delivery.Twilio.AuthToken, c.Delivery.Twilio.From = "AC123", "tok", "+15005550006"
	}
	smtp := func(c *config.Config) {
		c.Delivery.Email, c.Delivery.SMTP.Host, c.Delivery.SMTP.From = "smtp", "mail.example.com", "noreply@example.com"
	}
	for _, tt := range []struct {
		name   string
		change func(c *config.Config)
		want   []string // nil: valid
	}{
		{"defaults on 127.0.0.1", func(c *config.Config) {}, nil},
		{"localhost", func(c *config.Config) { c.Server.Addr = "localhost:8080"; c.Server.PublicURL = "http://localhost:8080" }, nil},
		{"ipv6 loopback", func(c *config.Config) { c.Server.Addr = "[::1]:8080"; c.Server.PublicURL = "http://[::1]:8080/" }, nil},
		{"https public url", func(c *config.Config) { c.Server.PublicURL = "https://login.example.com" },
			[]string{"delivery.email", "delivery.sms", "delivery.voice", "server.public_url", "https", "smtp"}},
		{"https on localhost", func(c *config.Config) { c.Server.PublicURL = "https://localhost:8443" }, []string{"server.public_url"}},
		{"http public url elsewhere", func(c *config.Config) { c.Server.PublicURL = "http://login.example.com" }, []string{"server.public_url"}},
		{"all interfaces", func(c *config.Config) { c.Server.Addr = "0.0.0.0:8080" }, []string{"delivery.email", "server.addr", "0.0.0.0:8080"}},
		{"every interface by port only", func(c *config.Config) { c.Server.Addr = ":8080" }, []string{"server.addr"}},
		{"a public address", func(c *config.Config) { c.Server.Addr = "192.0.2.1:8080" }, []string{"server.addr", "192.0.2.1"}},
		{"ipv6 any", func(c *config.Config) { c.Server.Addr = "[::]:8080" }, []string{"server.addr"}},
		{"a host name", func(c *config.Config) { c.Server.Addr = "login.example.com:8080" }, []string{"server.addr"}},
		{"smtp but sms to the outbox", func(c *config.Config) {
			smtp(c)
			c.Server.Addr = "0.0.0.0:8080"
			c.Delivery.SMS = "twilio,outbox"
			twilio(c)
		}, []string{"delivery.sms"}},
		{"smtp but voice to the outbox", func(c *config.Config) {
			smtp(c)
			c.Server.PublicURL = "https://login.example.com"
			c.Delivery.Voice = "outbox"
		}, []string{"delivery.voice"}},
		{"production", func(c *config.Config) {
			smtp(c)
			twilio(c)
			c.Server.Addr, c.Server.PublicURL = "0.0.0.0:8080", "https://login.example.com"
			c.Delivery.SMS, c.Delivery.Voice = "twilio", "twilio"
		}, nil},
		{"smtp without texts", func(c *config.Config) { smtp(c); c.Server.Addr = "0.0.0.0:8080" }, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			tt.change(&c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Errorf("Validate: got %v, want nil", err)
				}
				return
			}
			wantErrContaining(t, "Validate", err, tt.want...)
		})
	}
	t.Run("from the environment", func(t *testing.T) {
		_, err := config.Load("", []string{"TWOSTEP_SERVER_ADDR=0.0.0.0:8080"})
		wantErrContaining(t, "Load with 0.0.0.0 and the default outbox", err, "delivery.email", "server.addr")
	})
}

func TestTrustProxy(t *testing.T) {
	p := netip.MustParsePrefix
	for _, tt := range []struct {
		name, yaml string
		want       config.Proxies
		err        string
	}{
		{"absent", "", nil, ""},
		{"false", "false", nil, ""},
		{"empty string", `""`, nil, ""},
		{"one address", "127.0.0.1", config.Proxies{p("127.0.0.1/32")}, ""},
		{"comma-separated", `"10.0.0.0/8, ::1,192.0.2.7"`, config.Proxies{p("10.0.0.0/8"), p("::1/128"), p("192.0.2.7/32")}, ""},
		{"list", "[10.0.0.0/8, \"fd00::/8\"]", config.Proxies{p("10.0.0.0/8"), p("fd00::/8")}, ""},
		{"block list", "\n    - 172.16.0.0/12\n    - 127.0.0.1", config.Proxies{p("172.16.0.0/12"), p("127.0.0.1/32")}, ""},
		{"host bits dropped", "10.1.2.3/8", config.Proxies{p("10.0.0.0/8")}, ""},
		{"mapped v4", "::ffff:10.0.0.0/104", config.Proxies{p("10.0.0.0/8")}, ""},
		{"true refused", "true", nil, "10.0.0.0/8"},
		{"everyone refused", "::/0", nil, "every address"},
		{"garbage", "proxy.example.com", nil, "proxy.example.com"},
		{"map", "{a: b}", nil, "list"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := "server:\n  addr: 127.0.0.1:1\n"
			if tt.yaml != "" {
				body += "  trust_proxy: " + tt.yaml + "\n"
			}
			got, err := config.Load(writeFile(t, body), nil)
			if tt.err != "" {
				wantErrContaining(t, "Load", err, tt.err)
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(got.Server.TrustProxy, tt.want) {
				t.Errorf("trust_proxy %s: got %v, want %v", tt.yaml, got.Server.TrustProxy, tt.want)
			}
		})
	}
	ps := config.Proxies{p("10.0.0.0/8"), p("2001:db8::/32")}
	for addr, want := range map[string]bool{"10.9.8.7": true, "::ffff:10.9.8.7": true, "11.0.0.1": false, "2001:db8:1::1": true, "2001:db9::1": false} {
		if got := ps.Contains(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Contains(%s): got %v, want %v", addr, got, want)
		}
	}
	b, _ := ps.MarshalText()
	var back config.Proxies
	if err := back.UnmarshalText(b); err != nil || !reflect.DeepEqual(back, ps) {
		t.Errorf("MarshalText round trip: got (%v, %v) from %q, want %v", back, err, b, ps)
	}
}
