package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Tx is a set of writes that commit together or not at all: a sign-up
// with its verification link and the mail carrying it, a password reset
// with everything it ends and the notification saying so.
type Tx struct {
	db *DB
	tx *sql.Tx
	// changesSessions is set by a write that may end or change a live
	// session (DB.SessionsChanged).
	changesSessions bool
	// events are the events written, for the meter once committed.
	events []recordedEvent
}

type recordedEvent struct {
	ctx           context.Context
	kind, outcome string
}

// writer runs writes, on the database or inside a transaction; the store
// functions used both ways take one.
type writer interface {
	exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	writeRow(ctx context.Context, query string, args ...any) *sql.Row
	// recorded notes an event written, for the meter: at once, or in a
	// transaction when it commits.
	recorded(ctx context.Context, e Event)
}

var (
	_ writer = (*DB)(nil)
	_ writer = (*Tx)(nil)
)

func (t *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if changesSessions(query) {
		t.db.sessionsChanged.Add(1)
		t.changesSessions = true // and again once committed
	}
	return t.db.txExec(ctx, t.tx, query, args...)
}

func (t *Tx) recorded(ctx context.Context, e Event) {
	if t.db.meter != nil {
		t.events = append(t.events, recordedEvent{ctx, e.Kind, e.Outcome})
	}
}

func (db *DB) recorded(ctx context.Context, e Event) {
	if db.meter != nil {
		db.meter.Event(ctx, e.Kind, e.Outcome)
	}
}

func (t *Tx) writeRow(ctx context.Context, query string, args ...any) *sql.Row {
	if changesSessions(query) {
		t.db.sessionsChanged.Add(1)
		t.changesSessions = true
	}
	return t.db.txQueryRow(ctx, t.tx, query, args...)
}

// InTx runs fn in a transaction on the writer connection and commits if fn
// returns nil; otherwise nothing fn wrote stays.
func (db *DB) InTx(ctx context.Context, fn func(*Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		db.failed("write", err)
		return fmt.Errorf("begin: %w", err)
	}
	t := &Tx{db: db, tx: tx}
	if err := fn(t); err != nil {
		tx.Rollback()
		return err
	}
	err = tx.Commit()
	db.failed("write", err)
	if t.changesSessions {
		db.sessionsChanged.Add(1)
	}
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for _, e := range t.events {
		db.meter.Event(e.ctx, e.kind, e.outcome)
	}
	return nil
}
