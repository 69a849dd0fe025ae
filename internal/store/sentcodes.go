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

// LiveSentCode returns the factor's newest code that is unused, unexpired
// and has attempts left.
func (db *DB) LiveSentCode(ctx context.Context, factorID string, now time.Time, maxAttempts int) (SentCode, error) {
	var c SentCode
	var created, expires, sent int64
	err := db.queryRow(ctx, `SELECT id, factor_id, code_hash, sealed_code, created_at, expires_at, last_sent_at, sends, attempts
		FROM sent_codes WHERE factor_id = ? AND used_at IS NULL AND expires_at > ? AND attempts < ?
		ORDER BY created_at DESC LIMIT 1`, factorID, micros(now), maxAttempts).
		Scan(&c.ID, &c.FactorID, &c.CodeHash, &c.SealedCode, &created, &expires, &sent, &c.Sends, &c.Attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("live sent code: %w", err)
	}
	c.CreatedAt, c.ExpiresAt, c.LastSentAt = fromMicros(created), fromMicros(expires), fromMicros(sent)
	return c, nil
}

// LastSend returns when a code for the factor was last sent by channel
// (any channel when empty; zero if never), for the resend cooldown.
func (db *DB) LastSend(ctx context.Context, factorID, channel string) (time.Time, error) {
	var at sql.NullInt64
	if err := db.queryRow(ctx, `SELECT MAX(last_sent_at) FROM sent_codes WHERE factor_id = ? AND (? = '' OR last_channel = ?)`,
		factorID, channel, channel).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("last send: %w", err)
	}
	return nullMicros(at), nil
}

// CreateSentCode stores a new code.
func (db *DB) CreateSentCode(ctx context.Context, c SentCode) error {
	_, err := db.exec(ctx, `INSERT INTO sent_codes (id, factor_id, code_hash, sealed_code, created_at, expires_at, last_sent_at, last_channel, sends, attempts)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 0)`, c.ID, c.FactorID, c.CodeHash, c.SealedCode, micros(c.CreatedAt), micros(c.ExpiresAt), micros(c.LastSentAt), c.LastChannel)
	if err != nil {
		return fmt.Errorf("create sent code: %w", err)
	}
	return nil
}

// MarkResent records another send of the same code.
func (db *DB) MarkResent(ctx context.Context, id, channel string, at time.Time) error {
	if _, err := db.exec(ctx, `UPDATE sent_codes SET sends = sends + 1, last_sent_at = ?, last_channel = ? WHERE id = ?`, micros(at), channel, id); err != nil {
		return fmt.Errorf("mark resent: %w", err)
	}
	return nil
}

// FailSentCode counts a wrong attempt against a code.
func (db *DB) FailSentCode(ctx context.Context, id string) error {
	if _, err := db.exec(ctx, `UPDATE sent_codes SET attempts = attempts + 1 WHERE id = ?`, id); err != nil {
		return fmt.Errorf("fail sent code: %w", err)
	}
	return nil
}

// UseSentCode consumes a code once: a conditional UPDATE, so two requests
// cannot both use it.
func (db *DB) UseSentCode(ctx context.Context, id string, now time.Time, maxAttempts int) (bool, error) {
	res, err := db.exec(ctx, `UPDATE sent_codes SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ? AND attempts < ?`,
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

// Delivery is one recorded delivery attempt; the recipient is masked.
type Delivery struct {
	ID         string    `json:"id"`
	UserID     string    `json:"user_id,omitempty"`
	Channel    string    `json:"channel"`
	Provider   string    `json:"provider"`
	Recipient  string    `json:"recipient"`
	ProviderID string    `json:"provider_id,omitempty"`
	Status     string    `json:"status"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// AddDelivery records an attempt.
func (db *DB) AddDelivery(ctx context.Context, d Delivery) error {
	_, err := db.exec(ctx, `INSERT INTO deliveries (id, user_id, channel, provider, recipient, provider_id, status, error, duration_ms, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.ID, d.UserID, d.Channel, d.Provider, d.Recipient, d.ProviderID, d.Status, d.Error,
		d.DurationMS, micros(d.CreatedAt), micros(d.UpdatedAt))
	if err != nil {
		return fmt.Errorf("add delivery: %w", err)
	}
	return nil
}

// UpdateDeliveryStatus records a provider's status callback.
func (db *DB) UpdateDeliveryStatus(ctx context.Context, provider, providerID, status, errText string, at time.Time) (bool, error) {
	res, err := db.exec(ctx, `UPDATE deliveries SET status = ?, error = ?, updated_at = ? WHERE provider = ? AND provider_id = ? AND provider_id <> ''`,
		status, errText, micros(at), provider, providerID)
	if err != nil {
		return false, fmt.Errorf("update delivery: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Deliveries lists recent attempts, newest first.
func (db *DB) Deliveries(ctx context.Context, limit int) ([]Delivery, error) {
	rows, err := db.query(ctx, `SELECT id, user_id, channel, provider, recipient, provider_id, status, error, duration_ms, created_at, updated_at
		FROM deliveries ORDER BY created_at DESC, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	out := []Delivery{}
	for rows.Next() {
		var d Delivery
		var c, u int64
		if err := rows.Scan(&d.ID, &d.UserID, &d.Channel, &d.Provider, &d.Recipient, &d.ProviderID, &d.Status, &d.Error, &d.DurationMS, &c, &u); err != nil {
			return nil, fmt.Errorf("list deliveries: %w", err)
		}
		d.CreatedAt, d.UpdatedAt = fromMicros(c), fromMicros(u)
		out = append(out, d)
	}
	return out, rows.Err()
}
