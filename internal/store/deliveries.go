package store

import (
	"context"
	"fmt"
	"time"
)

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
