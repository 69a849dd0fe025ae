package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SentCode is a one-time code sent by text, call or e-mail. Only its hash
// is compared; the sealed copy lets a resend within its validity send the
// same code, so whichever message arrives first works.
type SentCode struct {
	ID         string
	FactorID   string
	CodeHash   string
	SealedCode string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSentAt time.Time
	// LastChannel is how it was last sent (sms, voice, email).
	LastChannel string
	Sends       int
	Attempts    int
}

const liveSentCodeQuery = `SELECT id, factor_id, code_hash, sealed_code, created_at, expires_at, last_sent_at, last_channel, sends, attempts
	FROM sent_codes WHERE factor_id = ? AND used_at IS NULL AND expires_at > ? AND attempts < ?
	ORDER BY created_at DESC LIMIT 1`

func scanSentCode(row *sql.Row) (SentCode, error) {
	var c SentCode
	var created, expires, sent int64
	err := row.Scan(&c.ID, &c.FactorID, &c.CodeHash, &c.SealedCode, &created, &expires, &sent, &c.LastChannel, &c.Sends, &c.Attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, err
	}
	c.CreatedAt, c.ExpiresAt, c.LastSentAt = fromMicros(created), fromMicros(expires), fromMicros(sent)
	return c, nil
}

// LiveSentCode returns the factor's newest code that is unused, unexpired
// and has attempts left.
func (db *DB) LiveSentCode(ctx context.Context, factorID string, now time.Time, maxAttempts int) (SentCode, error) {
	c, err := scanSentCode(db.queryRow(ctx, liveSentCodeQuery, factorID, micros(now), maxAttempts))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return c, fmt.Errorf("live sent code: %w", err)
	}
	return c, err
}

// LastSend returns when a code for the factor was last sent by channel
// (any channel when empty; zero if never), for the resend cooldown.
func (db *DB) LastSend(ctx context.Context, factorID, channel string) (time.Time, error) {
	var at sql.NullInt64
	if err := db.queryRow(ctx, `SELECT MAX(last_sent_at) FROM send_cooldowns WHERE factor_id = ? AND (? = '' OR channel = ?)`,
		factorID, channel, channel).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("last send: %w", err)
	}
	return nullMicros(at), nil
}

// ClaimSend takes the factor's resend cooldown for channel at now, unless
// a send that way is less than cooldown old. It is one conditional upsert,
// so of concurrent requests on any number of instances exactly one gets
// the slot. When refused, last says when the slot was taken.
func (db *DB) ClaimSend(ctx context.Context, factorID, channel string, now time.Time, cooldown time.Duration) (ok bool, last time.Time, err error) {
	var at int64
	err = db.writeRow(ctx, `INSERT INTO send_cooldowns (factor_id, channel, last_sent_at) VALUES (?, ?, ?)
		ON CONFLICT (factor_id, channel) DO UPDATE SET last_sent_at = excluded.last_sent_at
		WHERE send_cooldowns.last_sent_at <= ?
		RETURNING last_sent_at`, factorID, channel, micros(now), micros(now.Add(-cooldown))).Scan(&at)
	if err == nil {
		return true, fromMicros(at), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, time.Time{}, fmt.Errorf("claim send: %w", err)
	}
	last, err = db.LastSend(ctx, factorID, channel)
	return false, last, err
}

// ReleaseSend gives back a claim ClaimSend made at claimed, when nothing
// was sent after all, so the user may try again at once. A claim taken
// since by someone else is left alone. (Zero is "never": the slot's
// previous send was at least a cooldown old, or it could not be claimed.)
func (db *DB) ReleaseSend(ctx context.Context, factorID, channel string, claimed time.Time) error {
	if _, err := db.exec(ctx, `UPDATE send_cooldowns SET last_sent_at = 0 WHERE factor_id = ? AND channel = ? AND last_sent_at = ?`,
		factorID, channel, micros(claimed)); err != nil {
		return fmt.Errorf("release send: %w", err)
	}
	return nil
}

// IssueSentCode returns the factor's live code, or stores fresh and
// returns it when there is none, in one transaction that holds the
// factor's row: concurrent requests on any instance all get the same
// code. (SQLite's single writer serialises it; PostgreSQL locks the
// factor row.) A fresh code starts with no sends; MarkSent counts them.
// ErrNotFound means the factor is gone.
func (db *DB) IssueSentCode(ctx context.Context, fresh SentCode, now time.Time, maxAttempts int) (SentCode, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return SentCode{}, fmt.Errorf("issue sent code: %w", err)
	}
	defer tx.Rollback()
	lock := `SELECT id FROM factors WHERE id = ?`
	if db.pg {
		lock += ` FOR NO KEY UPDATE`
	}
	var id string
	if err := db.txQueryRow(ctx, tx, lock, fresh.FactorID).Scan(&id); errors.Is(err, sql.ErrNoRows) {
		return SentCode{}, ErrNotFound
	} else if err != nil {
		return SentCode{}, fmt.Errorf("issue sent code: %w", err)
	}
	c, err := scanSentCode(db.txQueryRow(ctx, tx, liveSentCodeQuery, fresh.FactorID, micros(now), maxAttempts))
	switch {
	case err == nil:
		return c, nil
	case !errors.Is(err, ErrNotFound):
		return SentCode{}, fmt.Errorf("issue sent code: %w", err)
	}
	if _, err := db.txExec(ctx, tx, `INSERT INTO sent_codes (id, factor_id, code_hash, sealed_code, created_at, expires_at, last_sent_at, last_channel, sends, attempts)
		VALUES (?, ?, ?, ?, ?, ?, 0, '', 0, 0)`, fresh.ID, fresh.FactorID, fresh.CodeHash, fresh.SealedCode, micros(fresh.CreatedAt), micros(fresh.ExpiresAt)); err != nil {
		return SentCode{}, fmt.Errorf("issue sent code: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return SentCode{}, fmt.Errorf("issue sent code: %w", err)
	}
	fresh.LastSentAt, fresh.LastChannel, fresh.Sends, fresh.Attempts = time.Time{}, "", 0, 0
	return fresh, nil
}

// MarkSent records a send of the code by channel.
func (db *DB) MarkSent(ctx context.Context, id, channel string, at time.Time) error {
	if _, err := db.exec(ctx, `UPDATE sent_codes SET sends = sends + 1, last_sent_at = ?, last_channel = ? WHERE id = ?`, micros(at), channel, id); err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	return nil
}

// ReserveSentCodeAttempt spends one attempt of the factor's newest live
// code (unused, unexpired) before a typed code is compared with it, and
// returns that code. ErrNotFound means there is none, or its attempts are
// spent. One conditional UPDATE, so concurrent guesses at one code get no
// more comparisons than its attempts.
func (db *DB) ReserveSentCodeAttempt(ctx context.Context, factorID string, now time.Time, maxAttempts int) (SentCode, error) {
	c, err := scanSentCode(db.writeRow(ctx, `UPDATE sent_codes SET attempts = attempts + 1
		WHERE id = (SELECT id FROM sent_codes WHERE factor_id = ? AND used_at IS NULL AND expires_at > ? ORDER BY created_at DESC LIMIT 1)
		AND attempts < ?
		RETURNING id, factor_id, code_hash, sealed_code, created_at, expires_at, last_sent_at, last_channel, sends, attempts`,
		factorID, micros(now), maxAttempts))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return c, fmt.Errorf("reserve sent code attempt: %w", err)
	}
	return c, err
}

// UseSentCode consumes a code once: a conditional UPDATE, so two requests
// cannot both use it. The attempt that carried it was reserved already
// (ReserveSentCodeAttempt), so it may be the last one.
func (db *DB) UseSentCode(ctx context.Context, id string, now time.Time, maxAttempts int) (bool, error) {
	res, err := db.exec(ctx, `UPDATE sent_codes SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ? AND attempts <= ?`,
		micros(now), id, micros(now), maxAttempts)
	if err != nil {
		return false, fmt.Errorf("use sent code: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 1 {
		db.exec(ctx, `UPDATE factors SET last_used_at = ? WHERE id = (SELECT factor_id FROM sent_codes WHERE id = ?)`, micros(now), id)
	}
	return n == 1, nil
}
