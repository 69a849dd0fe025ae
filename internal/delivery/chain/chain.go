package chain

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"twostep/internal/delivery"
)

// Defaults for zero Options fields.
const (
	DefaultRetries = 2
	DefaultBackoff = 200 * time.Millisecond
	// MaxBackoff caps one wait before jitter, so a large Retries cannot
	// hold a sign-in for minutes.
	MaxBackoff = 10 * time.Second
)

// jitter is the largest fraction by which a wait is lengthened or
// shortened, so instances retrying after a shared outage spread out.
const jitter = 0.2

// ErrAllFailed is returned, wrapping the last provider's error, when no
// provider delivered the message.
var ErrAllFailed = errors.New("chain: all providers failed")

// Provider is one way to deliver, named for attempt records and errors.
type Provider struct {
	Name   string
	Sender delivery.Sender
}

// Options tune a Chain. The zero value is usable.
type Options struct {
	// Retries is how many times one provider is tried again after a
	// temporary failure: DefaultRetries when zero, none when negative.
	Retries int
	// Backoff is the wait before the first retry; each later retry waits
	// twice as long, up to MaxBackoff, each wait varied by ±20%.
	// DefaultBackoff when zero or negative.
	Backoff time.Duration
	// Sleep waits d or until ctx ends, returning ctx's error in that case.
	// Tests replace it to observe the waits; the default uses a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Record, when set, is called after every attempt. It runs on the
	// sending goroutine, so it should be quick.
	Record func(delivery.Attempt)
	// Now replaces time.Now for attempt times and durations.
	Now func() time.Time
}

// Chain delivers through the first provider that accepts a message. It is
// safe for concurrent use.
type Chain struct {
	providers []Provider
	retries   int
	backoff   time.Duration
	sleep     func(context.Context, time.Duration) error
	record    func(delivery.Attempt)
	now       func() time.Time
	random    func() float64 // in [0, 1), for jitter
}

var (
	_ delivery.Sender  = (*Chain)(nil)
	_ delivery.Tracker = (*Chain)(nil)
)

// New returns a Chain that tries providers in the order given. A provider
// without a Sender is a wiring mistake and panics; one without a Name is
// called "provider N".
func New(opts Options, providers ...Provider) *Chain {
	ps := make([]Provider, len(providers))
	for i, p := range providers {
		if p.Sender == nil {
			panic(fmt.Sprintf("chain: provider %d (%q) has no sender", i+1, p.Name))
		}
		if p.Name == "" {
			p.Name = fmt.Sprintf("provider %d", i+1)
		}
		ps[i] = p
	}
	c := &Chain{
		providers: ps,
		retries:   opts.Retries,
		backoff:   opts.Backoff,
		sleep:     opts.Sleep,
		record:    opts.Record,
		now:       opts.Now,
		random:    rand.Float64,
	}
	switch {
	case c.retries == 0:
		c.retries = DefaultRetries
	case c.retries < 0:
		c.retries = 0
	}
	if c.backoff <= 0 {
		c.backoff = DefaultBackoff
	}
	if c.sleep == nil {
		c.sleep = sleep
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Send delivers m; see SendTracked.
func (c *Chain) Send(ctx context.Context, m delivery.Message) error {
	_, err := c.SendTracked(ctx, m)
	return err
}

// SendTracked delivers m through the first provider that accepts it and
// returns that provider's receipt (empty if it does not implement
// delivery.Tracker).
//
// A provider is tried again after a temporary failure (delivery.IsTemporary)
// up to Retries times; after a permanent failure, a refusal of the channel
// (delivery.ErrUnsupportedChannel) or its last retry, the next provider is
// tried at once. Once every provider has given up, the error wraps
// ErrAllFailed and the last provider's error. When ctx ends, SendTracked
// stops at once and returns an error wrapping ctx's.
//
// A retried request that timed out may have been delivered after all, so
// a recipient can get the same message twice; for a one-time code that is
// better than getting none.
func (c *Chain) SendTracked(ctx context.Context, m delivery.Message) (delivery.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return delivery.Receipt{}, fmt.Errorf("chain: send: %w", err)
	}
	var last error
	for _, p := range c.providers {
		for try := 0; try <= c.retries; try++ {
			if try > 0 {
				if err := c.sleep(ctx, c.wait(try)); err != nil {
					return delivery.Receipt{}, stopped(err, last)
				}
			}
			rcpt, err := c.attempt(ctx, p, m)
			if err == nil {
				return rcpt, nil
			}
			last = fmt.Errorf("%s: %w", p.Name, err)
			if ctxErr := ctx.Err(); ctxErr != nil {
				return delivery.Receipt{}, stopped(ctxErr, last)
			}
			if !retryable(err) {
				break
			}
		}
	}
	if last == nil {
		return delivery.Receipt{}, fmt.Errorf("%w: no providers configured", ErrAllFailed)
	}
	return delivery.Receipt{}, fmt.Errorf("%w: last error from %w", ErrAllFailed, last)
}

// attempt makes one try of p and records it.
func (c *Chain) attempt(ctx context.Context, p Provider, m delivery.Message) (delivery.Receipt, error) {
	start := c.now()
	var rcpt delivery.Receipt
	var err error
	if t, ok := p.Sender.(delivery.Tracker); ok {
		rcpt, err = t.SendTracked(ctx, m)
	} else {
		err = p.Sender.Send(ctx, m)
	}
	if c.record != nil {
		a := delivery.Attempt{
			Provider:   p.Name,
			Channel:    m.Channel,
			To:         m.To,
			ProviderID: rcpt.ProviderID,
			OK:         err == nil,
			Duration:   c.now().Sub(start),
			At:         start,
		}
		if err != nil {
			a.ProviderID = ""
			a.Error = redact(err.Error(), m)
		}
		c.record(a)
	}
	return rcpt, err
}

// redact keeps the body and code out of an attempt record even if a
// provider breaks its promise not to put them in its errors.
func redact(s string, m delivery.Message) string {
	if len(m.Body) >= 8 {
		s = strings.ReplaceAll(s, m.Body, "[body]")
	}
	if len(m.Code) >= 4 {
		s = strings.ReplaceAll(s, m.Code, "[code]")
	}
	return s
}

// retryable reports whether trying the same provider again may help.
func retryable(err error) bool {
	if errors.Is(err, delivery.ErrUnsupportedChannel) {
		return false
	}
	return delivery.IsTemporary(err)
}

// wait returns the jittered pause before retry number try (from 1).
func (c *Chain) wait(try int) time.Duration {
	d := c.backoff
	for i := 1; i < try && d < MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, MaxBackoff)
	factor := 1 - jitter + 2*jitter*c.random()
	return time.Duration(float64(d) * factor)
}

func stopped(ctxErr, last error) error {
	if last == nil {
		return fmt.Errorf("chain: send stopped: %w", ctxErr)
	}
	return fmt.Errorf("chain: send stopped: %w (last error from %w)", ctxErr, last)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
