package api_test

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/testenv"
)

// TestReadyzWhenTheDatabaseIsCut: twostep reaches PostgreSQL through a
// TCP proxy the test controls. A database that stops answering (every
// connection held open, nothing forwarded) and one cut off (connections
// closed, new ones refused) both turn /readyz to 503 within its time
// limit, /healthz stays 200, the failures are counted in
// twostep_database_errors_total, and readiness comes back by itself once
// the database answers again: no restart, no stale connection kept.
func TestReadyzWhenTheDatabaseIsCut(t *testing.T) {
	dbURL := testenv.DatabaseURL(t, "postgres")
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p := newPGProxy(t, u.Host)
	u.Host = p.addr
	cfg := testenv.Config(t, u.String())
	clock := testenv.NewClock()
	e := &env{t: t, srv: testenv.Start(t, cfg, app.Options{Now: clock.Now}), clock: clock}
	c := e.srv.Client()
	reg := e.srv.App.Metrics.Registry()
	e.want(e.call(c, "GET", "/readyz", nil), http.StatusOK, "")

	for _, tt := range []struct {
		name string
		fail func()
	}{
		{"stops answering", p.stall},
		{"cut off", p.cut},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			errs := value(t, reg, "twostep_database_errors_total", "operation", "write")
			tt.fail()
			start := time.Now()
			e.want(e.call(c, "GET", "/readyz", nil), http.StatusServiceUnavailable, "not_ready")
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("/readyz took %s to say not ready, want its 2s limit", took)
			}
			e.want(e.call(c, "GET", "/healthz", nil), http.StatusOK, "")
			if got := value(t, reg, "twostep_database_errors_total", "operation", "write"); got <= errs {
				t.Errorf("database write errors %v → %v, want the failed probe counted", errs, got)
			}

			p.restore()
			deadline := time.Now().Add(10 * time.Second)
			for {
				r := e.call(c, "GET", "/readyz", nil)
				if r.Status == http.StatusOK {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("/readyz still %d 10s after the database came back: %s", r.Status, r.Body)
				}
				time.Sleep(100 * time.Millisecond)
			}
			// Sign-ups (writes) work again too.
			e.signup(tt.name[:3] + "@example.com")
		})
	}
}

// pgProxy forwards TCP connections to a database; the test breaks and
// restores the path.
type pgProxy struct {
	t      *testing.T
	target string
	addr   string

	mu      sync.Mutex
	ln      net.Listener
	stalled bool
	conns   []net.Conn
}

func newPGProxy(t *testing.T, target string) *pgProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{t: t, target: target, addr: ln.Addr().String()}
	p.serve(ln)
	t.Cleanup(func() { p.cut() })
	return p
}

func (p *pgProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, in)
			stalled := p.stalled
			p.mu.Unlock()
			if stalled {
				continue // held open, never answered
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, out)
			p.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
}

// closeConns ends every connection made so far.
func (p *pgProxy) closeConns() {
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// stall: the database stops answering. Connections open so far are
// dropped; new ones are accepted and never answered.
func (p *pgProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
	p.closeConns()
}

// cut: the database is gone. Connections are closed and new ones refused.
func (p *pgProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.closeConns()
}

// restore: the database answers again, at the same address.
func (p *pgProxy) restore() {
	p.mu.Lock()
	p.stalled = false
	p.closeConns() // the held ones
	open := p.ln != nil
	p.mu.Unlock()
	if open {
		return
	}
	var ln net.Listener
	var err error
	for range 50 { // the port was just ours; the OS may hold it a moment
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("reopen proxy on %s: %v", p.addr, err)
	}
	p.serve(ln)
}
