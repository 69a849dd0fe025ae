package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Pending is a sign-in whose password was right and which waits for a
// second factor. It has its own attempt budget and expires.
type Pending struct {
	ID        string
	TokenHash string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	Failures  int
	IP        string
	UserAgent string
	// FirstAMR is how the first step was passed, as amr values (RFC
	// 8176); empty means the password.
	FirstAMR []string
}

// CreatePending stores a pending sign-in.
func (db *DB) CreatePending(ctx context.Context, p Pending) error {
	_, err := db.exec(ctx, `INSERT INTO pending_signins (id, token_hash, user_id, created_at, expires_at, failures, ip, user_agent, first_amr)
		VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)`, p.ID, p.TokenHash, p.UserID, micros(p.CreatedAt), micros(p.ExpiresAt), p.IP, p.UserAgent, strings.Join(p.FirstAMR, " "))
	if err != nil {
		return fmt.Errorf("create pending sign-in: %w", err)
	}
	return nil
}

// PendingByTokenHash finds a live pending sign-in: not finished, not
// expired and with fewer than maxFailures wrong codes.
func (db *DB) PendingByTokenHash(ctx context.Context, hash string, now time.Time, maxFailures int) (Pending, error) {
	var p Pending
	var created, expires int64
	err := db.queryRow(ctx, `SELECT id, token_hash, user_id, created_at, expires_at, failures, ip, user_agent FROM pending_signins
		WHERE token_hash = ? AND done_at IS NULL AND expires_at > ? AND failures < ?`, hash, micros(now), maxFailures).
		Scan(&p.ID, &p.TokenHash, &p.UserID, &created, &expires, &p.Failures, &p.IP, &p.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("pending sign-in: %w", err)
	}
	p.CreatedAt, p.ExpiresAt = fromMicros(created), fromMicros(expires)
	return p, nil
}

// CompletePending marks a pending sign-in as finished, once.
func (db *DB) CompletePending(ctx context.Context, id string, now time.Time) (bool, error) {
	return completePending(ctx, db, id, now)
}

// CompletePending is DB.CompletePending inside a transaction.
func (t *Tx) CompletePending(ctx context.Context, id string, now time.Time) (bool, error) {
	return completePending(ctx, t, id, now)
}

func completePending(ctx context.Context, w writer, id string, now time.Time) (bool, error) {
	res, err := w.exec(ctx, `UPDATE pending_signins SET done_at = ? WHERE id = ? AND done_at IS NULL`, micros(now), id)
	if err != nil {
		return false, fmt.Errorf("complete pending sign-in: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RevokePendingSignins ends every unfinished pending sign-in of the user
// (after a password reset or change, a password typed before it must not
// lead anywhere), when the transaction commits, and says how many.
func (t *Tx) RevokePendingSignins(ctx context.Context, userID string, now time.Time) (int64, error) {
	res, err := t.exec(ctx, `UPDATE pending_signins SET done_at = ? WHERE user_id = ? AND done_at IS NULL`, micros(now), userID)
	if err != nil {
		return 0, fmt.Errorf("revoke pending sign-ins: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// ReservePendingByToken finds a live pending sign-in by its token's hash
// and spends one of its attempts, in one statement: the lookup a code
// check needs, and the reservation that keeps a burst of guesses within
// maxAttempts. ErrNotFound covers unknown, finished, expired and spent
// sign-ins alike. Failures in the returned row counts this attempt.
func (db *DB) ReservePendingByToken(ctx context.Context, hash string, now time.Time, maxAttempts int) (Pending, error) {
	var p Pending
	var created, expires int64
	var first string
	err := db.writeRow(ctx, `UPDATE pending_signins SET failures = failures + 1
		WHERE token_hash = ? AND done_at IS NULL AND expires_at > ? AND failures < ?
		RETURNING id, token_hash, user_id, created_at, expires_at, failures, ip, user_agent, first_amr`, hash, micros(now), maxAttempts).
		Scan(&p.ID, &p.TokenHash, &p.UserID, &created, &expires, &p.Failures, &p.IP, &p.UserAgent, &first)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("reserve pending sign-in: %w", err)
	}
	p.CreatedAt, p.ExpiresAt = fromMicros(created), fromMicros(expires)
	p.FirstAMR = strings.Fields(first)
	return p, nil
}

// RefundPendingAttempt gives back an attempt reserved for a code that was
// never checked (a budget refused it first).
func (db *DB) RefundPendingAttempt(ctx context.Context, id string) error {
	if _, err := db.exec(ctx, `UPDATE pending_signins SET failures = failures - 1 WHERE id = ? AND failures > 0`, id); err != nil {
		return fmt.Errorf("refund pending attempt: %w", err)
	}
	return nil
}
