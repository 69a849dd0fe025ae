// Command twostep is a self-hosted sign-in server with two-step
// verification.
//
//	twostep serve   [--addr HOST:PORT] [--data-dir DIR] [--config FILE]
//	twostep migrate [--data-dir DIR] [--config FILE]
//	twostep rotate-key [--config FILE]   re-encrypt secrets under secrets.key
//	twostep deliveries [--config FILE]   recent code deliveries (masked)
//	twostep clients add --name NAME --redirect-uri URI… [--public] [--first-party]
//	twostep clients list [--json] | remove CLIENT_ID   apps signing people in (OpenID Connect)
//	twostep rotate-signing-key [--config FILE]   new keys for ID tokens
//	twostep backup FILE [--config FILE] [--data-dir DIR]   online SQLite copy
//	twostep users list|show|disable|enable|reset-two-step|force-password-reset|import|export|delete   accounts, for support staff
//	twostep bench   [flags]   measure sign-in throughput, latency and memory
//	twostep version
//	twostep help   this list
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"twostep/internal/admin"
	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/loadtest"
	"twostep/internal/secret"
	"twostep/internal/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "twostep:", err)
		os.Exit(1)
	}
}

// usage lists the commands: `twostep help` prints it, and so does a
// mistyped command, so nobody has to guess.
const usage = `usage: twostep COMMAND [flags]

Commands:
  serve                run the sign-in server (--addr HOST:PORT, --data-dir DIR, --config FILE)
  migrate              bring the database schema up to date
  rotate-key           re-encrypt secrets under secrets.key
  deliveries           recent code deliveries (masked)
  clients              apps signing people in (OpenID Connect): add, list, remove
  rotate-signing-key   new keys for ID tokens
  backup               copy the SQLite database to FILE while it runs (not the key)
  users                support and operators: list, show, disable, enable, reset-two-step,
                       force-password-reset, import, export, delete ("twostep users" for more)
  bench                measure sign-in throughput, latency and memory
  version              print the version
  help                 print this list

"twostep COMMAND --help" lists a command's flags. To try twostep on this
machine, run "twostep serve" and open the address it prints.
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "migrate":
		return migrate(args[1:], stdout, stderr)
	case "bench":
		return bench(args[1:], stdout, stderr)
	case "rotate-key":
		return rotateKey(args[1:], stdout, stderr)
	case "deliveries":
		return deliveries(args[1:], stdout, stderr)
	case "clients":
		return clients(args[1:], stdout, stderr)
	case "rotate-signing-key":
		return rotateSigningKey(args[1:], stdout, stderr)
	case "backup":
		return backup(args[1:], stdout, stderr)
	case "users":
		return users(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "twostep", version)
		return nil
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q (the commands are listed above)", args[0])
}

// loadConfig parses the common flags, reads the config file and the
// environment, and applies flags over both.
func loadConfig(name string, args []string, stderr io.Writer) (config.Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "listen address HOST:PORT (default 127.0.0.1:8080)")
	dataDir := fs.String("data-dir", "", "directory for the SQLite database and generated key (default ./twostep-data)")
	file := fs.String("config", os.Getenv("TWOSTEP_CONFIG"), "YAML config file")
	if err := fs.Parse(args); err != nil {
		return config.Config{}, err
	}
	env := os.Environ()
	if *addr != "" {
		env = append(env, "TWOSTEP_SERVER_ADDR="+*addr)
	}
	if *dataDir != "" {
		env = append(env, "TWOSTEP_SERVER_DATA_DIR="+*dataDir)
	}
	filtered := env[:0:0]
	for _, kv := range env {
		if len(kv) >= 15 && kv[:15] == "TWOSTEP_CONFIG=" {
			continue
		}
		filtered = append(filtered, kv)
	}
	return config.Load(*file, filtered)
}

func serve(args []string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("serve", args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if cfg.Server.MemoryLimitMiB > 0 {
		debug.SetMemoryLimit(int64(cfg.Server.MemoryLimitMiB) << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	a, err := app.Open(ctx, cfg, log, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	if a.KeyCreated {
		log.Warn("generated a new secret key in the data directory; back it up, or set secrets.key / TWOSTEP_SECRETS_KEY in production",
			"dir", cfg.Server.DataDir)
	}
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go a.PurgeLoop(ctx, 10*time.Minute, log)
	// Metrics: a listener of their own (server.metrics_addr; empty: none).
	if _, err := serveMetrics(ctx, cfg.Server.MetricsAddr, a.Metrics.Handler(), log); err != nil {
		return err
	}

	engine := "SQLite in " + cfg.Server.DataDir
	if a.DB.Postgres() {
		engine = "PostgreSQL"
	}
	url := "http://" + ln.Addr().String()
	if cfg.Server.PublicURL != "" {
		url = cfg.Server.PublicURL
	}
	fmt.Fprintf(stdout, "twostep %s is running on %s (%s, e-mail via %s)\nOpen %s\n", version, ln.Addr(), engine, cfg.Delivery.Email, url)
	if names := cfg.OutboxSettings(); len(names) > 0 {
		// The first thing a newcomer needs after the address is where the
		// confirmation link and the codes went.
		outboxURL := strings.TrimRight(url, "/") + "/dev/outbox"
		fmt.Fprintf(stdout, "E-mails, texts and calls go to the developer outbox: %s\n", outboxURL)
		fmt.Fprint(stderr, outboxBanner(strings.TrimRight(url, "/"), names))
		log.Warn("developer outbox is on: every e-mail, text and call is readable by anyone who reaches it; never use in production",
			"url", outboxURL, "settings", strings.Join(names, ","))
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.D())
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// outboxBanner is the warning printed at start while the developer outbox
// is on, loud enough that nobody mistakes such a server for production.
func outboxBanner(base string, settings []string) string {
	line := strings.Repeat("!", 78)
	return line + "\n" +
		"!!  DEVELOPER OUTBOX IS ON: every e-mail, text and call is readable at\n" +
		"!!    " + base + "/dev/outbox\n" +
		"!!  by anyone who can reach this server (" + strings.Join(settings, ", ") + ").\n" +
		"!!  For trying twostep on this machine only - never use in production:\n" +
		"!!  set delivery.email to smtp and delivery.sms / delivery.voice to twilio.\n" +
		line + "\n"
}

// openStore loads the config for an admin command, opens the database and
// brings its schema up to date, returning how many migrations it applied.
func openStore(name string, args []string, stderr io.Writer) (config.Config, *store.DB, int, error) {
	cfg, err := loadConfig(name, args, stderr)
	if err != nil {
		return cfg, nil, 0, err
	}
	ctx := context.Background()
	db, err := store.Open(ctx, cfg.Database.URL, cfg.Server.DataDir)
	if err != nil {
		return cfg, nil, 0, err
	}
	n, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return cfg, nil, 0, err
	}
	return cfg, db, n, nil
}

func migrate(args []string, stdout, stderr io.Writer) error {
	_, db, n, err := openStore("migrate", args, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintf(stdout, "applied %d migration(s); the schema is up to date\n", n)
	return nil
}

// rotateKey re-encrypts every secret under the current secrets.key; the
// earlier key must be listed in secrets.old_keys while this runs.
func rotateKey(args []string, stdout, stderr io.Writer) error {
	cfg, db, _, err := openStore("rotate-key", args, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	key, _, err := secret.LoadOrCreateKey(cfg.Secrets.Key, cfg.Server.DataDir)
	if err != nil {
		return err
	}
	keys, err := app.Keyring(key, cfg.Secrets.OldKeys)
	if err != nil {
		return err
	}
	n, err := admin.RotateKey(ctx, db, keys)
	if errors.Is(err, secret.ErrWrongKey) {
		return fmt.Errorf("%w (re-encrypted %d before the error): list the key it was sealed with in secrets.old_keys", err, n)
	}
	if err != nil {
		return fmt.Errorf("%w (re-encrypted %d before the error)", err, n)
	}
	fmt.Fprintf(stdout, "re-encrypted %d secret(s) under key %s; secrets.old_keys can now be emptied\n", n, keys.KeyID())
	return nil
}

// deliveries prints the latest delivery attempts for operators: provider,
// channel, masked recipient, outcome — never a code.
func deliveries(args []string, stdout, stderr io.Writer) error {
	_, db, _, err := openStore("deliveries", args, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	list, err := db.Deliveries(ctx, 50)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-20s  %-7s  %-8s  %-22s  %-11s  %6s  %s\n", "time (UTC)", "channel", "provider", "to", "status", "ms", "error")
	for _, d := range list {
		fmt.Fprintf(stdout, "%-20s  %-7s  %-8s  %-22s  %-11s  %6d  %s\n", d.CreatedAt.UTC().Format("2006-01-02 15:04:05"), d.Channel, d.Provider, d.Recipient, d.Status, d.DurationMS, d.Error)
	}
	return nil
}

// bench parses the flags of `twostep bench` and runs the load test
// (internal/loadtest) until it ends or is interrupted.
func bench(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o loadtest.Options
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long each concurrency level runs")
	levels := fs.String("levels", "1,4,16", "comma-separated numbers of concurrent clients, one run each")
	fs.StringVar(&o.DatabaseURL, "database-url", "", "PostgreSQL URL to run on, in a fresh schema bench_<random> dropped afterwards (default: a fresh SQLite database in a temporary directory)")
	fs.IntVar(&o.Burst, "burst", 500, "concurrent sign-ins fired at once for the memory test (0: no burst)")
	fs.IntVar(&o.Users, "users", 16, fmt.Sprintf("accounts to create and sign in to (1–%d)", loadtest.MaxUsers))
	fs.DurationVar(&o.HashFor, "hash-duration", 3*time.Second, "how long to measure the bare argon2id hash rate")
	fs.BoolVar(&o.Keep, "keep", false, "keep the temporary directory (server log, SQLite database) and print its path")
	forwardAuth := fs.Bool("forward-auth", true, "measure forward-auth checks beside /healthz at each level (--forward-auth=false: skip)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: twostep bench [flags]\n\n"+
			"Measures the bare argon2id hash rate, then starts `twostep serve` as a child\n"+
			"process at the default settings, creates accounts and signs in to them over\n"+
			"HTTP at each concurrency level, fires a burst of concurrent sign-ins, and\n"+
			"reports throughput, latency, errors and the server's memory. Before the\n"+
			"sign-ins, signed-in clients ask the forward-auth check at each level,\n"+
			"interleaved with /healthz, and the report gives the ratio of the two.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	var err error
	o.SkipForwardAuth = !*forwardAuth
	if o.Levels, err = loadtest.ParseLevels(*levels); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return loadtest.Run(ctx, o, stdout)
}
