package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Event is one security event: a sign-in, a failure, a password change…
type Event struct {
	ID        string    `json:"id"`
	UserID    string    `json:"-"`
	Kind      string    `json:"kind"`
	Outcome   string    `json:"outcome"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	Detail    string    `json:"detail,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// AddEvent records an event. UserID may be empty for events about no known
// account (a sign-in attempt for an unknown e-mail).
func (db *DB) AddEvent(ctx context.Context, e Event) error { return addEvent(ctx, db, e) }

// AddEvent is DB.AddEvent inside a transaction, for events that must
// commit (or not) with the change they record.
func (t *Tx) AddEvent(ctx context.Context, e Event) error { return addEvent(ctx, t, e) }

func addEvent(ctx context.Context, w writer, e Event) error {
	var uid any
	if e.UserID != "" {
		uid = e.UserID
	}
	_, err := w.exec(ctx, `INSERT INTO events (id, user_id, kind, outcome, ip, user_agent, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, uid, e.Kind, e.Outcome, e.IP, e.UserAgent, e.Detail, micros(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("add event: %w", err)
	}
	w.recorded(ctx, e)
	return nil
}

// Events lists a user's events, newest first.
func (db *DB) Events(ctx context.Context, userID string, limit int) ([]Event, error) {
	rows, err := db.query(ctx, `SELECT id, user_id, kind, outcome, ip, user_agent, detail, created_at FROM events
		WHERE user_id = ? ORDER BY created_at DESC, seq DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var uid sql.NullString
		var at int64
		if err := rows.Scan(&e.ID, &uid, &e.Kind, &e.Outcome, &e.IP, &e.UserAgent, &e.Detail, &at); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		e.UserID, e.CreatedAt = uid.String, fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
