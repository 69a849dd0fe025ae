package main

// twostep bench: how many sign-ins per second a twostep on this machine
// serves, how close that is to what argon2id alone allows, how long they
// take, and how much memory the server needs, also under a burst.
//
// The server under test is this binary run as a child process (`serve`),
// on a fresh SQLite database in a temporary directory or on a fresh schema
// of a given PostgreSQL database, at the default settings (TWOSTEP_*
// variables of the caller are not passed on, so the figures are those of an
// unconfigured server). Only the sign-up budget per address is raised,
// because every account is created from 127.0.0.1.

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL, to create and drop the bench schema

	"twostep/internal/config"
	"twostep/internal/password"
)

// benchMaxUsers is the sign-up budget the child gets per address (all
// accounts are created from 127.0.0.1).
const benchMaxUsers = 1000

// benchOptions are the flags of `twostep bench`.
type benchOptions struct {
	duration time.Duration
	levels   []int
	dbURL    string
	burst    int
	users    int
	hashFor  time.Duration
	keep     bool
}

func bench(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o benchOptions
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each concurrency level runs")
	levels := fs.String("levels", "1,4,16", "comma-separated numbers of concurrent clients, one run each")
	fs.StringVar(&o.dbURL, "database-url", "", "PostgreSQL URL to run on, in a fresh schema bench_<random> dropped afterwards (default: a fresh SQLite database in a temporary directory)")
	fs.IntVar(&o.burst, "burst", 500, "concurrent sign-ins fired at once for the memory test (0: no burst)")
	fs.IntVar(&o.users, "users", 16, fmt.Sprintf("accounts to create and sign in to (1–%d)", benchMaxUsers))
	fs.DurationVar(&o.hashFor, "hash-duration", 3*time.Second, "how long to measure the bare argon2id hash rate")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (server log, SQLite database) and print its path")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: twostep bench [flags]\n\n"+
			"Measures the bare argon2id hash rate, then starts `twostep serve` as a child\n"+
			"process at the default settings, creates accounts and signs in to them over\n"+
			"HTTP at each concurrency level, fires a burst of concurrent sign-ins, and\n"+
			"reports throughput, latency, errors and the server's memory.\n\nFlags:\n")
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
	for _, s := range strings.Split(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("bench: --levels: %q is not a positive whole number", s)
		}
		o.levels = append(o.levels, n)
	}
	switch {
	case o.duration <= 0:
		return errors.New("bench: --duration must be positive")
	case o.hashFor <= 0:
		return errors.New("bench: --hash-duration must be positive")
	case o.users < 1 || o.users > benchMaxUsers:
		return fmt.Errorf("bench: --users must be between 1 and %d", benchMaxUsers)
	case o.burst < 0:
		return errors.New("bench: --burst must not be negative")
	case o.dbURL != "" && !config.IsPostgres(o.dbURL):
		return errors.New("bench: --database-url must be a postgres:// or postgresql:// URL (leave it empty for a fresh SQLite database)")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runBench(ctx, o, stdout)
}

func runBench(ctx context.Context, o benchOptions, out io.Writer) (err error) {
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
		if o.keep {
			fmt.Fprintf(out, "kept %s\n", dir)
			return
		}
		os.RemoveAll(dir)
	}()

	// 1. The bound: argon2id alone, on every core, in this process.
	fmt.Fprintf(out, "\n[1] bare argon2id (password.Hasher.Verify) on %d goroutines for %s …\n", ncpu, o.hashFor)
	hb, err := measureHashRate(ctx, ncpu, o.hashFor)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "hashing bound: %.1f hashes/s (%d verifies in %.2fs; %.1f ms per hash per goroutine, %.1f ms CPU per hash; CPU: this process %s, other processes %s, iowait %s)\n",
		hb.rate, hb.n, hb.elapsed.Seconds(), ms(hb.perHash), ms(hb.cpuPerHash()), percent(hb.cpu.gen), percent(hb.cpu.others), percent(hb.cpu.iowait))
	if c := hb.cpuPerHash(); c > 0 {
		fmt.Fprintf(out, "CPU-time bound: %.1f hashes/s (%d CPUs ÷ %.1f ms CPU per hash: the bound on this machine if nothing else ran)\n",
			float64(ncpu)/c.Seconds(), ncpu, ms(c))
	}
	// The hashes' memory is garbage now; give it back before the server runs.
	runtime.GC()
	debug.FreeOSMemory()

	// 2. The server, as a child process.
	dbURL, engine := "", "SQLite in "+filepath.Join(dir, "data")
	if o.dbURL != "" {
		u, schema, drop, err := benchSchema(ctx, o.dbURL)
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
	srv, err := startBenchServer(ctx, dir, dbURL)
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

	lg := newLoadGen(srv.base, o.users)
	lg.pg = dbURL != ""
	defer lg.tr.CloseIdleConnections()

	// 3. Accounts.
	fmt.Fprintf(out, "\n[3] creating %d accounts …\n", o.users)
	t0 := time.Now()
	if err := lg.signUpAll(ctx, ncpu); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d accounts created in %.2fs\n", o.users, time.Since(t0).Seconds())

	// 4. Concurrency levels.
	var results []levelResult
	for _, c := range o.levels {
		fmt.Fprintf(out, "\n[4] %d concurrent client(s) for %s …\n", c, o.duration)
		r := lg.runLevel(ctx, srv.pid, c, o.duration)
		results = append(results, r)
		fmt.Fprintf(out, "%d sign-ins, %.1f/s, %d errors\n", r.ok, r.rate(), r.errors())
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}

	// 5. Burst.
	var br *burstResult
	if o.burst > 0 {
		fmt.Fprintf(out, "\n[5] burst: %d sign-ins at once …\n", o.burst)
		r := lg.runBurst(ctx, srv.pid, o.burst)
		br = &r
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}

	// 6. Stop the server, so its log is complete, then report.
	stopErr := srv.stop()
	stopped = true
	logStats := scanServerLog(srv.logPath)

	fmt.Fprintf(out, "\n== results (%s; bound %.1f hashes/s on %d CPUs) ==\n\n", engine, hb.rate, ncpu)
	printLevels(out, results, hb, ncpu)
	if br != nil {
		fmt.Fprintln(out)
		printBurst(out, *br)
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "server log: %d × \"database is locked\", %d × SQLITE_BUSY, %d ERROR line(s), %d WARN line(s)\n",
		logStats.locked, logStats.busy, logStats.errors, logStats.warns)
	for _, l := range logStats.samples {
		fmt.Fprintf(out, "  %s\n", l)
	}
	if stopErr != nil {
		fmt.Fprintf(out, "server stop: %v\n", stopErr)
	} else {
		fmt.Fprintf(out, "server stopped cleanly after SIGTERM\n")
	}

	warnings := benchWarnings(results, br, logStats, hb, ncpu)
	if len(warnings) > 0 {
		fmt.Fprintln(out)
		for _, w := range warnings {
			fmt.Fprintf(out, "WARNING: %s\n", w)
		}
	}
	return nil
}

// ---- the hashing bound ----

type hashBound struct {
	rate    float64 // verifies per second over all goroutines
	n       int64
	elapsed time.Duration
	perHash time.Duration // mean time of one verify on a busy machine
	cpu     cpuUse        // of the machine meanwhile (gen: this process)
}

// cpuPerHash is this process's CPU time per verify while measuring (GC
// included), or 0 if unknown.
func (hb hashBound) cpuPerHash() time.Duration {
	if hb.cpu.genTime <= 0 || hb.n == 0 {
		return 0
	}
	return hb.cpu.genTime / time.Duration(hb.n)
}

// measureHashRate runs workers goroutines that verify a default-parameter
// hash for about d, and returns the rate over the time until the last one
// finished.
func measureHashRate(ctx context.Context, workers int, d time.Duration) (hashBound, error) {
	const pw = "bench-bound-passphrase-42"
	h := password.NewHasher(password.DefaultParams(), workers, time.Minute)
	enc, err := h.Hash(ctx, pw)
	if err != nil {
		return hashBound{}, err
	}
	var n, busy atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	cw := startCPUWatch(0, false)
	start := time.Now()
	deadline := start.Add(d)
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t := time.Now()
				ok, _, err := h.Verify(ctx, pw, enc)
				if err != nil || !ok {
					e := fmt.Errorf("verify = %v, %v", ok, err)
					failed.CompareAndSwap(nil, &e)
					return
				}
				busy.Add(int64(time.Since(t)))
				n.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	use := cw.stop()
	if err := ctx.Err(); err != nil {
		return hashBound{}, err
	}
	if e := failed.Load(); e != nil {
		return hashBound{}, fmt.Errorf("bench: argon2id baseline: %w", *e)
	}
	return hashBound{
		rate: float64(n.Load()) / elapsed.Seconds(), n: n.Load(), elapsed: elapsed,
		perHash: time.Duration(busy.Load() / max(n.Load(), 1)), cpu: use,
	}, nil
}

// ---- PostgreSQL schema ----

// benchSchema creates schema bench_<random> in the database at base and
// returns a URL whose search_path is that schema, and a func dropping it.
func benchSchema(ctx context.Context, base string) (dbURL, schema string, drop func() error, err error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", "", nil, fmt.Errorf("bench: --database-url: %w", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema = "bench_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", "", nil, fmt.Errorf("bench: postgres: %w", err)
	}
	defer admin.Close()
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(cctx, "CREATE SCHEMA "+schema); err != nil {
		return "", "", nil, fmt.Errorf("bench: postgres: create schema: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop = func() error {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return err
		}
		defer db.Close()
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err = db.ExecContext(dctx, "DROP SCHEMA "+schema+" CASCADE")
		return err
	}
	return u.String(), schema, drop, nil
}

// ---- the child server ----

type benchServer struct {
	cmd     *exec.Cmd
	pid     int
	base    string
	logPath string
	logFile *os.File
	readyIn time.Duration
	done    chan struct{} // closed when the child has exited
	waitErr error
}

// startBenchServer runs this binary's `serve` on a free loopback port with
// its data in dir/data and its output in dir/server.log, and waits until
// /readyz answers 200.
func startBenchServer(ctx context.Context, dir, dbURL string) (*benchServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: find own binary: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "serve", "--addr", addr, "--data-dir", filepath.Join(dir, "data"))
	// The caller's TWOSTEP_* settings are not passed on: the server runs at
	// the defaults, but for the sign-up budget (all sign-ups come from one
	// address) and the database.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TWOSTEP_") {
			env = append(env, kv)
		}
	}
	env = append(env, "TWOSTEP_LIMITS_SIGNUP_PER_ADDRESS_LIMIT="+strconv.Itoa(benchMaxUsers))
	if dbURL != "" {
		env = append(env, "TWOSTEP_DATABASE_URL="+dbURL)
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("bench: start server: %w", err)
	}
	s := &benchServer{cmd: cmd, pid: cmd.Process.Pid, base: "http://" + addr, logPath: logPath, logFile: logFile, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()

	start := time.Now()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	for {
		resp, err := c.Get(s.base + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.readyIn = time.Since(start)
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("bench: server exited before it was ready (%v); its log:\n%s", s.waitErr, tailFile(logPath, 4096))
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Since(start) > time.Minute {
			s.stop()
			return nil, fmt.Errorf("bench: server not ready after a minute; its log:\n%s", tailFile(logPath, 4096))
		}
	}
}

// stop sends SIGTERM and waits for the child to exit (killing it if it has
// not after 30 s). It returns the child's exit error, if any.
func (s *benchServer) stop() error {
	defer s.logFile.Close()
	select {
	case <-s.done:
		return fmt.Errorf("server had exited already: %v", s.waitErr)
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("SIGTERM: %w", err)
	}
	select {
	case <-s.done:
		return s.waitErr
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		return errors.New("server did not exit within 30s of SIGTERM; killed")
	}
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("bench: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func tailFile(path string, n int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	return string(b)
}

// ---- /proc: the child's memory and CPU ----

// procMem returns VmRSS and VmHWM of pid in KiB (Linux; errors elsewhere).
func procMem(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if k == "VmRSS" {
			rss = n
		} else {
			hwm = n
		}
	}
	return rss, hwm, nil
}

// resetHWM resets pid's VmHWM to its current RSS (Linux ≥ 4.0), so that
// each phase reports its own peak. It reports whether that worked.
func resetHWM(pid int) bool {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0) == nil
}

// procCPU returns the user+system CPU time of pid ("self" for this
// process) from /proc, or -1 where there is none.
func procCPU(pid string) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return -1
	}
	// Fields after the command name in parentheses; utime and stime are
	// fields 14 and 15 of the whole line, in clock ticks (USER_HZ, 100).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(u+s) * (time.Second / 100)
}

// postgresCPU sums the CPU time of every process named postgres on this
// machine (all of PostgreSQL's backends, whoever they serve), or -1.
func postgresCPU() time.Duration {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return -1
	}
	var sum time.Duration
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil || !bytes.Contains(b, []byte(" (postgres) ")) {
			continue
		}
		if c := procCPU(e.Name()); c > 0 {
			sum += c
		}
	}
	return sum
}

// machineCPU returns the whole machine's busy (including steal), iowait
// and total CPU ticks from /proc/stat, or ok false where there is none.
func machineCPU() (busy, iowait, total int64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, 0, false
	}
	var v [8]int64
	for i := range v {
		v[i], _ = strconv.ParseInt(f[i+1], 10, 64)
	}
	// user nice system idle iowait irq softirq steal
	busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
	return busy, v[4], busy + v[3] + v[4], true
}

// cpuWatch measures, over a phase, the CPU used by the server, by this
// process and by everything else on the machine, in percent of all CPUs.
type cpuWatch struct {
	pid                 int // 0: no server
	pg                  bool
	srv0, self0, pg0    time.Duration
	busy0, iow0, total0 int64
	machineOK           bool
	start               time.Time
}

type cpuUse struct {
	srv, gen, pg, others, iowait float64       // percent of the machine; -1: unknown
	srvTime, genTime             time.Duration // CPU time used; -1: unknown
}

// startCPUWatch starts measuring; pid is the server's (0: none), and pg
// counts PostgreSQL's processes apart.
func startCPUWatch(pid int, pg bool) *cpuWatch {
	w := &cpuWatch{pid: pid, srv0: -1, pg: pg, start: time.Now()}
	if w.pg {
		w.pg0 = postgresCPU()
	}
	if pid > 0 {
		w.srv0 = procCPU(strconv.Itoa(pid))
	}
	w.self0 = procCPU("self")
	w.busy0, w.iow0, w.total0, w.machineOK = machineCPU()
	return w
}

func (w *cpuWatch) stop() cpuUse {
	u := cpuUse{srv: -1, gen: -1, pg: -1, others: -1, iowait: -1, srvTime: -1, genTime: -1}
	wall := time.Since(w.start).Seconds() * float64(runtime.NumCPU())
	srv := time.Duration(0)
	if w.pid > 0 {
		if c := procCPU(strconv.Itoa(w.pid)); c >= 0 && w.srv0 >= 0 {
			srv = c - w.srv0
			u.srv, u.srvTime = 100*srv.Seconds()/wall, srv
		}
	}
	if c := procCPU("self"); c >= 0 && w.self0 >= 0 {
		u.gen, u.genTime = 100*(c-w.self0).Seconds()/wall, c-w.self0
	}
	if w.pg {
		if c := postgresCPU(); c >= 0 && w.pg0 >= 0 {
			u.pg = 100 * (c - w.pg0).Seconds() / wall
		}
	}
	if busy, iow, total, ok := machineCPU(); ok && w.machineOK && total > w.total0 && u.gen >= 0 {
		dt := float64(total - w.total0)
		u.others = max(0, 100*float64(busy-w.busy0)/dt-u.gen-max(u.srv, 0)-max(u.pg, 0))
		u.iowait = 100 * float64(iow-w.iow0) / dt
	}
	return u
}

// memSampler records the child's peak VmRSS every 100 ms, and its CPU.
type memSampler struct {
	pid    int
	peak   atomic.Int64 // KiB
	stopc  chan struct{}
	done   chan struct{}
	hwmOK  bool
	cpu    *cpuWatch
	failed atomic.Bool
}

func startSampler(pid int, pg bool) *memSampler {
	m := &memSampler{pid: pid, stopc: make(chan struct{}), done: make(chan struct{})}
	m.hwmOK = resetHWM(pid)
	m.cpu = startCPUWatch(pid, pg)
	m.sample()
	go func() {
		defer close(m.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-m.stopc:
				return
			case <-t.C:
				m.sample()
			}
		}
	}()
	return m
}

func (m *memSampler) sample() {
	rss, _, err := procMem(m.pid)
	if err != nil {
		m.failed.Store(true)
		return
	}
	for {
		p := m.peak.Load()
		if rss <= p || m.peak.CompareAndSwap(p, rss) {
			return
		}
	}
}

// memStats is what a sampler saw: peaks in KiB (-1: unknown) and CPU use.
type memStats struct {
	peakRSS, hwm int64
	hwmPhase     bool // hwm is this phase's own (clear_refs worked)
	cpu          cpuUse
}

func (m *memSampler) stop() memStats {
	m.sample()
	close(m.stopc)
	<-m.done
	st := memStats{peakRSS: m.peak.Load(), hwm: -1, hwmPhase: m.hwmOK, cpu: m.cpu.stop()}
	if m.failed.Load() && st.peakRSS == 0 {
		st.peakRSS = -1
	}
	if _, hwm, err := procMem(m.pid); err == nil {
		st.hwm = hwm
	}
	return st
}

// ---- load generation ----

// loadGen signs in over one shared transport, without cookies, so every
// sign-in is a new browser's and each takes one argon2id verify.
type loadGen struct {
	base  string
	tr    *http.Transport
	c     *http.Client
	users int
	pg    bool // the server runs on PostgreSQL (count its CPU apart)
	// bodies[i] is the JSON body that signs in to account i.
	bodies [][]byte
}

func newLoadGen(base string, users int) *loadGen {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0, // no limit over all hosts
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	lg := &loadGen{base: base, tr: tr, c: &http.Client{Transport: tr, Timeout: 2 * time.Minute}, users: users}
	for i := range users {
		lg.bodies = append(lg.bodies, fmt.Appendf(nil, `{"email":"bench-%d@example.com","password":"bench-%d-correct-horse-battery"}`, i, i))
	}
	return lg
}

// post sends body to path and drains the answer.
func (lg *loadGen) post(ctx context.Context, path string, body []byte) (status int, h http.Header, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, lg.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := lg.c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

// signedIn reports whether the answer set the session cookie.
func signedIn(h http.Header) bool {
	for _, c := range h.Values("Set-Cookie") {
		if strings.HasPrefix(c, "twostep_session=") || strings.HasPrefix(c, "__Host-twostep_session=") {
			return true
		}
	}
	return false
}

// signUpAll creates the accounts, workers at a time.
func (lg *loadGen) signUpAll(ctx context.Context, workers int) error {
	var next atomic.Int64
	errs := make([]error, lg.users)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= lg.users || ctx.Err() != nil {
					return
				}
				status, _, err := lg.post(ctx, "/api/v1/signup", lg.bodies[i])
				if err == nil && status != http.StatusCreated {
					err = fmt.Errorf("status %d", status)
				}
				if err != nil {
					errs[i] = fmt.Errorf("bench: sign up bench-%d@example.com: %w", i, err)
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// outcome counts what the answers were.
type outcome struct {
	ok         int
	status     map[int]int // non-200 answers, and 200s without a session cookie as status 0
	retryAfter int         // 503s that carried Retry-After
	transport  int         // requests that got no answer
	firstErr   string
	lat        []time.Duration // of 200s with a session cookie
	failLat    []time.Duration // of everything else that was answered
}

func (o *outcome) add(status int, h http.Header, err error, d time.Duration) {
	switch {
	case err != nil:
		o.transport++
		if o.firstErr == "" {
			o.firstErr = err.Error()
		}
		return
	case status == http.StatusOK && signedIn(h):
		o.ok++
		o.lat = append(o.lat, d)
		return
	case status == http.StatusOK:
		status = 0
	case status == http.StatusServiceUnavailable && h.Get("Retry-After") != "":
		o.retryAfter++
	}
	if o.status == nil {
		o.status = map[int]int{}
	}
	o.status[status]++
	o.failLat = append(o.failLat, d)
}

func (o *outcome) merge(p *outcome) {
	o.ok += p.ok
	o.retryAfter += p.retryAfter
	o.transport += p.transport
	if o.firstErr == "" {
		o.firstErr = p.firstErr
	}
	for k, v := range p.status {
		if o.status == nil {
			o.status = map[int]int{}
		}
		o.status[k] += v
	}
	o.lat = append(o.lat, p.lat...)
	o.failLat = append(o.failLat, p.failLat...)
}

func (o *outcome) errors() int {
	n := o.transport
	for _, v := range o.status {
		n += v
	}
	return n
}

// statuses lists the answers like "200×812 503×3".
func (o *outcome) statuses() string {
	parts := []string{fmt.Sprintf("200×%d", o.ok)}
	keys := make([]int, 0, len(o.status))
	for k := range o.status {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		name := strconv.Itoa(k)
		if k == 0 {
			name = "200-no-cookie"
		}
		parts = append(parts, fmt.Sprintf("%s×%d", name, o.status[k]))
	}
	if o.transport > 0 {
		parts = append(parts, fmt.Sprintf("no-answer×%d", o.transport))
	}
	return strings.Join(parts, " ")
}

type levelResult struct {
	outcome
	conc    int
	elapsed time.Duration
	mem     memStats
}

func (r levelResult) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// runLevel runs c clients, each signing in to account i%users over and
// over for d, and samples the server's memory meanwhile.
func (lg *loadGen) runLevel(ctx context.Context, pid, c int, d time.Duration) levelResult {
	per := make([]outcome, c)
	// Room for a sign-in every 5 ms per client, so the loop rarely grows it.
	capacity := int(d/(5*time.Millisecond))/c + 16
	for i := range per {
		per[i].lat = make([]time.Duration, 0, capacity)
	}
	runtime.GC() // start from a clean heap, outside the measured time
	smp := startSampler(pid, lg.pg)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range c {
		wg.Go(func() {
			o, body := &per[i], lg.bodies[i%lg.users]
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t := time.Now()
				status, h, err := lg.post(ctx, "/api/v1/signin", body)
				o.add(status, h, err, time.Since(t))
			}
		})
	}
	wg.Wait()
	r := levelResult{conc: c, elapsed: time.Since(start)}
	r.mem = smp.stop()
	for i := range per {
		r.merge(&per[i])
	}
	slices.Sort(r.lat)
	slices.Sort(r.failLat)
	return r
}

type burstResult struct {
	outcome
	n       int
	elapsed time.Duration // until the last answer
	mem     memStats
}

// runBurst fires n sign-ins at the same moment: every goroutine has its
// request built and waits on one channel.
func (lg *loadGen) runBurst(ctx context.Context, pid, n int) burstResult {
	per := make([]outcome, n)
	start := make(chan struct{})
	var ready, wg sync.WaitGroup
	for i := range n {
		ready.Add(1)
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, lg.base+"/api/v1/signin", bytes.NewReader(lg.bodies[i%lg.users]))
			if err != nil {
				ready.Done()
				per[i].add(0, nil, err, 0)
				return
			}
			req.Header.Set("Content-Type", "application/json")
			ready.Done()
			<-start
			t := time.Now()
			resp, err := lg.c.Do(req)
			if err != nil {
				per[i].add(0, nil, err, time.Since(t))
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			per[i].add(resp.StatusCode, resp.Header, nil, time.Since(t))
		})
	}
	ready.Wait()
	runtime.GC()
	smp := startSampler(pid, lg.pg)
	t0 := time.Now()
	close(start)
	wg.Wait()
	r := burstResult{n: n, elapsed: time.Since(t0)}
	r.mem = smp.stop()
	for i := range per {
		r.merge(&per[i])
	}
	slices.Sort(r.lat)
	slices.Sort(r.failLat)
	return r
}

// ---- the server log ----

type serverLog struct {
	locked, busy, errors, warns int
	samples                     []string // a few distinct ERROR/WARN lines
}

func scanServerLog(path string) serverLog {
	var s serverLog
	b, err := os.ReadFile(path)
	if err != nil {
		s.samples = append(s.samples, "cannot read the server log: "+err.Error())
		return s
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		s.locked += strings.Count(line, "database is locked")
		s.busy += strings.Count(line, "SQLITE_BUSY")
		isErr, isWarn := strings.Contains(line, "level=ERROR"), strings.Contains(line, "level=WARN")
		if isErr {
			s.errors++
		}
		if isWarn {
			s.warns++
		}
		if (isErr || isWarn || strings.Contains(line, "database is locked")) && len(s.samples) < 5 {
			// Distinct by message, not by time.
			key := line
			if i := strings.Index(line, "msg="); i >= 0 {
				key = line[i:]
			}
			if len(key) > 120 {
				key = key[:120]
			}
			if !seen[key] {
				seen[key] = true
				if len(line) > 300 {
					line = line[:300] + "…"
				}
				s.samples = append(s.samples, line)
			}
		}
	}
	return s
}

// ---- report ----

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// pct is the nearest-rank p-quantile of sorted (0 if empty).
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func mib(kib int64) string {
	if kib < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", float64(kib)/1024)
}

func percent(v float64) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", v)
}

func printLevels(out io.Writer, rs []levelResult, hb hashBound, ncpu int) {
	if len(rs) == 0 {
		return
	}
	bound := hb.rate
	fmt.Fprintln(out, "Sign-in load: POST /api/v1/signin without cookies, client i → account i mod users; latency of successful (200 + session cookie) sign-ins")
	fmt.Fprintln(out, "  % bound: sign-ins/s ÷ hashing bound; % bound(c): ÷ the bound for min(c, CPUs) cores, what c sequential clients could reach")
	fmt.Fprintln(out, "  CPU columns: share of the whole machine used by the server, this load generator, all postgres processes (n/a on SQLite), other processes (noise), and iowait")
	fmt.Fprintf(out, "  CPU ms/sign-in: server CPU time per successful sign-in; argon2 share: CPU per bare hash (%.1f ms) ÷ that — unlike %% bound, not skewed by other processes\n", ms(hb.cpuPerHash()))
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "clients\tsign-ins\tsign-ins/s\t% bound\t% bound(c)\tp50 ms\tp99 ms\tmax ms\terrors\tpeak RSS MiB\tVmHWM MiB\tCPU server\tloadgen\tpostgres\tothers\tiowait\tCPU ms/sign-in\targon2 share\t")
	for _, r := range rs {
		cb := bound * float64(min(r.conc, ncpu)) / float64(ncpu)
		perOp, share := "n/a", "n/a"
		if r.mem.cpu.srvTime >= 0 && r.ok > 0 {
			op := r.mem.cpu.srvTime / time.Duration(r.ok)
			perOp = fmt.Sprintf("%.1f", ms(op))
			if hb.cpuPerHash() > 0 && op > 0 {
				share = fmt.Sprintf("%.0f%%", 100*float64(hb.cpuPerHash())/float64(op))
			}
		}
		fmt.Fprintf(tw, "%d\t%d\t%.1f\t%.0f%%\t%.0f%%\t%.1f\t%.1f\t%.1f\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			r.conc, r.ok, r.rate(), 100*r.rate()/bound, 100*r.rate()/cb,
			ms(pct(r.lat, .50)), ms(pct(r.lat, .99)), ms(pct(r.lat, 1)),
			r.errors(), mib(r.mem.peakRSS), mib(r.mem.hwm),
			percent(r.mem.cpu.srv), percent(r.mem.cpu.gen), percent(r.mem.cpu.pg), percent(r.mem.cpu.others), percent(r.mem.cpu.iowait), perOp, share)
	}
	tw.Flush()
	fmt.Fprintln(out)
	for _, r := range rs {
		fmt.Fprintf(out, "  clients %d: %s in %.2fs", r.conc, r.statuses(), r.elapsed.Seconds())
		if r.firstErr != "" {
			fmt.Fprintf(out, "; first transport error: %s", r.firstErr)
		}
		fmt.Fprintln(out)
	}
	if !rs[0].mem.hwmPhase {
		fmt.Fprintln(out, "  (VmHWM could not be reset between phases: it is the server's peak since it started)")
	}
}

func printBurst(out io.Writer, r burstResult) {
	fmt.Fprintf(out, "Burst: %d sign-ins released at once, all answered in %.2fs\n", r.n, r.elapsed.Seconds())
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  200 signed in\t%d\tp50 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.ok, ms(pct(r.lat, .5)), ms(pct(r.lat, .99)), ms(pct(r.lat, 1)))
	busy := r.status[http.StatusServiceUnavailable]
	fmt.Fprintf(tw, "  503 busy\t%d\t%d with Retry-After\n", busy, r.retryAfter)
	other := 0
	for k, v := range r.status {
		if k != http.StatusServiceUnavailable {
			other += v
		}
	}
	fmt.Fprintf(tw, "  other answers\t%d\t%s\n", other, r.statuses())
	fmt.Fprintf(tw, "  no answer\t%d\t%s\n", r.transport, r.firstErr)
	if len(r.failLat) > 0 {
		fmt.Fprintf(tw, "  time to a refusal\t\tp50 %.1f ms, max %.1f ms\n", ms(pct(r.failLat, .5)), ms(pct(r.failLat, 1)))
	}
	fmt.Fprintf(tw, "  server memory\t\tpeak VmRSS %s MiB (sampled every 100 ms), VmHWM %s MiB\n", mib(r.mem.peakRSS), mib(r.mem.hwm))
	fmt.Fprintf(tw, "  CPU\t\tserver %s, load generator %s, postgres %s, other processes %s, iowait %s (of the whole machine)\n",
		percent(r.mem.cpu.srv), percent(r.mem.cpu.gen), percent(r.mem.cpu.pg), percent(r.mem.cpu.others), percent(r.mem.cpu.iowait))
	tw.Flush()
}

// benchWarnings lists what looks wrong.
func benchWarnings(rs []levelResult, br *burstResult, lg serverLog, hb hashBound, ncpu int) []string {
	var w []string
	const rssLimitKiB = 256 << 10
	const noisy = 10 // percent of the machine used by other processes
	bound := hb.rate
	if hb.cpu.others > noisy {
		w = append(w, fmt.Sprintf("other processes used %.0f%% of the machine while the hashing bound was measured: the bound is too low", hb.cpu.others))
	}
	for _, r := range rs {
		cb := bound * float64(min(r.conc, ncpu)) / float64(ncpu)
		if n := r.errors(); n > 0 {
			w = append(w, fmt.Sprintf("%d clients: %d failed sign-ins (%s)", r.conc, n, r.statuses()))
		}
		if r.rate() < 0.9*cb {
			w = append(w, fmt.Sprintf("%d clients: %.1f sign-ins/s is %.0f%% of the bound for %d core(s) (%.1f/s), below 90%%",
				r.conc, r.rate(), 100*r.rate()/cb, min(r.conc, ncpu), cb))
		}
		if r.mem.cpu.others > noisy {
			w = append(w, fmt.Sprintf("%d clients: other processes used %.0f%% of the machine: figures are disturbed", r.conc, r.mem.cpu.others))
		}
		if max(r.mem.peakRSS, r.mem.hwm) > rssLimitKiB {
			w = append(w, fmt.Sprintf("%d clients: server RSS peaked at %s MiB, above 256 MiB", r.conc, mib(max(r.mem.peakRSS, r.mem.hwm))))
		}
	}
	if br != nil {
		if max(br.mem.peakRSS, br.mem.hwm) > rssLimitKiB {
			w = append(w, fmt.Sprintf("burst: server RSS peaked at %s MiB, above 256 MiB", mib(max(br.mem.peakRSS, br.mem.hwm))))
		}
		other := br.transport
		for k, v := range br.status {
			if k != http.StatusServiceUnavailable {
				other += v
			}
		}
		if other > 0 {
			w = append(w, fmt.Sprintf("burst: %d answers neither 200 nor 503 (%s)", other, br.statuses()))
		}
		if busy := br.status[http.StatusServiceUnavailable]; busy != br.retryAfter {
			w = append(w, fmt.Sprintf("burst: %d of %d 503s without Retry-After", busy-br.retryAfter, busy))
		}
	}
	if lg.locked > 0 || lg.busy > 0 {
		w = append(w, fmt.Sprintf("server log: %d × \"database is locked\", %d × SQLITE_BUSY", lg.locked, lg.busy))
	}
	if lg.errors > 0 {
		w = append(w, fmt.Sprintf("server log: %d ERROR line(s)", lg.errors))
	}
	return w
}
