package loadtest

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
)

// cpuWatch measures, over a phase, the CPU used by the server, by this
// process and by everything else on the machine, in percent of all CPUs.
type cpuWatch struct {
	now                 func() time.Time
	pid                 int // 0: no server
	pg                  bool
	srv0, self0, pg0    time.Duration
	busy0, iow0, total0 int64
	machineOK           bool
	start               time.Time
}

// cpuUse is what a cpuWatch saw.
type cpuUse struct {
	srv, gen, pg, others, iowait float64       // percent of the machine; -1: unknown
	srvTime, genTime             time.Duration // CPU time used; -1: unknown
}

// startCPUWatch starts measuring; pid is the server's (0: none), and pg
// counts PostgreSQL's processes apart.
func startCPUWatch(now func() time.Time, pid int, pg bool) *cpuWatch {
	w := &cpuWatch{now: now, pid: pid, srv0: -1, pg: pg, start: now()}
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
	wall := w.now().Sub(w.start).Seconds() * float64(runtime.NumCPU())
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
	first  int64        // KiB at the start; -1: unknown
	peak   atomic.Int64 // KiB
	stopc  chan struct{}
	done   chan struct{}
	hwmOK  bool
	cpu    *cpuWatch
	failed atomic.Bool
}

func startSampler(now func() time.Time, pid int, pg bool) *memSampler {
	m := &memSampler{pid: pid, stopc: make(chan struct{}), done: make(chan struct{})}
	m.hwmOK = resetHWM(pid)
	m.cpu = startCPUWatch(now, pid, pg)
	m.sample()
	m.first = m.peak.Load()
	if m.failed.Load() {
		m.first = -1
	}
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
	startRSS     int64 // KiB when the phase began (-1: unknown)
	endRSS       int64 // KiB when it ended (-1: unknown)
	peakRSS, hwm int64
	hwmPhase     bool // hwm is this phase's own (clear_refs worked)
	cpu          cpuUse
}

func (m *memSampler) stop() memStats {
	m.sample()
	close(m.stopc)
	<-m.done
	st := memStats{startRSS: m.first, endRSS: -1, peakRSS: m.peak.Load(), hwm: -1, hwmPhase: m.hwmOK, cpu: m.cpu.stop()}
	if m.failed.Load() && st.peakRSS == 0 {
		st.peakRSS = -1
	}
	if rss, hwm, err := procMem(m.pid); err == nil {
		st.endRSS, st.hwm = rss, hwm
	}
	return st
}
