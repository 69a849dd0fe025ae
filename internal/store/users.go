package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrEmailTaken is returned when a sign-up uses an e-mail already registered.
var ErrEmailTaken = errors.New("store: e-mail already registered")

// User is an account.
type User struct {
	ID                string
	Email             string
	PasswordHash      string
	EmailVerifiedAt   time.Time
	TwoStepEnabled    bool
	DefaultFactorID   string
	CreatedAt         time.Time
	PasswordChangedAt time.Time
	// Hold is what an operator put on the account, read with the user so
	// a sign-in reads the row once (its PasswordChangedAt is left zero:
	// the user's own is above).
	Hold Hold
	// RecoveryOpenAt is set while the account may have an open recovery
	// with a waiting period (recovery_wait.go): a sign-in looks for one
	// only then.
	RecoveryOpenAt time.Time
	// Language is the language the person chose (a BCP 47 tag), "" for
	// none: pages follow the browser then, and messages the site's
	// default.
	Language string
}

const userCols = "id, email, password_hash, email_verified_at, two_step_enabled, created_at, password_changed_at, default_factor_id"

// userSelect is what reading a user selects: its columns and the holds.
const userSelect = userCols + ", disabled_at, disabled_reason, password_reset_required_at, recovery_open_at, language"

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var verified sql.NullInt64
	var twoStep int
	var created, changed int64
	var disabled, reset, recovery sql.NullInt64
	err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &verified, &twoStep, &created, &changed, &u.DefaultFactorID,
		&disabled, &u.Hold.DisabledReason, &reset, &recovery, &u.Language)
	if errors.Is(err, sql.ErrNoRows) {
		return u, ErrNotFound
	}
	if err != nil {
		return u, err
	}
	u.EmailVerifiedAt = nullMicros(verified)
	u.TwoStepEnabled = twoStep != 0
	u.CreatedAt, u.PasswordChangedAt = fromMicros(created), fromMicros(changed)
	u.Hold.DisabledAt, u.Hold.ResetRequiredAt = nullMicros(disabled), nullMicros(reset)
	u.RecoveryOpenAt = nullMicros(recovery)
	return u, nil
}

// CreateUser inserts u, or returns ErrEmailTaken.
func (db *DB) CreateUser(ctx context.Context, u User) error { return createUser(ctx, db, u) }

// CreateUser inserts u when the transaction commits, or returns
// ErrEmailTaken.
func (t *Tx) CreateUser(ctx context.Context, u User) error { return createUser(ctx, t, u) }

func createUser(ctx context.Context, w writer, u User) error {
	res, err := w.exec(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, 0, ?, ?, '')
		ON CONFLICT (email) DO NOTHING`,
		u.ID, u.Email, u.PasswordHash, optMicros(u.EmailVerifiedAt), micros(u.CreatedAt), micros(u.PasswordChangedAt))
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrEmailTaken
	}
	return nil
}

// UserByEmail finds a user by normalised e-mail.
func (db *DB) UserByEmail(ctx context.Context, email string) (User, error) {
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userSelect+` FROM users WHERE email = ?`, email))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return u, fmt.Errorf("user by email: %w", err)
	}
	return u, err
}

// UserByID finds a user by id.
func (db *DB) UserByID(ctx context.Context, id string) (User, error) {
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userSelect+` FROM users WHERE id = ?`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return u, fmt.Errorf("user by id: %w", err)
	}
	return u, err
}

// SetLanguage saves the language userID chose ("" to follow the
// browser again).
func (db *DB) SetLanguage(ctx context.Context, userID, lang string) error {
	res, err := db.exec(ctx, `UPDATE users SET language = ? WHERE id = ?`, lang, userID)
	if err != nil {
		return fmt.Errorf("set language: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// SetPassword stores a new password hash, as a change or reset.
func (db *DB) SetPassword(ctx context.Context, userID, hash string, at time.Time) error {
	return setPassword(ctx, db, userID, hash, at)
}

// SetPassword stores a new password hash when the transaction commits.
func (t *Tx) SetPassword(ctx context.Context, userID, hash string, at time.Time) error {
	return setPassword(ctx, t, userID, hash, at)
}

func setPassword(ctx context.Context, w writer, userID, hash string, at time.Time) error {
	res, err := w.exec(ctx, `UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?`, hash, micros(at), userID)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// UpgradePasswordHash replaces a hash made with old parameters, only if the
// password has not changed since it was read.
func (db *DB) UpgradePasswordHash(ctx context.Context, userID, oldHash, newHash string) error {
	_, err := db.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`, newHash, userID, oldHash)
	if err != nil {
		return fmt.Errorf("upgrade password hash: %w", err)
	}
	return nil
}

// MarkEmailVerified records that the user proved they read their mailbox,
// if the address is still the one the link was sent to.
func (db *DB) MarkEmailVerified(ctx context.Context, userID, email string, at time.Time) error {
	_, err := markEmailVerified(ctx, db, userID, email, at)
	return err
}

// MarkEmailVerified records, when the transaction commits, that the user
// proved they read their mailbox (a password reset link was used), and
// reports whether the address was unverified until now.
func (t *Tx) MarkEmailVerified(ctx context.Context, userID, email string, at time.Time) (bool, error) {
	return markEmailVerified(ctx, t, userID, email, at)
}

func markEmailVerified(ctx context.Context, w writer, userID, email string, at time.Time) (bool, error) {
	res, err := w.exec(ctx, `UPDATE users SET email_verified_at = ? WHERE id = ? AND email = ? AND email_verified_at IS NULL`, micros(at), userID, email)
	if err != nil {
		return false, fmt.Errorf("mark email verified: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ClearTwoStep turns two-step verification off and removes every method
// of the user (and with them recovery codes and sent codes), when the
// transaction commits. It reports whether two-step was on and how many
// methods were removed.
func (t *Tx) ClearTwoStep(ctx context.Context, userID string) (wasOn bool, removed int64, err error) {
	res, err := t.exec(ctx, `UPDATE users SET two_step_enabled = 0, default_factor_id = '' WHERE id = ? AND two_step_enabled <> 0`, userID)
	if err != nil {
		return false, 0, fmt.Errorf("clear two-step: %w", err)
	}
	on, _ := res.RowsAffected()
	res, err = t.exec(ctx, `DELETE FROM factors WHERE user_id = ?`, userID)
	if err != nil {
		return false, 0, fmt.Errorf("clear two-step: %w", err)
	}
	removed, _ = res.RowsAffected()
	return on == 1, removed, nil
}

// SetTwoStep turns two-step verification on or off for the user and sets
// the default method. Turning it off deletes every factor and device in
// the same transaction.
func (db *DB) SetTwoStep(ctx context.Context, userID string, enabled bool, defaultFactorID string) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("set two-step: %w", err)
	}
	defer tx.Rollback()
	on := 0
	if enabled {
		on = 1
	}
	if _, err := db.txExec(ctx, tx, `UPDATE users SET two_step_enabled = ?, default_factor_id = ? WHERE id = ?`, on, defaultFactorID, userID); err != nil {
		return fmt.Errorf("set two-step: %w", err)
	}
	if !enabled {
		for _, q := range []string{`DELETE FROM factors WHERE user_id = ?`, `DELETE FROM devices WHERE user_id = ?`} {
			if _, err := db.txExec(ctx, tx, q, userID); err != nil {
				return fmt.Errorf("set two-step: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("set two-step: %w", err)
	}
	return nil
}

// SetDefaultFactor chooses the method the sign-in challenge asks for first.
func (db *DB) SetDefaultFactor(ctx context.Context, userID, factorID string) error {
	return setDefaultFactor(ctx, db, userID, factorID)
}

// SetDefaultFactor is DB.SetDefaultFactor inside a transaction.
func (t *Tx) SetDefaultFactor(ctx context.Context, userID, factorID string) error {
	return setDefaultFactor(ctx, t, userID, factorID)
}

func setDefaultFactor(ctx context.Context, w writer, userID, factorID string) error {
	if _, err := w.exec(ctx, `UPDATE users SET default_factor_id = ? WHERE id = ?`, factorID, userID); err != nil {
		return fmt.Errorf("set default factor: %w", err)
	}
	return nil
}
