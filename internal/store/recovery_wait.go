package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// A recovery with a waiting period is for someone who lost every second
// method: requested from the challenge (the password was right), proved
// by a link to the account's address, then a wait during which every
// address and phone is told and anyone with a second step can stop it.
// Each step is one conditional UPDATE, so a link works once and two
// instances never both send a reminder or finish a recovery.

// How a recovery ended (RecoveryWait.Outcome).
const (
	RecoveryCancelled = "cancelled" // by a cancel link
	RecoverySignedIn  = "signed_in" // a sign-in completed a second step
	RecoveryCompleted = "completed"
	RecoveryReplaced  = "replaced" // a newer request replaced an unconfirmed one
	RecoveryExpired   = "expired"  // its link was never opened in time
)

// RecoveryWait is one recovery. The hashes of its links are not read
// back: they are looked up, never shown.
type RecoveryWait struct {
	ID     string
	UserID string
	// RequestedAt is when it was asked for; ConfirmBy when its e-mailed
	// link stops working.
	RequestedAt, ConfirmBy time.Time
	// ConfirmedAt is when the link was opened and the wait began (zero
	// before); ReadyAt when the wait ends; RemindAt when the halfway
	// reminder is due (zero once claimed, or ended).
	ConfirmedAt, ReadyAt, RemindAt, RemindedAt time.Time
	// BrowserHash is the hash of the browser id that confirmed it: only
	// that browser can finish it.
	BrowserHash string
	EndedAt     time.Time
	Outcome     string
}

// Open reports whether the recovery has not ended.
func (r RecoveryWait) Open() bool { return r.EndedAt.IsZero() }

// Waiting reports whether the recovery was confirmed and has not ended.
func (r RecoveryWait) Waiting() bool { return r.Open() && !r.ConfirmedAt.IsZero() }

// ErrRecoveryUnderWay refuses a new recovery while a confirmed one is
// waiting: an account has one open recovery at a time.
var ErrRecoveryUnderWay = errors.New("store: a recovery is already under way")

const recoveryCols = "id, user_id, requested_at, confirm_by, confirmed_at, ready_at, remind_at, reminded_at, browser_hash, ended_at, outcome"

func scanRecoveryWait(row interface{ Scan(...any) error }) (RecoveryWait, error) {
	var r RecoveryWait
	var requested, confirmBy int64
	var confirmed, ready, remind, reminded, ended sql.NullInt64
	err := row.Scan(&r.ID, &r.UserID, &requested, &confirmBy, &confirmed, &ready, &remind, &reminded, &r.BrowserHash, &ended, &r.Outcome)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, err
	}
	r.RequestedAt, r.ConfirmBy = fromMicros(requested), fromMicros(confirmBy)
	r.ConfirmedAt, r.ReadyAt, r.RemindAt = nullMicros(confirmed), nullMicros(ready), nullMicros(remind)
	r.RemindedAt, r.EndedAt = nullMicros(reminded), nullMicros(ended)
	return r, nil
}

// CreateRecoveryWait opens recovery r for r.UserID with the hash of its
// confirmation link, when the transaction commits. An open
// recovery whose link was not opened yet is replaced (or, its link
// expired, closed); one already waiting is not: ErrRecoveryUnderWay.
func (t *Tx) CreateRecoveryWait(ctx context.Context, r RecoveryWait, confirmHash string) error {
	now := micros(r.RequestedAt)
	_, err := t.exec(ctx, `UPDATE recovery_waits SET open_user = NULL, ended_at = ?,
		outcome = CASE WHEN confirm_by > ? THEN 'replaced' ELSE 'expired' END
		WHERE open_user = ? AND confirmed_at IS NULL`, now, now, r.UserID)
	if err != nil {
		return fmt.Errorf("create recovery: %w", err)
	}
	res, err := t.exec(ctx, `INSERT INTO recovery_waits (id, user_id, open_user, confirm_hash, confirm_by, requested_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (open_user) DO NOTHING`,
		r.ID, r.UserID, r.UserID, confirmHash, micros(r.ConfirmBy), now)
	if err != nil {
		return fmt.Errorf("create recovery: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrRecoveryUnderWay
	}
	if _, err := t.exec(ctx, `UPDATE users SET recovery_open_at = ? WHERE id = ?`, now, r.UserID); err != nil {
		return fmt.Errorf("create recovery: %w", err)
	}
	return nil
}

// OpenRecoveryWait is the user's open recovery, or ErrNotFound.
func (db *DB) OpenRecoveryWait(ctx context.Context, userID string) (RecoveryWait, error) {
	r, err := scanRecoveryWait(db.queryRow(ctx, `SELECT `+recoveryCols+` FROM recovery_waits WHERE open_user = ?`, userID))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return r, fmt.Errorf("open recovery: %w", err)
	}
	return r, err
}

// RecoveryWaitByConfirm is the recovery whose confirmation link has
// hash, in whatever state, or ErrNotFound (the pages say what became of
// it).
func (db *DB) RecoveryWaitByConfirm(ctx context.Context, hash string) (RecoveryWait, error) {
	return db.recoveryBy(ctx, `confirm_hash = ?`, hash)
}

// RecoveryWaitByCancel is the recovery one of whose cancel links has
// hash, or ErrNotFound.
func (db *DB) RecoveryWaitByCancel(ctx context.Context, hash string) (RecoveryWait, error) {
	return db.recoveryBy(ctx, `(cancel_hash = ? OR remind_hash = ?)`, hash, hash)
}

func (db *DB) recoveryBy(ctx context.Context, where string, args ...any) (RecoveryWait, error) {
	r, err := scanRecoveryWait(db.queryRow(ctx, `SELECT `+recoveryCols+` FROM recovery_waits WHERE `+where, args...))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return r, fmt.Errorf("recovery: %w", err)
	}
	return r, err
}

// ConfirmRecoveryWait starts the wait of the open, unconfirmed recovery
// whose link has hash, still usable at now: it is ready at readyAt, its
// reminder due at remindAt, cancelHash is the hash of the cancel link
// its notices carry, and only the browser whose id hashes to browserHash
// can finish it. The link works once; ErrNotFound covers
// unknown, expired, used and ended links alike.
func (t *Tx) ConfirmRecoveryWait(ctx context.Context, hash, cancelHash, browserHash string, now, readyAt, remindAt time.Time) (RecoveryWait, error) {
	r, err := scanRecoveryWait(t.writeRow(ctx, `UPDATE recovery_waits SET confirmed_at = ?, ready_at = ?, remind_at = ?, browser_hash = ?, cancel_hash = ?
		WHERE confirm_hash = ? AND confirmed_at IS NULL AND ended_at IS NULL AND confirm_by > ?
		RETURNING `+recoveryCols, micros(now), micros(readyAt), micros(remindAt), browserHash, cancelHash, hash, micros(now)))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return r, fmt.Errorf("confirm recovery: %w", err)
	}
	return r, err
}

// CancelRecoveryWait ends the open recovery one of whose cancel links has
// hash. ErrNotFound: no such link, or its recovery already ended.
func (t *Tx) CancelRecoveryWait(ctx context.Context, hash string, now time.Time) (RecoveryWait, error) {
	r, err := t.endRecovery(ctx, `(cancel_hash = ? OR remind_hash = ?)`, RecoveryCancelled, now, hash, hash)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return r, fmt.Errorf("cancel recovery: %w", err)
	}
	return r, err
}

// EndRecoveryWait ends the user's open recovery, if any, with outcome
// (RecoverySignedIn), and clears the user's mark either way. ErrNotFound:
// none was open.
func (t *Tx) EndRecoveryWait(ctx context.Context, userID, outcome string, now time.Time) (RecoveryWait, error) {
	r, err := t.endRecovery(ctx, `open_user = ?`, outcome, now, userID)
	if errors.Is(err, ErrNotFound) {
		if _, err := t.exec(ctx, `UPDATE users SET recovery_open_at = NULL WHERE id = ?`, userID); err != nil {
			return r, fmt.Errorf("end recovery: %w", err)
		}
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("end recovery: %w", err)
	}
	return r, nil
}

// CompleteRecoveryWait ends the user's recovery as completed when its
// wait is over at now and browserHash is the browser that confirmed it.
// ErrNotFound: no recovery of the user is ready for that browser.
func (t *Tx) CompleteRecoveryWait(ctx context.Context, userID, browserHash string, now time.Time) (RecoveryWait, error) {
	r, err := t.endRecovery(ctx, `open_user = ? AND browser_hash = ? AND confirmed_at IS NOT NULL AND ready_at <= ?`,
		RecoveryCompleted, now, userID, browserHash, micros(now))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return r, fmt.Errorf("complete recovery: %w", err)
	}
	return r, err
}

// endRecovery ends the open recovery matching where, and clears its
// user's mark.
func (t *Tx) endRecovery(ctx context.Context, where, outcome string, now time.Time, args ...any) (RecoveryWait, error) {
	r, err := scanRecoveryWait(t.writeRow(ctx, `UPDATE recovery_waits SET open_user = NULL, remind_at = NULL, ended_at = ?, outcome = ?
		WHERE ended_at IS NULL AND `+where+` RETURNING `+recoveryCols, append([]any{micros(now), outcome}, args...)...))
	if err != nil {
		return r, err
	}
	if _, err := t.exec(ctx, `UPDATE users SET recovery_open_at = NULL WHERE id = ?`, r.UserID); err != nil {
		return r, err
	}
	return r, nil
}

// DueRecoveryReminders lists up to limit waiting recoveries whose halfway
// reminder is due at now.
func (db *DB) DueRecoveryReminders(ctx context.Context, now time.Time, limit int) ([]RecoveryWait, error) {
	rows, err := db.query(ctx, `SELECT `+recoveryCols+` FROM recovery_waits WHERE remind_at <= ? AND ended_at IS NULL ORDER BY remind_at LIMIT ?`, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due recovery reminders: %w", err)
	}
	defer rows.Close()
	var out []RecoveryWait
	for rows.Next() {
		r, err := scanRecoveryWait(rows)
		if err != nil {
			return nil, fmt.Errorf("due recovery reminders: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("due recovery reminders: %w", err)
	}
	return out, nil
}

// ClaimRecoveryReminder takes the halfway reminder of recovery id, still
// due and open at now, for the caller to send in this transaction, with
// the hash of the reminder's own cancel link. It reports false when
// another sender claimed it first or the recovery ended.
func (t *Tx) ClaimRecoveryReminder(ctx context.Context, id, remindHash string, now time.Time) (bool, error) {
	res, err := t.exec(ctx, `UPDATE recovery_waits SET remind_at = NULL, reminded_at = ?, remind_hash = ?
		WHERE id = ? AND remind_at IS NOT NULL AND remind_at <= ? AND ended_at IS NULL`, micros(now), remindHash, id, micros(now))
	if err != nil {
		return false, fmt.Errorf("claim recovery reminder: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
