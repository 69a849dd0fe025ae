package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

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
	return createDevice(ctx, db, d)
}

// CreateDevice is DB.CreateDevice inside a transaction.
func (t *Tx) CreateDevice(ctx context.Context, d Device) error {
	return createDevice(ctx, t, d)
}

func createDevice(ctx context.Context, w writer, d Device) error {
	_, err := w.exec(ctx, `INSERT INTO devices (`+deviceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
	return deleteDevices(ctx, db, userID)
}

// DeleteDevices is DB.DeleteDevices inside a transaction.
func (t *Tx) DeleteDevices(ctx context.Context, userID string) (int64, error) {
	return deleteDevices(ctx, t, userID)
}

func deleteDevices(ctx context.Context, w writer, userID string) (int64, error) {
	res, err := w.exec(ctx, `DELETE FROM devices WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fmt.Errorf("delete devices: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
