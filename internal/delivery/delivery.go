// Package delivery sends messages to users: e-mail now, text messages and
// voice calls later. Every provider implements Sender, so the flows that send
// a verification link or a code never know which provider carries it.
package delivery

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Channel is how a message reaches its recipient.
type Channel string

// Channels a message can travel on.
const (
	Email Channel = "email"
	SMS   Channel = "sms"
	Voice Channel = "voice"
)

// Message is one thing to deliver. Code, when set, is the one-time code or
// token the body carries; providers must never log it.
type Message struct {
	Channel Channel
	To      string // e-mail address or E.164 phone number
	Subject string // e-mail only
	Body    string // plain text
	Code    string
	// Language is the BCP 47 tag of the language Body is in ("de",
	// "pt-BR"): a call is spoken in it. Empty is the provider's default.
	Language string
}

// Sender delivers a message or says why it could not.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrUnsupportedChannel is returned by a provider asked to use a channel it
// does not carry.
var ErrUnsupportedChannel = errors.New("delivery: unsupported channel")

// Sent is a message as the developer outbox keeps it.
type Sent struct {
	ID      string    `json:"id"`
	Channel Channel   `json:"channel"`
	To      string    `json:"to"`
	Subject string    `json:"subject,omitempty"`
	Body    string    `json:"body"`
	Code    string    `json:"code"`
	SentAt  time.Time `json:"sent_at"`
}

// Error is a provider's failure. Temporary errors (network, timeouts,
// HTTP 5xx, 429) may succeed on a retry or another provider; the others
// (bad number, bad credentials: HTTP 4xx) will not.
type Error struct {
	Provider  string
	Status    int // HTTP status, 0 for network errors
	Temporary bool
	Err       error
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return "delivery: " + e.Provider + ": HTTP " + strconv.Itoa(e.Status) + ": " + e.Err.Error()
	}
	return "delivery: " + e.Provider + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// IsTemporary reports whether err is worth retrying: a *Error marked
// Temporary, or any error that is not a *Error (network trouble).
func IsTemporary(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Temporary
	}
	return err != nil
}

// Attempt is one try of one provider, recorded without the message body
// or code.
type Attempt struct {
	Provider   string
	Channel    Channel
	To         string // as given; the recorder masks or hashes it
	ProviderID string // e.g. Twilio's message SID, for status callbacks
	OK         bool
	Error      string
	Duration   time.Duration
	At         time.Time
}

// Receipt is what a provider reports for a message it accepted.
type Receipt struct {
	ProviderID string
}

// Tracker is implemented by providers that return an id for the accepted
// message (so status callbacks can be matched to it).
type Tracker interface {
	SendTracked(ctx context.Context, m Message) (Receipt, error)
}
