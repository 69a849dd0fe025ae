//go:build linux

package loadtest

import (
	"os"
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	status := "Name:\ttwostep\nVmPeak:\t  900000 kB\nVmHWM:\t  230400 kB\nVmRSS:\t  102400 kB\nThreads:\t9\n"
	if rss, hwm := parseStatus(status); rss != 102400 || hwm != 230400 {
		t.Fatalf("parseStatus = %d, %d KiB; want 102400, 230400", rss, hwm)
	}
}

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses: fields count from the last ')'.
	line := []byte("4242 (twostep (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 100 0 0\n")
	if got, want := parseStat(line), 3*time.Second; got != want {
		t.Fatalf("parseStat = %v, want %v (300 ticks)", got, want)
	}
	if got := parseStat([]byte("4242 (short) S 1")); got != -1 {
		t.Fatalf("parseStat of a short line = %v, want -1", got)
	}
	if got := parseStat([]byte("garbage")); got != -1 {
		t.Fatalf("parseStat without a command = %v, want -1", got)
	}
}

func TestParseMachineStat(t *testing.T) {
	busy, iowait, total, ok := parseMachineStat("cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n")
	if !ok || busy != 161 || iowait != 20 || total != 1181 {
		t.Fatalf("parseMachineStat = %d, %d, %d, %v; want 161, 20, 1181, true", busy, iowait, total, ok)
	}
	if _, _, _, ok := parseMachineStat("intr 1 2 3\n"); ok {
		t.Fatal("parseMachineStat accepted a line that is not the cpu total")
	}
}

// The real /proc answers for this process, so the report's memory and CPU
// columns are not "n/a" on Linux.
func TestProcReadsThisProcess(t *testing.T) {
	rss, hwm, err := procMem(os.Getpid())
	if err != nil || rss <= 0 || hwm < rss {
		t.Fatalf("procMem(self) = %d, %d, %v; want 0 < rss ≤ hwm", rss, hwm, err)
	}
	if c := procCPU("self"); c < 0 {
		t.Fatalf("procCPU(self) = %v, want ≥ 0", c)
	}
	if _, _, total, ok := machineCPU(); !ok || total <= 0 {
		t.Fatalf("machineCPU = total %d, ok %v", total, ok)
	}
	if _, _, err := procMem(1 << 30); err == nil {
		t.Fatal("procMem of a pid that cannot exist succeeded")
	}
}
