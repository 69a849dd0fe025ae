package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrCredentialTaken is a security key's credential id already stored, on
// this account or another: an id names one key, and one account.
var ErrCredentialTaken = errors.New("store: credential already registered")

// WebAuthnCredential is the public half of a security key or passkey, the
// proof behind a webauthn factor. Byte strings are base64url (no padding).
type WebAuthnCredential struct {
	FactorID     string
	UserID       string
	CredentialID string
	PublicKey    string
	SignCount    uint32
	// The flags of the authenticator data: the person was present, was
	// verified (PIN, biometrics); the key may be synced to other devices
	// (BackupEligible), and is (BackupState).
	UserPresent, UserVerified   bool
	BackupEligible, BackupState bool
	Discoverable                bool // a passkey: found by the browser without a user name
	Transports                  string
	AAGUID                      string
	AttestationType             string
	Attachment                  string // "platform", "cross-platform" or ""
	CloneSuspected              bool
	CreatedAt                   time.Time
}

const credentialCols = "c.factor_id, c.user_id, c.credential_id, c.public_key, c.sign_count, c.user_present, c.user_verified, c.backup_eligible, c.backup_state, c.discoverable, c.transports, c.aaguid, c.attestation_type, c.attachment, c.clone_suspected, c.created_at"

func scanCredential(row interface{ Scan(...any) error }) (WebAuthnCredential, error) {
	var c WebAuthnCredential
	var count, created int64
	err := row.Scan(&c.FactorID, &c.UserID, &c.CredentialID, &c.PublicKey, &count, &c.UserPresent, &c.UserVerified, &c.BackupEligible, &c.BackupState,
		&c.Discoverable, &c.Transports, &c.AAGUID, &c.AttestationType, &c.Attachment, &c.CloneSuspected, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	c.SignCount, c.CreatedAt = uint32(count), fromMicros(created)
	return c, err
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ActivateWebAuthnFactor stores the credential that confirms pending
// factor f and turns f active with amr, in one transaction: or neither,
// with ErrCredentialTaken when the credential id is stored already, and
// ErrNotFound when f is no longer pending.
func (db *DB) ActivateWebAuthnFactor(ctx context.Context, f Factor, c WebAuthnCredential, amr string, now time.Time) error {
	return db.InTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE factors SET status = 'active', confirmed_at = ?, expires_at = 0, amr = ?
			WHERE id = ? AND user_id = ? AND status = 'pending' AND expires_at > ?`, micros(now), amr, f.ID, f.UserID, micros(now))
		if err != nil {
			return fmt.Errorf("activate webauthn factor: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		res, err = tx.exec(ctx, `INSERT INTO webauthn_credentials (factor_id, user_id, credential_id, public_key, sign_count, user_present, user_verified,
			backup_eligible, backup_state, discoverable, transports, aaguid, attestation_type, attachment, clone_suspected, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT (credential_id) DO NOTHING`,
			f.ID, f.UserID, c.CredentialID, c.PublicKey, int64(c.SignCount), flag(c.UserPresent), flag(c.UserVerified),
			flag(c.BackupEligible), flag(c.BackupState), flag(c.Discoverable), c.Transports, c.AAGUID, c.AttestationType, c.Attachment, micros(now))
		if err != nil {
			return fmt.Errorf("store webauthn credential: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrCredentialTaken
		}
		return nil
	})
}

// WebAuthnCredentials lists the credentials of the user's active factors,
// oldest first.
func (db *DB) WebAuthnCredentials(ctx context.Context, userID string) ([]WebAuthnCredential, error) {
	rows, err := db.query(ctx, `SELECT `+credentialCols+` FROM webauthn_credentials c JOIN factors f ON f.id = c.factor_id
		WHERE c.user_id = ? AND f.status = 'active' ORDER BY c.created_at, c.factor_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list webauthn credentials: %w", err)
	}
	defer rows.Close()
	var out []WebAuthnCredential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("list webauthn credentials: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// WebAuthnCredentialByID finds the credential with the given id, of an
// active factor of any account (a passkey names its account).
func (db *DB) WebAuthnCredentialByID(ctx context.Context, credentialID string) (WebAuthnCredential, error) {
	c, err := scanCredential(db.queryRow(ctx, `SELECT `+credentialCols+` FROM webauthn_credentials c JOIN factors f ON f.id = c.factor_id
		WHERE c.credential_id = ? AND f.status = 'active'`, credentialID))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return c, fmt.Errorf("webauthn credential: %w", err)
	}
	return c, err
}

// UseWebAuthnCredential records an accepted assertion: the new signature
// counter and backup state, and when the factor was last used. A
// credential suspected of being cloned is not touched (ErrNotFound).
func (db *DB) UseWebAuthnCredential(ctx context.Context, factorID string, signCount uint32, userVerified, backupState bool, now time.Time) error {
	return db.InTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE webauthn_credentials SET sign_count = ?, backup_state = ?,
			user_verified = CASE WHEN ? = 1 THEN 1 ELSE user_verified END
			WHERE factor_id = ? AND clone_suspected = 0`, int64(signCount), flag(backupState), flag(userVerified), factorID)
		if err != nil {
			return fmt.Errorf("use webauthn credential: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if _, err := tx.exec(ctx, `UPDATE factors SET last_used_at = ? WHERE id = ?`, micros(now), factorID); err != nil {
			return fmt.Errorf("use webauthn credential: %w", err)
		}
		return nil
	})
}

// MarkWebAuthnCloned flags a credential whose signature counter went
// backwards: it is refused from now on. It reports whether this call
// flagged it (false: it was flagged already).
func (db *DB) MarkWebAuthnCloned(ctx context.Context, factorID string) (bool, error) {
	res, err := db.exec(ctx, `UPDATE webauthn_credentials SET clone_suspected = 1 WHERE factor_id = ? AND clone_suspected = 0`, factorID)
	if err != nil {
		return false, fmt.Errorf("mark webauthn credential cloned: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Ceremony is a WebAuthn registration or assertion begun and not yet
// finished: the challenge sent (only its hash is a key), who may finish
// it, and the library's state between the two halves.
type Ceremony struct {
	ID            string
	ChallengeHash string
	Purpose       string
	// Owner is what the ceremony is bound to: only a finish by the same
	// owner consumes it.
	Owner       string
	UserID      string
	FactorID    string
	SessionData string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// CreateCeremony stores a ceremony begun.
func (db *DB) CreateCeremony(ctx context.Context, c Ceremony) error {
	_, err := db.exec(ctx, `INSERT INTO webauthn_ceremonies (id, challenge_hash, purpose, owner, user_id, factor_id, session_data, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, c.ChallengeHash, c.Purpose, c.Owner, c.UserID, c.FactorID, c.SessionData, micros(c.CreatedAt), micros(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create webauthn ceremony: %w", err)
	}
	return nil
}

// ConsumeCeremony uses up the live ceremony of the challenge's hash, of
// that purpose and owner, in one conditional UPDATE: of two finishes with
// the same challenge, on any number of instances, one gets the ceremony
// and the other ErrNotFound — as do an unknown, expired or other owner's
// challenge.
func (db *DB) ConsumeCeremony(ctx context.Context, challengeHash, purpose, owner string, now time.Time) (Ceremony, error) {
	var c Ceremony
	var created, expires int64
	err := db.writeRow(ctx, `UPDATE webauthn_ceremonies SET used_at = ?
		WHERE challenge_hash = ? AND purpose = ? AND owner = ? AND used_at IS NULL AND expires_at > ?
		RETURNING id, challenge_hash, purpose, owner, user_id, factor_id, session_data, created_at, expires_at`,
		micros(now), challengeHash, purpose, owner, micros(now)).
		Scan(&c.ID, &c.ChallengeHash, &c.Purpose, &c.Owner, &c.UserID, &c.FactorID, &c.SessionData, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("consume webauthn ceremony: %w", err)
	}
	c.CreatedAt, c.ExpiresAt = fromMicros(created), fromMicros(expires)
	return c, nil
}
