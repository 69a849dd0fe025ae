package store

import (
	"context"
	"fmt"
	"time"
)

// RememberBrowser records that the browser whose id hashes to hash signed
// in to the user's account, until expires.
func (db *DB) RememberBrowser(ctx context.Context, userID, hash string, now, expires time.Time) error {
	return rememberBrowser(ctx, db, userID, hash, now, expires)
}

// RememberBrowser is DB.RememberBrowser inside a transaction.
func (t *Tx) RememberBrowser(ctx context.Context, userID, hash string, now, expires time.Time) error {
	return rememberBrowser(ctx, t, userID, hash, now, expires)
}

func rememberBrowser(ctx context.Context, w writer, userID, hash string, now, expires time.Time) error {
	_, err := w.exec(ctx, `INSERT INTO known_browsers (user_id, browser_hash, created_at, last_used_at, expires_at) VALUES (?, ?, ?, ?, ?)
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
