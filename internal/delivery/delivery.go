// Package delivery sends messages to users: e-mail now, text messages and
// voice calls later. Every provider implements Sender, so the flows that send
// a verification link or a code never know which provider carries it.
package delivery

import (
	"context"
	"errors"
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
