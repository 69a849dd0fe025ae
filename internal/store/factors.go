package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"twostep/internal/factor"
)

// Factor is a second-factor method of a user: an authenticator app or a
// set of recovery codes. Secret is sealed (package secret); it is never
// stored in the clear.
type Factor struct {
	ID          string
	UserID      string
	Kind        factor.Kind
	Label       string
	Role        factor.Role
	Status      factor.Status
	Secret      string
	LastStep    int64
	DriftSteps  int64
	CreatedAt   time.Time
	ConfirmedAt time.Time
	LastUsedAt  time.Time
	ExpiresAt   time.Time // pending factors only
	// RecipientHash is a keyed hash of where codes go (the E.164 number of
	// a phone, the address of an e-mail method), for limits across
	// accounts; Masked is the recipient as shown ("•••678").
	RecipientHash string
	Masked        string
	// SessionID is, while the factor is pending, the session that added
	// it: only that session may see or confirm it.
	SessionID string
	// AMR is what a success with the factor proves, when that was fixed
	// as it was confirmed (a security key: "hwk", a synced passkey
	// "swk"); empty for kinds whose method always says the same.
	AMR string
}

const factorCols = "id, user_id, kind, label, role, status, secret, last_step, drift_steps, created_at, confirmed_at, last_used_at, expires_at, recipient_hash, masked, session_id, amr"

func scanFactor(row interface{ Scan(...any) error }) (Factor, error) {
	var f Factor
	var created, expires int64
	var confirmed, used sql.NullInt64
	err := row.Scan(&f.ID, &f.UserID, &f.Kind, &f.Label, &f.Role, &f.Status, &f.Secret, &f.LastStep, &f.DriftSteps, &created, &confirmed, &used, &expires, &f.RecipientHash, &f.Masked, &f.SessionID, &f.AMR)
	if errors.Is(err, sql.ErrNoRows) {
		return f, ErrNotFound
	}
	if err != nil {
		return f, err
	}
	f.CreatedAt, f.ExpiresAt = fromMicros(created), fromMicros(expires)
	f.ConfirmedAt, f.LastUsedAt = nullMicros(confirmed), nullMicros(used)
	return f, nil
}

const insertFactor = `INSERT INTO factors (` + factorCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// factorValues are f's columns in factorCols order.
func factorValues(f Factor) []any {
	return []any{f.ID, f.UserID, f.Kind, f.Label, f.Role, f.Status, f.Secret, f.LastStep, f.DriftSteps,
		micros(f.CreatedAt), optMicros(f.ConfirmedAt), optMicros(f.LastUsedAt), micros(f.ExpiresAt), f.RecipientHash, f.Masked, f.SessionID, f.AMR}
}

// CreateFactor inserts a factor.
func (db *DB) CreateFactor(ctx context.Context, f Factor) error {
	_, err := db.exec(ctx, insertFactor, factorValues(f)...)
	if err != nil {
		return fmt.Errorf("create factor: %w", err)
	}
	return nil
}

// Factors lists the user's active factors and pending ones not yet
// expired, oldest first.
func (db *DB) Factors(ctx context.Context, userID string, now time.Time) ([]Factor, error) {
	rows, err := db.query(ctx, `SELECT `+factorCols+` FROM factors
		WHERE user_id = ? AND (status = 'active' OR expires_at > ?) ORDER BY created_at, id`, userID, micros(now))
	if err != nil {
		return nil, fmt.Errorf("list factors: %w", err)
	}
	defer rows.Close()
	var out []Factor
	for rows.Next() {
		f, err := scanFactor(rows)
		if err != nil {
			return nil, fmt.Errorf("list factors: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// FactorByID finds one of the user's factors (active, or pending and not
// expired).
func (db *DB) FactorByID(ctx context.Context, userID, id string, now time.Time) (Factor, error) {
	f, err := scanFactor(db.queryRow(ctx, `SELECT `+factorCols+` FROM factors
		WHERE id = ? AND user_id = ? AND (status = 'active' OR expires_at > ?)`, id, userID, micros(now)))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return f, fmt.Errorf("factor by id: %w", err)
	}
	if err == nil && db.meter != nil {
		db.meter.FactorRead(ctx, string(f.Kind))
	}
	return f, err
}

// ActivateFactor turns a pending factor active, recording the step of the
// code that confirmed it so that code cannot be used again.
func (db *DB) ActivateFactor(ctx context.Context, userID, id string, step, drift int64, now time.Time) error {
	res, err := db.exec(ctx, `UPDATE factors SET status = 'active', confirmed_at = ?, last_step = ?, drift_steps = ?, expires_at = 0
		WHERE id = ? AND user_id = ? AND status = 'pending' AND expires_at > ?`, micros(now), step, drift, id, userID, micros(now))
	if err != nil {
		return fmt.Errorf("activate factor: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// AcceptStep records that a code of the given time step was accepted for
// the factor — only if no code of that step or a later one was accepted
// before. It is the replay guard: one conditional UPDATE, so two instances
// cannot both accept the same code. It reports whether the step was new.
func (db *DB) AcceptStep(ctx context.Context, factorID string, step, drift int64, now time.Time) (bool, error) {
	res, err := db.exec(ctx, `UPDATE factors SET last_step = ?, drift_steps = ?, last_used_at = ?
		WHERE id = ? AND status = 'active' AND last_step < ?
		AND NOT EXISTS (SELECT 1 FROM totp_burned_steps WHERE factor_id = ? AND step = ?)`, step, drift, micros(now), factorID, step, factorID, step)
	if err != nil {
		return false, fmt.Errorf("accept step: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// BurnStep makes a time step of an authenticator app unusable: a code
// that matched it outside the accepted window was a wrong code, and must
// not be accepted when that step comes round (a guess would otherwise
// cover every future step the clock-drift hint reaches).
func (db *DB) BurnStep(ctx context.Context, factorID string, step int64, expires time.Time) error {
	_, err := db.exec(ctx, `INSERT INTO totp_burned_steps (factor_id, step, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (factor_id, step) DO NOTHING`, factorID, step, micros(expires))
	if err != nil {
		return fmt.Errorf("burn step: %w", err)
	}
	return nil
}

// UpdateFactor changes a factor's label and role.
func (db *DB) UpdateFactor(ctx context.Context, userID, id, label string, role factor.Role) error {
	return updateFactor(ctx, db, userID, id, label, role)
}

// UpdateFactor is DB.UpdateFactor inside a transaction.
func (t *Tx) UpdateFactor(ctx context.Context, userID, id, label string, role factor.Role) error {
	return updateFactor(ctx, t, userID, id, label, role)
}

func updateFactor(ctx context.Context, w writer, userID, id, label string, role factor.Role) error {
	res, err := w.exec(ctx, `UPDATE factors SET label = ?, role = ? WHERE id = ? AND user_id = ?`, label, role, id, userID)
	if err != nil {
		return fmt.Errorf("update factor: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteFactor removes one factor (and its recovery codes).
func (db *DB) DeleteFactor(ctx context.Context, userID, id string) error {
	return deleteFactor(ctx, db, userID, id)
}

// DeleteFactor is DB.DeleteFactor inside a transaction.
func (t *Tx) DeleteFactor(ctx context.Context, userID, id string) error {
	return deleteFactor(ctx, t, userID, id)
}

func deleteFactor(ctx context.Context, w writer, userID, id string) error {
	res, err := w.exec(ctx, `DELETE FROM factors WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return fmt.Errorf("delete factor: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
