package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
}

// CreatePending stores a pending sign-in.
func (db *DB) CreatePending(ctx context.Context, p Pending) error {
	_, err := db.exec(ctx, `INSERT INTO pending_signins (id, token_hash, user_id, created_at, expires_at, failures, ip, user_agent)
		VALUES (?, ?, ?, ?, ?, 0, ?, ?)`, p.ID, p.TokenHash, p.UserID, micros(p.CreatedAt), micros(p.ExpiresAt), p.IP, p.UserAgent)
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

// FailPending counts a wrong code against a pending sign-in and returns
// the failures so far.
func (db *DB) FailPending(ctx context.Context, id string) (int, error) {
	var n int
	if err := db.writeRow(ctx, `UPDATE pending_signins SET failures = failures + 1 WHERE id = ? RETURNING failures`, id).Scan(&n); err != nil {
		return 0, fmt.Errorf("fail pending sign-in: %w", err)
	}
	return n, nil
}

// CompletePending marks a pending sign-in as finished, once.
func (db *DB) CompletePending(ctx context.Context, id string, now time.Time) (bool, error) {
	res, err := db.exec(ctx, `UPDATE pending_signins SET done_at = ? WHERE id = ? AND done_at IS NULL`, micros(now), id)
	if err != nil {
		return false, fmt.Errorf("complete pending sign-in: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Device is a browser the user asked not to be asked for codes on. Only
// the SHA-256 of its token is stored.
type Device struct {
	ID           string
	UserID       string
	TokenHash    string
	Label        string
	UserAgent    string
	CreatedAt    time.Time
	LastUsedAt   time.Time
	LastIP       string
	ExpiresAt    time.Time
	MaxExpiresAt time.Time
}

const deviceCols = "id, user_id, token_hash, label, user_agent, created_at, last_used_at, last_ip, expires_at, max_expires_at"

func scanDevice(row interface{ Scan(...any) error }) (Device, error) {
	var d Device
	var created, used, exp, maxExp int64
	err := row.Scan(&d.ID, &d.UserID, &d.TokenHash, &d.Label, &d.UserAgent, &created, &used, &d.LastIP, &exp, &maxExp)
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, err
	}
	d.CreatedAt, d.LastUsedAt, d.ExpiresAt, d.MaxExpiresAt = fromMicros(created), fromMicros(used), fromMicros(exp), fromMicros(maxExp)
	return d, nil
}

// CreateDevice remembers a device.
func (db *DB) CreateDevice(ctx context.Context, d Device) error {
	_, err := db.exec(ctx, `INSERT INTO devices (`+deviceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.UserID, d.TokenHash, d.Label, d.UserAgent, micros(d.CreatedAt), micros(d.LastUsedAt), d.LastIP, micros(d.ExpiresAt), micros(d.MaxExpiresAt))
	if err != nil {
		return fmt.Errorf("create device: %w", err)
	}
	return nil
}

// DeviceByTokenHash finds the user's unexpired device with that token.
func (db *DB) DeviceByTokenHash(ctx context.Context, userID, hash string, now time.Time) (Device, error) {
	d, err := scanDevice(db.queryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE token_hash = ? AND user_id = ? AND expires_at > ?`, hash, userID, micros(now)))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return d, fmt.Errorf("device: %w", err)
	}
	return d, err
}

// UseDevice records a sign-in on a device and slides its expiry.
func (db *DB) UseDevice(ctx context.Context, id, ip string, now, expires time.Time) error {
	_, err := db.exec(ctx, `UPDATE devices SET last_used_at = ?, last_ip = ?, expires_at = ? WHERE id = ?`, micros(now), ip, micros(expires), id)
	if err != nil {
		return fmt.Errorf("use device: %w", err)
	}
	return nil
}

// Devices lists the user's unexpired devices, most recently used first.
func (db *DB) Devices(ctx context.Context, userID string, now time.Time) ([]Device, error) {
	rows, err := db.query(ctx, `SELECT `+deviceCols+` FROM devices WHERE user_id = ? AND expires_at > ? ORDER BY last_used_at DESC, id`, userID, micros(now))
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	out := []Device{}
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("list devices: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteDevice forgets one device.
func (db *DB) DeleteDevice(ctx context.Context, userID, id string) error {
	res, err := db.exec(ctx, `DELETE FROM devices WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteDevices forgets every device of the user and says how many.
func (db *DB) DeleteDevices(ctx context.Context, userID string) (int64, error) {
	res, err := db.exec(ctx, `DELETE FROM devices WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fmt.Errorf("delete devices: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// MarkStepUp records that the session just re-verified (kind "password" or
// "second_factor") and raises its assurance level.
func (db *DB) MarkStepUp(ctx context.Context, sessionID, kind string, aal int, now time.Time) error {
	_, err := db.exec(ctx, `UPDATE sessions SET stepup_at = ?, stepup_kind = ?, aal = CASE WHEN aal < ? THEN ? ELSE aal END WHERE id = ?`,
		micros(now), kind, aal, aal, sessionID)
	if err != nil {
		return fmt.Errorf("mark step-up: %w", err)
	}
	return nil
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
