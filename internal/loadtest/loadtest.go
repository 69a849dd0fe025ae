// Package loadtest is `twostep bench`: how many sign-ins per second a
// twostep on this machine serves, how close that is to what argon2id alone
// allows, how long they take, and how much memory the server needs, also
// under a burst; and how many forward-auth checks per second it answers,
// beside its own /healthz in the same run.
//
// The server under test is the twostep binary run as a child process
// (`serve`), on a fresh SQLite database in a temporary directory or on a
// fresh schema of a given PostgreSQL database, at the default settings
// (TWOSTEP_* variables of the caller are not passed on, so the figures are
// those of an unconfigured server). Only the sign-up budget per address is
// raised, because every account is created from 127.0.0.1, and, for the
// forward-auth phase, a config file gives the child one access rule.
//
// The server's memory and CPU are read from /proc, so on systems other
// than Linux those columns read "n/a".
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"twostep/internal/config"
	"twostep/internal/password"
)

// MaxUsers is the sign-up budget the child gets per address (all accounts
// are created from 127.0.0.1), and so the most accounts a run can use.
const MaxUsers = 1000

// Options are the settings of one run; the flags of `twostep bench`.
type Options struct {
	Duration    time.Duration // how long each concurrency level runs
	Levels      []int         // numbers of concurrent clients, one run each
	DatabaseURL string        // PostgreSQL to run on in a fresh schema; "": a fresh SQLite database
	Burst       int           // sign-ins fired at once for the memory test (0: no burst)
	Users       int           // accounts to create and sign in to (1–MaxUsers)
	HashFor     time.Duration // how long to measure the bare argon2id hash rate
	Keep        bool          // keep the temporary directory and print its path
	// SkipForwardAuth leaves out the forward-auth phase (and the config
	// file it needs).
	SkipForwardAuth bool

	// Binary is the twostep executable run as `serve`; "" means this
	// process's own executable, which is what `twostep bench` wants.
	Binary string
	// Now is the clock every duration and rate is measured with; nil means
	// time.Now. Tests pass a clock that moves on at each read.
	Now func() time.Time
}

// ParseLevels reads the --levels flag: comma-separated positive numbers.
func ParseLevels(s string) ([]int, error) {
	var levels []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bench: --levels: %q is not a positive whole number", f)
		}
		levels = append(levels, n)
	}
	return levels, nil
}

// Validate reports the first setting a run cannot start with, in the words
// of the command's flags.
func (o Options) Validate() error {
	for _, n := range o.Levels {
		if n < 1 {
			return fmt.Errorf("bench: --levels: %q is not a positive whole number", strconv.Itoa(n))
		}
	}
	switch {
	case o.Duration <= 0:
		return errors.New("bench: --duration must be positive")
	case o.HashFor <= 0:
		return errors.New("bench: --hash-duration must be positive")
	case o.Users < 1 || o.Users > MaxUsers:
		return fmt.Errorf("bench: --users must be between 1 and %d", MaxUsers)
	case o.Burst < 0:
		return errors.New("bench: --burst must not be negative")
	case o.DatabaseURL != "" && !config.IsPostgres(o.DatabaseURL):
		return errors.New("bench: --database-url must be a postgres:// or postgresql:// URL (leave it empty for a fresh SQLite database)")
	}
	return nil
}

// Run measures the hashing bound, starts the server, signs in at each
// level, fires the burst and writes the report to out. Warnings about the
// figures go in the report; an error means the run could not finish.
func Run(ctx context.Context, o Options, out io.Writer) (err error) {
	if err := o.Validate(); err != nil {
		return err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	ncpu := runtime.NumCPU()
	def := config.Default()
	dp := password.DefaultParams()
	fmt.Fprintf(out, "twostep bench: %s %s/%s, %d CPUs, GOMAXPROCS %d\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, ncpu, runtime.GOMAXPROCS(0))
	fmt.Fprintf(out, "argon2id m=%d KiB, t=%d, p=%d; server defaults: password.max_concurrent=%d, password.max_wait=%s\n",
		dp.MemoryKiB, dp.Iterations, dp.Parallelism, def.Password.MaxConcurrent, def.Password.MaxWait.D())

	dir, err := os.MkdirTemp("", "twostep-bench-")
	if err != nil {
		return err
	}
	defer func() {
		if o.Keep {
			fmt.Fprintf(out, "kept %s\n", dir)
			return
		}
		os.RemoveAll(dir)
	}()

	// 1. The bound: argon2id alone, on every core, in this process.
	fmt.Fprintf(out, "\n[1] bare argon2id (password.Hasher.Verify) on %d goroutines for %s …\n", ncpu, o.HashFor)
	hb, err := measureHashRate(ctx, now, ncpu, o.HashFor)
	if err != nil {
		return err
	}
	printBound(out, hb, ncpu)
	// The hashes' memory is garbage now; give it back before the server runs.
	runtime.GC()
	debug.FreeOSMemory()

	// 2. The server, as a child process.
	dbURL, engine := "", "SQLite in "+filepath.Join(dir, "data")
	if o.DatabaseURL != "" {
		u, schema, drop, err := createSchema(ctx, o.DatabaseURL)
		if err != nil {
			return err
		}
		defer func() {
			if derr := drop(); derr != nil {
				fmt.Fprintf(out, "warning: drop schema %s: %v\n", schema, derr)
			}
		}()
		dbURL, engine = u, "PostgreSQL, schema "+schema
	}
	fmt.Fprintf(out, "\n[2] starting `twostep serve` (%s) …\n", engine)
	cfgPath := ""
	if !o.SkipForwardAuth {
		if cfgPath, err = writeCheckConfig(dir); err != nil {
			return err
		}
	}
	srv, err := startServer(ctx, now, o.Binary, dir, dbURL, cfgPath)
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.stop()
		}
	}()
	fmt.Fprintf(out, "server pid %d on %s, ready in %.2fs; log %s\n", srv.pid, srv.base, srv.readyIn.Seconds(), srv.logPath)

	lg := newLoadGen(now, srv.base, o.Users)
	lg.pg = dbURL != ""
	defer lg.tr.CloseIdleConnections()

	// 3. Accounts.
	fmt.Fprintf(out, "\n[3] creating %d accounts …\n", o.Users)
	t0 := now()
	if err := lg.signUpAll(ctx, ncpu); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d accounts created in %.2fs\n", o.Users, now().Sub(t0).Seconds())

	// 3b. Forward-auth checks beside /healthz, before any sign-in load, so
	// the server's memory is that of the checks and not what hashing left.
	var checks []checkResult
	if !o.SkipForwardAuth {
		cookies, err := lg.signInAll(ctx)
		if err != nil {
			return err
		}
		// The heap that hashing the sign-ups grew is given back only after
		// a few collections, which need load: a warm-up, not counted.
		wc, wd := slices.Max(o.Levels), min(o.Duration, 2*time.Second)
		fmt.Fprintf(out, "\n[3b] forward-auth warm-up: %d concurrent client(s) for %s, not counted …\n", wc, wd)
		w := lg.runChecks(ctx, srv.pid, wc, wd, cookies)
		fmt.Fprintf(out, "%d checks, %d errors; server RSS %s MiB before, %s MiB after\n", w.fa.ok, w.errors(), mib(w.mem.startRSS), mib(w.mem.endRSS))
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, c := range o.Levels {
			fmt.Fprintf(out, "\n[3b] forward-auth: %d concurrent client(s) for %s, switching with /healthz every %s …\n", c, o.Duration, checkSlice(o.Duration))
			r := lg.runChecks(ctx, srv.pid, c, o.Duration, cookies)
			checks = append(checks, r)
			fmt.Fprintf(out, "%d checks, %.1f/s; /healthz %.1f/s; ratio %s; %d errors\n", r.fa.ok, r.faRate(), r.hzRate(), percent(r.ratio()), r.errors())
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}

	// 4. Concurrency levels.
	var results []levelResult
	for _, c := range o.Levels {
		fmt.Fprintf(out, "\n[4] %d concurrent client(s) for %s …\n", c, o.Duration)
		r := lg.runLevel(ctx, srv.pid, c, o.Duration)
		results = append(results, r)
		fmt.Fprintf(out, "%d sign-ins, %.1f/s, %d errors\n", r.ok, r.rate(), r.errors())
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}

	// 5. Burst.
	var br *burstResult
	if o.Burst > 0 {
		fmt.Fprintf(out, "\n[5] burst: %d sign-ins at once …\n", o.Burst)
		r := lg.runBurst(ctx, srv.pid, o.Burst)
		br = &r
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}

	// 6. Stop the server, so its log is complete, then report.
	stopErr := srv.stop()
	stopped = true
	printReport(out, report{
		engine: engine, ncpu: ncpu, bound: hb, levels: results, burst: br, checks: checks,
		log: scanServerLog(srv.logPath), stopErr: stopErr,
	})
	return nil
}
