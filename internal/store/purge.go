package store

import (
	"context"
	"fmt"
	"time"
)

// PurgeExpired deletes rate-limit rows, sessions and tokens nobody can use
// any more.
func (db *DB) PurgeExpired(ctx context.Context, now time.Time) error {
	n := micros(now)
	for _, q := range []string{
		`DELETE FROM rate_limits WHERE expires_at < ?`,
		`DELETE FROM tokens WHERE expires_at < ?`,
		`DELETE FROM sessions WHERE expires_at < ?`,
		`DELETE FROM oidc_auth_requests WHERE expires_at < ?`,
		`DELETE FROM oidc_tokens WHERE expires_at < ?`,
		`DELETE FROM known_browsers WHERE expires_at < ?`,
		`DELETE FROM pending_signins WHERE expires_at < ?`,
		`DELETE FROM sent_codes WHERE expires_at < ?`,
		`DELETE FROM devices WHERE expires_at < ?`,
		`DELETE FROM factors WHERE status = 'pending' AND expires_at < ?`,
		`DELETE FROM totp_burned_steps WHERE expires_at < ?`,
		`DELETE FROM webauthn_ceremonies WHERE expires_at < ?`,
	} {
		if _, err := db.exec(ctx, q, n); err != nil {
			return fmt.Errorf("purge: %w", err)
		}
	}
	return nil
}
