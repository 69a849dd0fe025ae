package chain

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"twostep/internal/delivery"
)

// fake is a provider at our own interface: it fails with the scripted
// errors, in order, then succeeds.
type fake struct {
	errs  []error
	calls int
}

func (f *fake) Send(ctx context.Context, m delivery.Message) error {
	f.calls++
	if f.calls <= len(f.errs) {
		return f.errs[f.calls-1]
	}
	return nil
}

// tracked is a fake that also returns an id.
type tracked struct {
	fake
	id string
}

func (t *tracked) SendTracked(ctx context.Context, m delivery.Message) (delivery.Receipt, error) {
	if err := t.Send(ctx, m); err != nil {
		return delivery.Receipt{}, err
	}
	return delivery.Receipt{ProviderID: t.id}, nil
}

func down(provider string) error {
	return &delivery.Error{Provider: provider, Status: 503, Temporary: true, Err: errors.New("unavailable")}
}

func refused(provider string) error {
	return &delivery.Error{Provider: provider, Status: 400, Err: errors.New("invalid number")}
}

// recorder collects attempts and waits.
type recorder struct {
	attempts []delivery.Attempt
	sleeps   []time.Duration
}

func (r *recorder) options(retries int) Options {
	return Options{
		Retries: retries,
		Record:  func(a delivery.Attempt) { r.attempts = append(r.attempts, a) },
		Sleep: func(ctx context.Context, d time.Duration) error {
			r.sleeps = append(r.sleeps, d)
			return ctx.Err()
		},
	}
}

func (r *recorder) summary() string {
	var parts []string
	for _, a := range r.attempts {
		s := a.Provider + ":fail"
		if a.OK {
			s = a.Provider + ":ok"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

var msg = delivery.Message{Channel: delivery.SMS, To: "+14155550100", Body: "Your code is 246810", Code: "246810"}

func within(d, want time.Duration) bool {
	return d >= want*8/10 && d <= want*12/10
}

func TestRetryThenSuccess(t *testing.T) {
	var rec recorder
	p := &tracked{fake: fake{errs: []error{down("a")}}, id: "SM1"}
	c := New(rec.options(0), Provider{Name: "a", Sender: p})

	rcpt, err := c.SendTracked(context.Background(), msg)
	if err != nil {
		t.Fatalf("SendTracked: %v", err)
	}
	if rcpt.ProviderID != "SM1" {
		t.Errorf("ProviderID = %q, want SM1", rcpt.ProviderID)
	}
	if got := rec.summary(); got != "a:fail a:ok" {
		t.Errorf("attempts = %s, want a:fail a:ok", got)
	}
	if len(rec.sleeps) != 1 || !within(rec.sleeps[0], DefaultBackoff) {
		t.Errorf("waits = %v, want one of %s ±20%%", rec.sleeps, DefaultBackoff)
	}
	first, second := rec.attempts[0], rec.attempts[1]
	if first.ProviderID != "" || first.Error == "" || first.Channel != delivery.SMS || first.To != msg.To {
		t.Errorf("failed attempt = %+v", first)
	}
	if second.ProviderID != "SM1" || second.Error != "" {
		t.Errorf("successful attempt = %+v, want ProviderID SM1 and no error", second)
	}
}

func TestPermanentErrorFailsOver(t *testing.T) {
	var rec recorder
	a := &fake{errs: []error{refused("a"), refused("a")}}
	b := &tracked{id: "b-1"}
	c := New(rec.options(3), Provider{Name: "a", Sender: a}, Provider{Name: "b", Sender: b})

	rcpt, err := c.SendTracked(context.Background(), msg)
	if err != nil {
		t.Fatalf("SendTracked: %v", err)
	}
	if rcpt.ProviderID != "b-1" {
		t.Errorf("ProviderID = %q, want b-1", rcpt.ProviderID)
	}
	if a.calls != 1 {
		t.Errorf("permanent failure retried: %d calls, want 1", a.calls)
	}
	if got := rec.summary(); got != "a:fail b:ok" {
		t.Errorf("attempts = %s, want a:fail b:ok", got)
	}
	if len(rec.sleeps) != 0 {
		t.Errorf("waited %v before failing over, want no wait", rec.sleeps)
	}
}

func TestUnsupportedChannelFailsOver(t *testing.T) {
	var rec recorder
	mail := &fake{errs: []error{delivery.ErrUnsupportedChannel}}
	sms := &fake{}
	c := New(rec.options(0), Provider{Name: "smtp", Sender: mail}, Provider{Name: "twilio", Sender: sms})
	if err := c.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := rec.summary(); got != "smtp:fail twilio:ok" {
		t.Errorf("attempts = %s, want smtp:fail twilio:ok", got)
	}
}

func TestAllDown(t *testing.T) {
	var rec recorder
	a := &fake{errs: []error{down("a"), down("a"), down("a"), down("a")}}
	b := &fake{errs: []error{down("b"), down("b"), down("b"), down("b")}}
	c := New(rec.options(0), Provider{Name: "a", Sender: a}, Provider{Name: "b", Sender: b})

	err := c.Send(context.Background(), msg)
	if !errors.Is(err, ErrAllFailed) {
		t.Fatalf("Send = %v, want ErrAllFailed", err)
	}
	var de *delivery.Error
	if !errors.As(err, &de) || de.Provider != "b" {
		t.Errorf("Send = %v, want it to wrap b's *delivery.Error", err)
	}
	if !strings.HasPrefix(err.Error(), "chain: ") {
		t.Errorf("error %q lacks the package prefix", err)
	}
	if a.calls != DefaultRetries+1 || b.calls != DefaultRetries+1 {
		t.Errorf("calls = a:%d b:%d, want %d each", a.calls, b.calls, DefaultRetries+1)
	}
	if got, want := rec.summary(), "a:fail a:fail a:fail b:fail b:fail b:fail"; got != want {
		t.Errorf("attempts = %s, want %s", got, want)
	}
	if len(rec.sleeps) != 4 {
		t.Fatalf("waits = %v, want 4 (two per provider)", rec.sleeps)
	}
	for i, want := range []time.Duration{200, 400, 200, 400} {
		if !within(rec.sleeps[i], want*time.Millisecond) {
			t.Errorf("wait %d = %s, want %s ±20%%", i, rec.sleeps[i], want*time.Millisecond)
		}
	}
}

func TestBackoffDoubles(t *testing.T) {
	var rec recorder
	opts := rec.options(5)
	opts.Backoff = 100 * time.Millisecond
	p := &fake{errs: []error{down("a"), down("a"), down("a"), down("a"), down("a")}}
	c := New(opts, Provider{Name: "a", Sender: p})
	if err := c.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := []time.Duration{100, 200, 400, 800, 1600}
	if len(rec.sleeps) != len(want) {
		t.Fatalf("waits = %v, want %d", rec.sleeps, len(want))
	}
	for i, w := range want {
		if !within(rec.sleeps[i], w*time.Millisecond) {
			t.Errorf("wait %d = %s, want %s ±20%%", i, rec.sleeps[i], w*time.Millisecond)
		}
	}
}

func TestBackoffExact(t *testing.T) {
	// With the jitter pinned to its extremes the waits are exact.
	c := New(Options{Backoff: time.Second, Retries: 10})
	c.random = func() float64 { return 0 }
	if got := c.wait(1); got != 800*time.Millisecond {
		t.Errorf("wait(1) at -20%% = %s, want 800ms", got)
	}
	c.random = func() float64 { return 0.5 }
	for try, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: MaxBackoff, 60: MaxBackoff} {
		if got := c.wait(try); got != want {
			t.Errorf("wait(%d) = %s, want %s", try, got, want)
		}
	}
}

func TestNegativeRetriesMeansOneTry(t *testing.T) {
	var rec recorder
	p := &fake{errs: []error{down("a")}}
	c := New(rec.options(-1), Provider{Name: "a", Sender: p})
	if err := c.Send(context.Background(), msg); !errors.Is(err, ErrAllFailed) {
		t.Fatalf("Send = %v, want ErrAllFailed", err)
	}
	if p.calls != 1 || len(rec.sleeps) != 0 {
		t.Errorf("calls = %d, waits = %v; want 1 call and no wait", p.calls, rec.sleeps)
	}
}

func TestCancelStopsWaiting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var attempts int
	p := &fake{errs: []error{down("a"), down("a"), down("a")}}
	second := &fake{}
	c := New(Options{
		Backoff: time.Hour, // only cancellation can end the wait
		Record:  func(delivery.Attempt) { attempts++ },
	}, Provider{Name: "a", Sender: p}, Provider{Name: "b", Sender: second})

	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	err := c.Send(ctx, msg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want context.Canceled", err)
	}
	if errors.Is(err, ErrAllFailed) {
		t.Errorf("Send = %v; cancellation is not a provider failure", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send returned after %s", d)
	}
	if attempts != 1 || second.calls != 0 {
		t.Errorf("attempts = %d, second provider calls = %d; want 1 and 0", attempts, second.calls)
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := &fake{}
	err := New(Options{}, Provider{Name: "a", Sender: p}).Send(ctx, msg)
	if !errors.Is(err, context.Canceled) || p.calls != 0 {
		t.Errorf("Send = %v after %d calls, want context.Canceled and none", err, p.calls)
	}
}

func TestCancelDuringAttempt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := senderFunc(func(ctx context.Context, m delivery.Message) error {
		cancel()
		return down("a")
	})
	second := &fake{}
	err := New(Options{Sleep: func(context.Context, time.Duration) error {
		t.Error("waited after the context ended")
		return nil
	}}, Provider{Name: "a", Sender: p}, Provider{Name: "b", Sender: second}).Send(ctx, msg)
	if !errors.Is(err, context.Canceled) || second.calls != 0 {
		t.Errorf("Send = %v, second provider calls = %d; want context.Canceled and none", err, second.calls)
	}
}

type senderFunc func(context.Context, delivery.Message) error

func (f senderFunc) Send(ctx context.Context, m delivery.Message) error { return f(ctx, m) }

func TestAttemptRecord(t *testing.T) {
	clock := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var got []delivery.Attempt
	leaky := senderFunc(func(ctx context.Context, m delivery.Message) error {
		clock = clock.Add(150 * time.Millisecond)
		return &delivery.Error{Provider: "leaky", Status: 400, Err: errors.New("rejected code " + m.Code + " in " + m.Body)}
	})
	c := New(Options{
		Now:    func() time.Time { return clock },
		Record: func(a delivery.Attempt) { got = append(got, a) },
	}, Provider{Name: "leaky", Sender: leaky})
	start := clock

	err := c.Send(context.Background(), msg)
	if err == nil {
		t.Fatal("Send succeeded")
	}
	if len(got) != 1 {
		t.Fatalf("recorded %d attempts, want 1", len(got))
	}
	a := got[0]
	if a.Provider != "leaky" || a.Channel != delivery.SMS || a.To != msg.To || a.OK ||
		a.Duration != 150*time.Millisecond || !a.At.Equal(start) {
		t.Errorf("attempt = %+v", a)
	}
	if strings.Contains(a.Error, msg.Code) || strings.Contains(a.Error, msg.Body) {
		t.Errorf("attempt error %q carries the code or body", a.Error)
	}
	if !strings.Contains(a.Error, "HTTP 400") {
		t.Errorf("attempt error %q lost the provider's reason", a.Error)
	}
}

func TestNoProviders(t *testing.T) {
	if err := New(Options{}).Send(context.Background(), msg); !errors.Is(err, ErrAllFailed) {
		t.Errorf("Send = %v, want ErrAllFailed", err)
	}
}

func TestNewNamesAndPanics(t *testing.T) {
	var rec recorder
	c := New(rec.options(0), Provider{Sender: &fake{}})
	if err := c.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if rec.attempts[0].Provider != "provider 1" {
		t.Errorf("unnamed provider recorded as %q, want %q", rec.attempts[0].Provider, "provider 1")
	}
	defer func() {
		if recover() == nil {
			t.Error("New with a nil Sender did not panic")
		}
	}()
	New(Options{}, Provider{Name: "x"})
}
