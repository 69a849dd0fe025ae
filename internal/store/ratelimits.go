package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Counter is one rate-limit row.
type Counter struct {
	Count        int64
	WindowStart  time.Time
	BlockedUntil time.Time
}

// ReadCounter returns the counter at key; a missing row is a zero Counter.
func (db *DB) ReadCounter(ctx context.Context, key string) (Counter, error) {
	var c Counter
	var start, blocked int64
	err := db.queryRow(ctx, `SELECT count, window_start, blocked_until FROM rate_limits WHERE key = ?`, key).Scan(&c.Count, &start, &blocked)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read counter %s: %w", key, err)
	}
	c.WindowStart, c.BlockedUntil = fromMicros(start), fromMicros(blocked)
	return c, nil
}

// ResetCounter forgets the counter at key.
func (db *DB) ResetCounter(ctx context.Context, key string) error {
	if _, err := db.exec(ctx, `DELETE FROM rate_limits WHERE key = ?`, key); err != nil {
		return fmt.Errorf("reset counter %s: %w", key, err)
	}
	return nil
}

// Want is one unit of a rate limit that a request asks to spend before it
// does the work the limit guards (hashing a password, checking a code).
//
// With Delay nil it is a budget: at most Limit units per fixed Window.
// With Delay set it is a growing-delay throttle: Free units per Window go
// through freely; each unit past them blocks the key for Delay(n), n
// counting the units past the free ones, and a blocked key spends nothing.
type Want struct {
	Key    string
	Window time.Duration
	Limit  int64
	Free   int64
	Delay  func(over int64) time.Duration
}

// Refusal is a reservation that spent nothing because at least one want
// had no unit left. Until is when every refusing want has room again.
type Refusal struct {
	Keys  []string
	Until time.Time
}

// Reserve spends one unit of every want, or — when any of them has no
// unit left — none at all, and returns the refusal. It is one
// transaction with the counters locked (SQLite's single writer; FOR
// UPDATE on PostgreSQL, keys locked in sorted order so two reservations
// never deadlock), so concurrent requests, on any number of instances,
// can never together spend more than a limit allows: the check and the
// spending are the same step.
func (db *DB) Reserve(ctx context.Context, now time.Time, wants []Want) (*Refusal, error) {
	order := make([]int, len(wants))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return wants[order[a]].Key < wants[order[b]].Key })

	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		db.failed("write", err)
		return nil, fmt.Errorf("reserve: %w", err)
	}
	defer tx.Rollback()
	var refusal *Refusal
	for _, i := range order {
		w := wants[i]
		spend := db.spendBackoff
		if w.Delay == nil {
			spend = db.spendBudget
		}
		until, err := spend(ctx, tx, now, w)
		if err != nil {
			return nil, fmt.Errorf("reserve %s: %w", w.Key, err)
		}
		if until.IsZero() {
			continue
		}
		if refusal == nil {
			refusal = &Refusal{}
		}
		refusal.Keys = append(refusal.Keys, w.Key)
		if until.After(refusal.Until) {
			refusal.Until = until
		}
	}
	if refusal != nil {
		if db.meter != nil {
			for _, k := range refusal.Keys {
				db.meter.Refused(k)
			}
		}
		return refusal, nil // the rollback spends nothing
	}
	if err := tx.Commit(); err != nil {
		db.failed("write", err)
		return nil, fmt.Errorf("reserve: %w", err)
	}
	return nil, nil
}

// spendBudget spends one unit of budget w in one conditional upsert: a
// window that has ended starts afresh, a spent one is left alone. It
// returns when the window ends if it was spent, zero otherwise.
func (db *DB) spendBudget(ctx context.Context, tx *sql.Tx, now time.Time, w Want) (time.Time, error) {
	n, stale := micros(now), micros(now.Add(-w.Window))
	var count int64
	if w.Limit > 0 {
		err := db.txQueryRow(ctx, tx, `INSERT INTO rate_limits (key, count, window_start, blocked_until, updated_at, expires_at)
			VALUES (?, 1, ?, 0, ?, ?)
			ON CONFLICT (key) DO UPDATE SET
				count = CASE WHEN rate_limits.window_start <= ? THEN 1 ELSE rate_limits.count + 1 END,
				window_start = CASE WHEN rate_limits.window_start <= ? THEN excluded.window_start ELSE rate_limits.window_start END,
				updated_at = excluded.updated_at,
				expires_at = CASE WHEN rate_limits.window_start <= ? THEN excluded.expires_at ELSE rate_limits.expires_at END
			WHERE rate_limits.window_start <= ? OR rate_limits.count < ?
			RETURNING count`, w.Key, n, n, micros(now.Add(w.Window)), stale, stale, stale, stale, w.Limit).Scan(&count)
		if err == nil {
			return time.Time{}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return time.Time{}, err
		}
	}
	var start int64
	err := db.txQueryRow(ctx, tx, `SELECT window_start FROM rate_limits WHERE key = ?`, w.Key).Scan(&start)
	if errors.Is(err, sql.ErrNoRows) { // a zero budget: never any room
		return now.Add(w.Window), nil
	}
	return fromMicros(start).Add(w.Window), err
}

// spendBackoff spends one attempt of growing-delay throttle w: with the
// row locked (created empty first if new), a blocked key refuses, else
// the attempt counts and, past the free ones, blocks the key for the next
// delay. It returns when the block ends if refused, zero otherwise.
func (db *DB) spendBackoff(ctx context.Context, tx *sql.Tx, now time.Time, w Want) (time.Time, error) {
	n := micros(now)
	if _, err := db.txExec(ctx, tx, `INSERT INTO rate_limits (key, count, window_start, blocked_until, updated_at, expires_at)
		VALUES (?, 0, ?, 0, ?, ?) ON CONFLICT (key) DO NOTHING`, w.Key, n, n, micros(now.Add(w.Window))); err != nil {
		return time.Time{}, err
	}
	lock := ""
	if db.pg {
		lock = " FOR UPDATE"
	}
	var count, start, blocked int64
	if err := db.txQueryRow(ctx, tx, `SELECT count, window_start, blocked_until FROM rate_limits WHERE key = ?`+lock, w.Key).
		Scan(&count, &start, &blocked); err != nil {
		return time.Time{}, err
	}
	if start <= micros(now.Add(-w.Window)) { // a new window
		count, start, blocked = 0, n, 0
	}
	if blocked > n {
		return fromMicros(blocked), nil
	}
	count++
	if count > w.Free {
		blocked = micros(now.Add(w.Delay(count - w.Free)))
	}
	expires := max(micros(fromMicros(start).Add(w.Window)), blocked)
	_, err := db.txExec(ctx, tx, `UPDATE rate_limits SET count = ?, window_start = ?, blocked_until = ?, updated_at = ?, expires_at = ? WHERE key = ?`,
		count, start, blocked, n, expires, w.Key)
	return time.Time{}, err
}

// Refund gives back one unit reserved under each key, in one statement,
// for work that turned out not to be a failure (the right password, the
// right code). A block already in force stays.
func (db *DB) Refund(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	in := strings.Repeat("?, ", len(keys)-1) + "?"
	query := `UPDATE rate_limits SET count = count - 1 WHERE key IN (` + in + `) AND count > 0`
	if db.pg {
		// The rows are locked in key order, as Reserve locks them: an
		// UPDATE of several rows otherwise locks them in scan order and can
		// deadlock with a reservation holding one and waiting for the other.
		query = `UPDATE rate_limits SET count = count - 1 WHERE key IN (
			SELECT key FROM rate_limits WHERE key IN (` + in + `) ORDER BY key FOR UPDATE) AND count > 0`
	}
	if _, err := db.exec(ctx, query, args...); err != nil {
		return fmt.Errorf("refund: %w", err)
	}
	return nil
}
