package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Token is a single-use e-mailed token (verification or password reset);
// only its SHA-256 is stored.
type Token struct {
	Hash      string
	Kind      string
	UserID    string
	Email     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CreateToken stores a new token.
func (db *DB) CreateToken(ctx context.Context, t Token) error { return createToken(ctx, db, t) }

// CreateToken stores a new token when the transaction commits.
func (tx *Tx) CreateToken(ctx context.Context, t Token) error { return createToken(ctx, tx, t) }

// CreateTokenForUser stores a new token only if the user t.UserID exists.
// A reset request for an unknown address runs the same statement with an
// empty user id: it writes nothing but costs the same.
func (tx *Tx) CreateTokenForUser(ctx context.Context, t Token) error {
	_, err := tx.exec(ctx, `INSERT INTO tokens (hash, kind, user_id, email, created_at, expires_at)
		SELECT ?, ?, id, ?, CAST(? AS BIGINT), CAST(? AS BIGINT) FROM users WHERE id = ?`,
		t.Hash, t.Kind, t.Email, micros(t.CreatedAt), micros(t.ExpiresAt), t.UserID)
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

func createToken(ctx context.Context, w writer, t Token) error {
	_, err := w.exec(ctx, `INSERT INTO tokens (hash, kind, user_id, email, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.Hash, t.Kind, t.UserID, t.Email, micros(t.CreatedAt), micros(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

// ConsumeToken marks an unexpired, unused token of kind as used and returns
// it, in one conditional UPDATE so two requests cannot both use it.
// ErrNotFound covers unknown, expired and already-used tokens alike.
func (db *DB) ConsumeToken(ctx context.Context, hash, kind string, now time.Time) (Token, error) {
	return consumeToken(ctx, db, hash, kind, now)
}

// ConsumeToken uses a token inside a transaction: if the transaction
// rolls back, the token stays usable.
func (tx *Tx) ConsumeToken(ctx context.Context, hash, kind string, now time.Time) (Token, error) {
	return consumeToken(ctx, tx, hash, kind, now)
}

func consumeToken(ctx context.Context, w writer, hash, kind string, now time.Time) (Token, error) {
	t := Token{Hash: hash, Kind: kind}
	var created, expires int64
	err := w.writeRow(ctx, `UPDATE tokens SET used_at = ? WHERE hash = ? AND kind = ? AND used_at IS NULL AND expires_at > ?
		RETURNING user_id, email, created_at, expires_at`, micros(now), hash, kind, micros(now)).
		Scan(&t.UserID, &t.Email, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("consume token: %w", err)
	}
	t.CreatedAt, t.ExpiresAt = fromMicros(created), fromMicros(expires)
	return t, nil
}

// PeekToken reports whether a token of kind is still usable, without
// using it (to show the reset form only for a live link).
func (db *DB) PeekToken(ctx context.Context, hash, kind string, now time.Time) (Token, error) {
	t := Token{Hash: hash, Kind: kind}
	var created, expires int64
	err := db.queryRow(ctx, `SELECT user_id, email, created_at, expires_at FROM tokens WHERE hash = ? AND kind = ? AND used_at IS NULL AND expires_at > ?`,
		hash, kind, micros(now)).Scan(&t.UserID, &t.Email, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("peek token: %w", err)
	}
	t.CreatedAt, t.ExpiresAt = fromMicros(created), fromMicros(expires)
	return t, nil
}

// UseAllTokens marks every open token of kind for the user as used, so an
// older reset link stops working once a newer one has been used.
func (db *DB) UseAllTokens(ctx context.Context, userID, kind string, now time.Time) error {
	return useAllTokens(ctx, db, userID, kind, now)
}

// UseAllTokens marks every open token of kind for the user as used when
// the transaction commits.
func (tx *Tx) UseAllTokens(ctx context.Context, userID, kind string, now time.Time) error {
	return useAllTokens(ctx, tx, userID, kind, now)
}

func useAllTokens(ctx context.Context, w writer, userID, kind string, now time.Time) error {
	_, err := w.exec(ctx, `UPDATE tokens SET used_at = ? WHERE user_id = ? AND kind = ? AND used_at IS NULL`, micros(now), userID, kind)
	if err != nil {
		return fmt.Errorf("use tokens: %w", err)
	}
	return nil
}
