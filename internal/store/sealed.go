package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"twostep/internal/factor"
)

// Where sealed values live: each names its table, and each table seals its
// values under its own context, so key rotation must know which is which.
const (
	// SealedFactor is a factor's secret: an app's TOTP key, or the phone
	// number or address a text, call or e-mail factor sends codes to.
	SealedFactor = "factors"
	// SealedSentCode is the sealed copy of a sent code, kept so a resend
	// sends the same code.
	SealedSentCode = "sent_codes"
	// SealedServer is a server-wide secret such as the recovery pepper.
	SealedServer = "server_secrets"
	// SealedMail is a queued message's subject, body and code, kept until
	// it is sent or given up.
	SealedMail = "mail_queue"
	// SealedSigningKey is the private half of a key ID tokens are signed
	// with.
	SealedSigningKey = "oidc_signing_keys"
)

// SealedSecret is one value made by package secret, with what is needed to
// open it again: where it lives, its row (a factor or sent-code id, or a
// server secret's name) and, for factors, the factor's kind.
type SealedSecret struct {
	Table  string // SealedFactor, SealedSentCode, SealedServer, SealedMail or SealedSigningKey
	ID     string
	Kind   factor.Kind // the factor's kind; empty for other tables
	Sealed string
}

// AllSealedSecrets lists every sealed value in the database, for key
// rotation: factor secrets, sent codes, server secrets and queued mail.
func (db *DB) AllSealedSecrets(ctx context.Context) ([]SealedSecret, error) {
	rows, err := db.query(ctx, `
		SELECT 'factors', id, kind, secret FROM factors WHERE secret <> ''
		UNION ALL SELECT 'sent_codes', id, '', sealed_code FROM sent_codes WHERE sealed_code <> ''
		UNION ALL SELECT 'server_secrets', name, '', sealed FROM server_secrets
		UNION ALL SELECT 'mail_queue', id, '', sealed FROM mail_queue WHERE sealed <> ''
		UNION ALL SELECT 'oidc_signing_keys', id, '', sealed FROM oidc_signing_keys
		ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("list sealed secrets: %w", err)
	}
	defer rows.Close()
	var out []SealedSecret
	for rows.Next() {
		var s SealedSecret
		if err := rows.Scan(&s.Table, &s.ID, &s.Kind, &s.Sealed); err != nil {
			return nil, fmt.Errorf("list sealed secrets: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ReplaceSealedSecret swaps s's ciphertext for sealed if it is still
// s.Sealed (a compare-and-swap, so a value changed meanwhile is left
// alone). It reports whether the row was replaced.
func (db *DB) ReplaceSealedSecret(ctx context.Context, s SealedSecret, sealed string) (bool, error) {
	var q string
	switch s.Table {
	case SealedFactor:
		q = `UPDATE factors SET secret = ? WHERE id = ? AND secret = ?`
	case SealedSentCode:
		q = `UPDATE sent_codes SET sealed_code = ? WHERE id = ? AND sealed_code = ?`
	case SealedServer:
		q = `UPDATE server_secrets SET sealed = ? WHERE name = ? AND sealed = ?`
	case SealedMail:
		q = `UPDATE mail_queue SET sealed = ? WHERE id = ? AND sealed = ?`
	case SealedSigningKey:
		q = `UPDATE oidc_signing_keys SET sealed = ? WHERE id = ? AND sealed = ?`
	default:
		return false, fmt.Errorf("replace sealed secret: unknown table %q", s.Table)
	}
	res, err := db.exec(ctx, q, sealed, s.ID, s.Sealed)
	if err != nil {
		return false, fmt.Errorf("replace sealed secret: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ServerSecret returns the sealed server secret called name, creating it
// with create() when no instance has yet: the first writer wins, and every
// instance reads the same value.
func (db *DB) ServerSecret(ctx context.Context, name string, create func() string) (string, error) {
	var sealed string
	err := db.writeRow(ctx, `SELECT sealed FROM server_secrets WHERE name = ?`, name).Scan(&sealed)
	if err == nil {
		return sealed, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("server secret: %w", err)
	}
	if _, err := db.exec(ctx, `INSERT INTO server_secrets (name, sealed) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, create()); err != nil {
		return "", fmt.Errorf("server secret: %w", err)
	}
	if err := db.writeRow(ctx, `SELECT sealed FROM server_secrets WHERE name = ?`, name).Scan(&sealed); err != nil {
		return "", fmt.Errorf("server secret: %w", err)
	}
	return sealed, nil
}
