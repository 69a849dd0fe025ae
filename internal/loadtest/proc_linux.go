//go:build linux

package loadtest

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"
)

// procMem returns VmRSS and VmHWM of pid in KiB.
func procMem(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	rss, hwm = parseStatus(string(b))
	return rss, hwm, nil
}

// parseStatus reads VmRSS and VmHWM in KiB from a /proc/PID/status text.
func parseStatus(status string) (rss, hwm int64) {
	for _, line := range strings.Split(status, "\n") {
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
	return rss, hwm
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
	return parseStat(b)
}

// parseStat returns utime+stime from a /proc/PID/stat line, or -1.
func parseStat(b []byte) time.Duration {
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
	return parseMachineStat(string(b))
}

// parseMachineStat reads the first ("cpu") line of /proc/stat.
func parseMachineStat(stat string) (busy, iowait, total int64, ok bool) {
	line, _, _ := strings.Cut(stat, "\n")
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
