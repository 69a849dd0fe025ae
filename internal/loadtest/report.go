package loadtest

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"
)

// report is everything the results section shows.
type report struct {
	engine  string
	ncpu    int
	bound   hashBound
	levels  []levelResult
	burst   *burstResult  // nil: no burst
	checks  []checkResult // the forward-auth phase; nil: skipped
	log     serverLog
	stopErr error // from stopping the server
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// mib shows KiB as MiB, or "n/a" for an unknown (negative) size.
func mib(kib int64) string {
	if kib < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", float64(kib)/1024)
}

// percent shows a share, or "n/a" for an unknown (negative) one.
func percent(v float64) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", v)
}

// printBound writes the hashing bound as soon as it is measured.
func printBound(out io.Writer, hb hashBound, ncpu int) {
	fmt.Fprintf(out, "hashing bound: %.1f hashes/s (%d verifies in %.2fs; %.1f ms per hash per goroutine, %.1f ms CPU per hash; CPU: this process %s, other processes %s, iowait %s)\n",
		hb.rate, hb.n, hb.elapsed.Seconds(), ms(hb.perHash), ms(hb.cpuPerHash()), percent(hb.cpu.gen), percent(hb.cpu.others), percent(hb.cpu.iowait))
	if c := hb.cpuPerHash(); c > 0 {
		fmt.Fprintf(out, "CPU-time bound: %.1f hashes/s (%d CPUs ÷ %.1f ms CPU per hash: the bound on this machine if nothing else ran)\n",
			float64(ncpu)/c.Seconds(), ncpu, ms(c))
	}
}

// printReport writes the results section and the warnings.
func printReport(out io.Writer, r report) {
	fmt.Fprintf(out, "\n== results (%s; bound %.1f hashes/s on %d CPUs) ==\n\n", r.engine, r.bound.rate, r.ncpu)
	printLevels(out, r.levels, r.bound, r.ncpu)
	if r.burst != nil {
		fmt.Fprintln(out)
		printBurst(out, *r.burst)
	}
	if len(r.checks) > 0 {
		fmt.Fprintln(out)
		printChecks(out, r.checks)
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "server log: %d × \"database is locked\", %d × SQLITE_BUSY, %d ERROR line(s), %d WARN line(s)\n",
		r.log.locked, r.log.busy, r.log.errors, r.log.warns)
	for _, l := range r.log.samples {
		fmt.Fprintf(out, "  %s\n", l)
	}
	if r.stopErr != nil {
		fmt.Fprintf(out, "server stop: %v\n", r.stopErr)
	} else {
		fmt.Fprintf(out, "server stopped cleanly after SIGTERM\n")
	}
	if w := append(warnings(r.levels, r.burst, r.log, r.bound, r.ncpu), checkWarnings(r.checks)...); len(w) > 0 {
		fmt.Fprintln(out)
		for _, w := range w {
			fmt.Fprintf(out, "WARNING: %s\n", w)
		}
	}
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
	fmt.Fprintf(tw, "  other answers\t%d\t%s\n", r.others(), r.statuses())
	fmt.Fprintf(tw, "  no answer\t%d\t%s\n", r.transport, r.firstErr)
	if len(r.failLat) > 0 {
		fmt.Fprintf(tw, "  time to a refusal\t\tp50 %.1f ms, max %.1f ms\n", ms(pct(r.failLat, .5)), ms(pct(r.failLat, 1)))
	}
	fmt.Fprintf(tw, "  server memory\t\tpeak VmRSS %s MiB (sampled every 100 ms), VmHWM %s MiB\n", mib(r.mem.peakRSS), mib(r.mem.hwm))
	fmt.Fprintf(tw, "  CPU\t\tserver %s, load generator %s, postgres %s, other processes %s, iowait %s (of the whole machine)\n",
		percent(r.mem.cpu.srv), percent(r.mem.cpu.gen), percent(r.mem.cpu.pg), percent(r.mem.cpu.others), percent(r.mem.cpu.iowait))
	tw.Flush()
}

// warnings lists what looks wrong.
func warnings(rs []levelResult, br *burstResult, lg serverLog, hb hashBound, ncpu int) []string {
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
		if other := br.transport + br.others(); other > 0 {
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

// checkTarget is the target: forward-auth checks/s at least this
// share (percent) of /healthz answers/s in the same run.
const checkTarget = 60

func printChecks(out io.Writer, rs []checkResult) {
	fmt.Fprintf(out, "Forward-auth: GET %s as Caddy/Traefik ask it (X-Forwarded-Method GET, -Proto https, -Host %s, -Uri %s; one_factor rule) with a signed-in account's session cookie, client i → account i mod users\n", checkPath, checkHost, checkURI)
	fmt.Fprintf(out, "  beside GET /healthz in the same run: all clients switch between the two every %s, each endpoint gets half the time; a check counts when 200 with Remote-User, /healthz when 200\n", rs[0].slice)
	fmt.Fprintf(out, "  ratio: checks/s ÷ /healthz/s (target ≥ %d%%); latencies of counted answers; RSS start/end: the server's RSS when the level began/ended; CPU columns as above, over both endpoints\n", checkTarget)
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "clients\tchecks\tchecks/s\thealthz\thealthz/s\tratio\tp50 ms\tp99 ms\tmax ms\thealthz p50\thealthz p99\terrors\tRSS start MiB\tpeak RSS MiB\tVmHWM MiB\tRSS end MiB\tCPU server\tloadgen\tpostgres\tothers\tiowait\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%d\t%d\t%.1f\t%d\t%.1f\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			r.conc, r.fa.ok, r.faRate(), r.hz.ok, r.hzRate(), percent(r.ratio()),
			ms(pct(r.fa.lat, .50)), ms(pct(r.fa.lat, .99)), ms(pct(r.fa.lat, 1)), ms(pct(r.hz.lat, .50)), ms(pct(r.hz.lat, .99)),
			r.errors(), mib(r.mem.startRSS), mib(r.mem.peakRSS), mib(r.mem.hwm), mib(r.mem.endRSS),
			percent(r.mem.cpu.srv), percent(r.mem.cpu.gen), percent(r.mem.cpu.pg), percent(r.mem.cpu.others), percent(r.mem.cpu.iowait))
	}
	tw.Flush()
	fmt.Fprintln(out)
	for _, r := range rs {
		fmt.Fprintf(out, "  forward-auth, clients %d: checks %s; /healthz %s; in %.2fs", r.conc, r.fa.statuses(), r.hz.statuses(), r.elapsed.Seconds())
		if e := cmp.Or(r.fa.firstErr, r.hz.firstErr); e != "" {
			fmt.Fprintf(out, "; first transport error: %s", e)
		}
		fmt.Fprintln(out)
	}
}

// checkWarnings lists what looks wrong in the forward-auth phase.
func checkWarnings(rs []checkResult) []string {
	var w []string
	const rssLimitKiB = 256 << 10
	const noisy = 10
	for _, r := range rs {
		if n := r.fa.errors(); n > 0 {
			w = append(w, fmt.Sprintf("forward-auth, %d clients: %d failed checks (%s)", r.conc, n, r.fa.statuses()))
		}
		if n := r.hz.errors(); n > 0 {
			w = append(w, fmt.Sprintf("forward-auth, %d clients: %d failed /healthz (%s)", r.conc, n, r.hz.statuses()))
		}
		if q := r.ratio(); q >= 0 && q < checkTarget {
			w = append(w, fmt.Sprintf("forward-auth, %d clients: %.1f checks/s is %.0f%% of /healthz (%.1f/s), below the %d%% target", r.conc, r.faRate(), q, r.hzRate(), checkTarget))
		}
		if r.mem.cpu.others > noisy {
			w = append(w, fmt.Sprintf("forward-auth, %d clients: other processes used %.0f%% of the machine: figures are disturbed", r.conc, r.mem.cpu.others))
		}
		if max(r.mem.peakRSS, r.mem.hwm) > rssLimitKiB {
			w = append(w, fmt.Sprintf("forward-auth, %d clients: server RSS peaked at %s MiB, above 256 MiB", r.conc, mib(max(r.mem.peakRSS, r.mem.hwm))))
		}
	}
	return w
}
