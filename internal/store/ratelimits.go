package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Counter is one rate-limit row.
type Counter struct {
	Count        int64
	WindowStart  time.Time
	BlockedUntil time.Time
}

// CountHit adds one to the counter at key in a fixed window: a window that
// started at or before now-window is replaced by a fresh one starting now.
// One upsert, so concurrent instances never lose a hit.
func (db *DB) CountHit(ctx context.Context, key string, now time.Time, window time.Duration) (Counter, error) {
	var c Counter
	var start, blocked int64
	stale := micros(now.Add(-window))
	err := db.writeRow(ctx, `INSERT INTO rate_limits (key, count, window_start, blocked_until, updated_at, expires_at)
		VALUES (?, 1, ?, 0, ?, ?)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN rate_limits.window_start <= ? THEN 1 ELSE rate_limits.count + 1 END,
			window_start = CASE WHEN rate_limits.window_start <= ? THEN excluded.window_start ELSE rate_limits.window_start END,
			blocked_until = CASE WHEN rate_limits.window_start <= ? THEN 0 ELSE rate_limits.blocked_until END,
			updated_at = excluded.updated_at,
			expires_at = CASE WHEN rate_limits.window_start <= ? THEN excluded.expires_at ELSE rate_limits.expires_at END
		RETURNING count, window_start, blocked_until`,
		key, micros(now), micros(now), micros(now.Add(window)), stale, stale, stale, stale).Scan(&c.Count, &start, &blocked)
	if err != nil {
		return c, fmt.Errorf("count hit %s: %w", key, err)
	}
	c.WindowStart, c.BlockedUntil = fromMicros(start), fromMicros(blocked)
	return c, nil
}

// Block sets the counter's blocked-until time, never shortening a block
// another instance set, and keeps the row at least until keepUntil.
func (db *DB) Block(ctx context.Context, key string, until, keepUntil time.Time) error {
	_, err := db.exec(ctx, `UPDATE rate_limits SET
			blocked_until = CASE WHEN blocked_until < ? THEN ? ELSE blocked_until END,
			expires_at = CASE WHEN expires_at < ? THEN ? ELSE expires_at END
		WHERE key = ?`, micros(until), micros(until), micros(keepUntil), micros(keepUntil), key)
	if err != nil {
		return fmt.Errorf("block %s: %w", key, err)
	}
	return nil
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

// PurgeExpired deletes rate-limit rows, sessions and tokens nobody can use
// any more.
func (db *DB) PurgeExpired(ctx context.Context, now time.Time) error {
	n := micros(now)
	for _, q := range []string{
		`DELETE FROM rate_limits WHERE expires_at < ?`,
		`DELETE FROM tokens WHERE expires_at < ?`,
		`DELETE FROM sessions WHERE expires_at < ?`,
		`DELETE FROM known_browsers WHERE expires_at < ?`,
		`DELETE FROM pending_signins WHERE expires_at < ?`,
		`DELETE FROM sent_codes WHERE expires_at < ?`,
		`DELETE FROM devices WHERE expires_at < ?`,
		`DELETE FROM factors WHERE status = 'pending' AND expires_at < ?`,
		`DELETE FROM totp_burned_steps WHERE expires_at < ?`,
	} {
		if _, err := db.exec(ctx, q, n); err != nil {
			return fmt.Errorf("purge: %w", err)
		}
	}
	return nil
}

// RememberBrowser records that the browser whose id hashes to hash signed
// in to the user's account, until expires.
func (db *DB) RememberBrowser(ctx context.Context, userID, hash string, now, expires time.Time) error {
	_, err := db.exec(ctx, `INSERT INTO known_browsers (user_id, browser_hash, created_at, last_used_at, expires_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id, browser_hash) DO UPDATE SET last_used_at = excluded.last_used_at, expires_at = excluded.expires_at`,
		userID, hash, micros(now), micros(now), micros(expires))
	if err != nil {
		return fmt.Errorf("remember browser: %w", err)
	}
	return nil
}

// KnownBrowser reports whether the browser has signed in to the user's
// account before and that knowledge has not expired.
func (db *DB) KnownBrowser(ctx context.Context, userID, hash string, now time.Time) (bool, error) {
	var n int
	err := db.queryRow(ctx, `SELECT COUNT(*) FROM known_browsers WHERE user_id = ? AND browser_hash = ? AND expires_at > ?`, userID, hash, micros(now)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("known browser: %w", err)
	}
	return n > 0, nil
}
