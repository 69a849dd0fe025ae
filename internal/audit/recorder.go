package audit

import (
	"context"
	"log/slog"
	"time"

	"twostep/internal/delivery"
	"twostep/internal/i18n"
	"twostep/internal/store"
	"twostep/internal/text"
)

// Store keeps the events.
type Store interface {
	AddEvent(ctx context.Context, e store.Event) error
}

// Queue puts a message on the durable outgoing-mail queue, whose sender
// delivers it in the background with retries.
type Queue func(ctx context.Context, userID, kind string, m delivery.Message) error

// Client is who caused the event, as recorded with it.
type Client struct {
	IP, UserAgent string
}

// Options wires a Recorder.
type Options struct {
	Events Store
	Mail   Queue
	// BaseURL is the site's public URL, for the link in notices.
	BaseURL string
	// Messages say notices in each holder's language (users.language, else
	// the site's default); nil is the embedded catalogues.
	Messages *i18n.Catalogue
	Now      func() time.Time
	Log      *slog.Logger
}

// Recorder records events and queues notices.
type Recorder struct {
	events  Store
	mail    Queue
	baseURL string
	msgs    *i18n.Catalogue
	now     func() time.Time
	log     *slog.Logger
}

// New returns a Recorder.
func New(o Options) *Recorder {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Messages == nil {
		o.Messages = i18n.MustLoad("twostep")
	}
	return &Recorder{events: o.Events, mail: o.Mail, baseURL: o.BaseURL, msgs: o.Messages, now: o.Now, log: o.Log}
}

// Record stores an event. The change it records has happened: a failure
// to record is logged, never shown to the user, and a request cancelled
// meanwhile still records it.
func (r *Recorder) Record(ctx context.Context, c Client, userID string, k Kind, o Outcome, detail string) {
	if err := r.events.AddEvent(context.WithoutCancel(ctx), r.Event(c, userID, k, o, detail)); err != nil {
		r.log.Error("record event failed", "kind", k, "err", err)
	}
}

// Event builds an event to record now, for flows that write it in the
// transaction of their change.
func (r *Recorder) Event(c Client, userID string, k Kind, o Outcome, detail string) store.Event {
	return store.Event{
		ID: store.NewID(), UserID: userID, Kind: string(k), Outcome: string(o),
		IP: c.IP, UserAgent: text.Truncate(c.UserAgent, maxUserAgent), Detail: detail, CreatedAt: r.now(),
	}
}

// maxUserAgent is the most of a User-Agent header an event keeps.
const maxUserAgent = 512

// Notify queues the notice to u, for a change already committed. A failure
// to queue is logged: the change stands.
func (r *Recorder) Notify(ctx context.Context, u store.User, n Notice) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.mail(ctx, u.ID, MailKind, r.Message(u, n)); err != nil {
		r.log.Error("queue message failed", "what", MailKind, "kind", n.Kind, "err", err)
	}
}

// Message is the e-mail of notice n to u, for flows that queue it in the
// transaction of their change.
func (r *Recorder) Message(u store.User, n Notice) delivery.Message {
	return n.MessageIn(r.msgs.Saved(u.Language), u, r.baseURL)
}
