package store

import (
	"context"
	"fmt"
	"time"
)

// OutboxMessage is a message kept by the developer outbox instead of
// being sent (package delivery/outbox owns the meaning; this is the row).
type OutboxMessage struct {
	ID      string
	Channel string
	To      string
	Subject string
	Body    string
	Code    string
	SentAt  time.Time
}

// AddOutbox keeps a message in the developer outbox.
func (db *DB) AddOutbox(ctx context.Context, m OutboxMessage) error {
	_, err := db.exec(ctx, `INSERT INTO outbox (id, channel, recipient, subject, body, code, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.Channel, m.To, m.Subject, m.Body, m.Code, micros(m.SentAt))
	if err != nil {
		return fmt.Errorf("add outbox: %w", err)
	}
	return nil
}

// Outbox lists kept messages, newest first, optionally only those to one
// recipient.
func (db *DB) Outbox(ctx context.Context, to string, limit int) ([]OutboxMessage, error) {
	rows, err := db.query(ctx, `SELECT id, channel, recipient, subject, body, code, sent_at FROM outbox
		WHERE (? = '' OR recipient = ?) ORDER BY sent_at DESC, id DESC LIMIT ?`, to, to, limit)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	defer rows.Close()
	out := []OutboxMessage{}
	for rows.Next() {
		var m OutboxMessage
		var at int64
		if err := rows.Scan(&m.ID, &m.Channel, &m.To, &m.Subject, &m.Body, &m.Code, &at); err != nil {
			return nil, fmt.Errorf("list outbox: %w", err)
		}
		m.SentAt = fromMicros(at)
		out = append(out, m)
	}
	return out, rows.Err()
}
