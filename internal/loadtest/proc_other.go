//go:build !linux

package loadtest

import (
	"errors"
	"time"
)

// Without /proc the server's memory and CPU are unknown: the report shows
// "n/a" in those columns, and the sign-in figures stand on their own.

var errNoProc = errors.New("no /proc on this system")

func procMem(pid int) (rss, hwm int64, err error) { return 0, 0, errNoProc }

func resetHWM(pid int) bool { return false }

func procCPU(pid string) time.Duration { return -1 }

func postgresCPU() time.Duration { return -1 }

func machineCPU() (busy, iowait, total int64, ok bool) { return 0, 0, 0, false }
