// Package outbox is the developer delivery provider: instead of leaving the
// machine, messages are kept in the database, where the /dev/outbox page
// and API show them. It lets anyone try twostep without an SMS account or
// a mail server. It is never active beside a real provider.
package outbox

import (
	"context"
	"fmt"
	"time"

	"twostep/internal/delivery"
	"twostep/internal/store"
)

// Store keeps and lists messages.
type Store interface {
	AddOutbox(ctx context.Context, m store.OutboxMessage) error
	Outbox(ctx context.Context, to string, limit int) ([]store.OutboxMessage, error)
}

// Outbox keeps every message it is asked to send.
type Outbox struct {
	st  Store
	now func() time.Time
}

var _ delivery.Sender = (*Outbox)(nil)

// New returns an outbox over st.
func New(st Store, now func() time.Time) *Outbox { return &Outbox{st: st, now: now} }

// Send keeps m.
func (o *Outbox) Send(ctx context.Context, m delivery.Message) error {
	err := o.st.AddOutbox(ctx, store.OutboxMessage{
		ID: store.NewID(), Channel: string(m.Channel), To: m.To, Subject: m.Subject, Body: m.Body, Code: m.Code, SentAt: o.now(),
	})
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// List returns kept messages, newest first, optionally only those to one
// recipient (in the form they were sent).
func (o *Outbox) List(ctx context.Context, to string, limit int) ([]delivery.Sent, error) {
	rows, err := o.st.Outbox(ctx, to, limit)
	if err != nil {
		return nil, err
	}
	out := make([]delivery.Sent, len(rows))
	for i, r := range rows {
		out[i] = delivery.Sent{ID: r.ID, Channel: delivery.Channel(r.Channel), To: r.To, Subject: r.Subject, Body: r.Body, Code: r.Code, SentAt: r.SentAt}
	}
	return out, nil
}
