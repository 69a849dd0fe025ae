package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Tx is a set of writes that commit together or not at all: a sign-up
// with its verification link and the mail carrying it, a password reset
// with everything it ends and the notification saying so.
type Tx struct {
	db *DB
	tx *sql.Tx
}

// writer runs writes, on the database or inside a transaction; the store
// functions used both ways take one.
type writer interface {
	exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	writeRow(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	_ writer = (*DB)(nil)
	_ writer = (*Tx)(nil)
)

func (t *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.db.q(query), args...)
}

func (t *Tx) writeRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.db.q(query), args...)
}

// InTx runs fn in a transaction on the writer connection and commits if fn
// returns nil; otherwise nothing fn wrote stays.
func (db *DB) InTx(ctx context.Context, fn func(*Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&Tx{db: db, tx: tx}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// RevokeSessions is DB.RevokeSessions inside a transaction: it ends every
// live session of the user except keepID when the transaction commits.
func (t *Tx) RevokeSessions(ctx context.Context, userID, keepID string, at time.Time) (int64, error) {
	res, err := t.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND id <> ? AND revoked_at IS NULL AND expires_at > ?`, micros(at), userID, keepID, micros(at))
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// DeleteDevices is DB.DeleteDevices inside a transaction.
func (t *Tx) DeleteDevices(ctx context.Context, userID string) (int64, error) {
	res, err := t.exec(ctx, `DELETE FROM devices WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fmt.Errorf("delete devices: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// AddEvent is DB.AddEvent inside a transaction, for events that must
// commit (or not) with the change they record.
func (t *Tx) AddEvent(ctx context.Context, e Event) error {
	var uid any
	if e.UserID != "" {
		uid = e.UserID
	}
	_, err := t.exec(ctx, `INSERT INTO events (id, user_id, kind, outcome, ip, user_agent, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, uid, e.Kind, e.Outcome, e.IP, e.UserAgent, e.Detail, micros(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("add event: %w", err)
	}
	return nil
}
