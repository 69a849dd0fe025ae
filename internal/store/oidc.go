package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The OpenID Connect provider's tables: apps (clients), authorization
// requests and their codes, access and refresh tokens, signing keys and
// consents.

// ErrCodeUsed is returned for an authorization code that was exchanged
// already: the caller revokes what the first exchange issued.
var ErrCodeUsed = errors.New("authorization code already used")

// ErrTokenUsed is returned for a refresh token that was rotated already.
var ErrTokenUsed = errors.New("refresh token already used")

// OIDCClient is an app registered to sign people in through twostep.
type OIDCClient struct {
	ID                     string
	Name                   string
	SecretHash             string // SHA-256 of the secret; "" for a public client
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	FirstParty             bool
	IDTokenAlg             string // RS256 (when empty) or ES256
	CreatedAt              time.Time
}

// Public reports whether the client has no secret (a browser or native
// app).
func (c OIDCClient) Public() bool { return c.SecretHash == "" }

const oidcClientCols = "id, name, secret_hash, redirect_uris, post_logout_redirect_uris, first_party, id_token_alg, created_at"

func scanOIDCClient(row interface{ Scan(...any) error }) (OIDCClient, error) {
	var c OIDCClient
	var redirects, logouts string
	var first int
	var created int64
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &redirects, &logouts, &first, &c.IDTokenAlg, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, err
	}
	c.RedirectURIs, c.PostLogoutRedirectURIs = lines(redirects), lines(logouts)
	c.FirstParty, c.CreatedAt = first == 1, fromMicros(created)
	return c, nil
}

// lines splits a newline-separated column; "" is none.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// words splits a space-separated column; "" is none.
func words(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateOIDCClient registers an app.
func (db *DB) CreateOIDCClient(ctx context.Context, c OIDCClient) error {
	if c.IDTokenAlg == "" {
		c.IDTokenAlg = "RS256"
	}
	_, err := db.exec(ctx, `INSERT INTO oidc_clients (`+oidcClientCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, c.SecretHash, strings.Join(c.RedirectURIs, "\n"), strings.Join(c.PostLogoutRedirectURIs, "\n"),
		boolInt(c.FirstParty), c.IDTokenAlg, micros(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("create app: %w", err)
	}
	return nil
}

// OIDCClient returns the app with the given id, or ErrNotFound.
func (db *DB) OIDCClient(ctx context.Context, id string) (OIDCClient, error) {
	c, err := scanOIDCClient(db.queryRow(ctx, `SELECT `+oidcClientCols+` FROM oidc_clients WHERE id = ?`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return c, fmt.Errorf("find app: %w", err)
	}
	return c, err
}

// OIDCClients lists every app, oldest first.
func (db *DB) OIDCClients(ctx context.Context) ([]OIDCClient, error) {
	rows, err := db.query(ctx, `SELECT `+oidcClientCols+` FROM oidc_clients ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	defer rows.Close()
	var out []OIDCClient
	for rows.Next() {
		c, err := scanOIDCClient(rows)
		if err != nil {
			return nil, fmt.Errorf("list apps: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteOIDCClient removes an app with its requests, tokens and consents.
// It reports ErrNotFound for an unknown id.
func (db *DB) DeleteOIDCClient(ctx context.Context, id string) error {
	return db.InTx(ctx, func(tx *Tx) error {
		for _, q := range []string{
			`DELETE FROM oidc_auth_requests WHERE client_id = ?`,
			`DELETE FROM oidc_tokens WHERE client_id = ?`,
			`DELETE FROM oidc_consents WHERE client_id = ?`,
		} {
			if _, err := tx.exec(ctx, q, id); err != nil {
				return fmt.Errorf("remove app: %w", err)
			}
		}
		res, err := tx.exec(ctx, `DELETE FROM oidc_clients WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("remove app: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// AuthRequest is an app's request to sign someone in, from the moment it
// arrives until its code is exchanged (and kept after, until it expires,
// so a second exchange of the code is recognised).
type AuthRequest struct {
	ID        string
	ClientID  string
	Request   string // the validated request, as JSON (package oidc's)
	CreatedAt time.Time
	ExpiresAt time.Time
	// Set when the person has signed in far enough for the request.
	UserID     string
	SessionID  string
	AuthTime   time.Time
	AMR        []string
	ACR        string
	Done       bool
	CodeUsedAt time.Time
}

const authRequestCols = "id, client_id, request, created_at, expires_at, user_id, session_id, auth_time, amr, acr, done, code_used_at"

func scanAuthRequest(row interface{ Scan(...any) error }) (AuthRequest, error) {
	var a AuthRequest
	var created, expires, authTime, used int64
	var amr string
	var done int
	err := row.Scan(&a.ID, &a.ClientID, &a.Request, &created, &expires, &a.UserID, &a.SessionID, &authTime, &amr, &a.ACR, &done, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, err
	}
	a.CreatedAt, a.ExpiresAt, a.AuthTime, a.CodeUsedAt = fromMicros(created), fromMicros(expires), fromMicros(authTime), fromMicros(used)
	a.AMR, a.Done = words(amr), done == 1
	return a, nil
}

// CreateAuthRequest stores a new authorization request.
func (db *DB) CreateAuthRequest(ctx context.Context, a AuthRequest) error {
	_, err := db.exec(ctx, `INSERT INTO oidc_auth_requests (id, client_id, request, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		a.ID, a.ClientID, a.Request, micros(a.CreatedAt), micros(a.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create authorization request: %w", err)
	}
	return nil
}

// AuthRequestByID returns a live authorization request, or ErrNotFound
// when there is none or it has expired.
func (db *DB) AuthRequestByID(ctx context.Context, id string, now time.Time) (AuthRequest, error) {
	a, err := scanAuthRequest(db.queryRow(ctx, `SELECT `+authRequestCols+` FROM oidc_auth_requests WHERE id = ? AND expires_at > ?`, id, micros(now)))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return a, fmt.Errorf("find authorization request: %w", err)
	}
	return a, err
}

// CompleteAuthRequest records who signed in for request id, how and
// when, and marks it done. It reports ErrNotFound when the request is
// gone, expired, or its code was issued already.
func (db *DB) CompleteAuthRequest(ctx context.Context, a AuthRequest, now time.Time) error {
	res, err := db.exec(ctx, `UPDATE oidc_auth_requests SET user_id = ?, session_id = ?, auth_time = ?, amr = ?, acr = ?, done = 1
		WHERE id = ? AND expires_at > ? AND code_hash IS NULL`,
		a.UserID, a.SessionID, micros(a.AuthTime), strings.Join(a.AMR, " "), a.ACR, a.ID, micros(now))
	if err != nil {
		return fmt.Errorf("complete authorization request: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ExpireAuthRequest ends a request that was answered with an error.
func (db *DB) ExpireAuthRequest(ctx context.Context, id string, now time.Time) error {
	if _, err := db.exec(ctx, `DELETE FROM oidc_auth_requests WHERE id = ? AND code_hash IS NULL`, id); err != nil {
		return fmt.Errorf("end authorization request: %w", err)
	}
	return nil
}

// SaveAuthCode attaches the hash of the code issued for a done request;
// a request gets one code only. The code lives until codeExpires.
func (db *DB) SaveAuthCode(ctx context.Context, id, codeHash string, now, codeExpires time.Time) error {
	res, err := db.exec(ctx, `UPDATE oidc_auth_requests SET code_hash = ?, expires_at = ?
		WHERE id = ? AND done = 1 AND code_hash IS NULL AND expires_at > ?`, codeHash, micros(codeExpires), id, micros(now))
	if err != nil {
		return fmt.Errorf("save authorization code: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ConsumeAuthCode spends the code with the given hash, atomically: one
// caller gets the request; any other gets ErrCodeUsed with the request
// (whose tokens it should revoke), or ErrNotFound for an unknown or
// expired code. The row stays until it expires so reuse is recognised.
func (db *DB) ConsumeAuthCode(ctx context.Context, codeHash string, now time.Time) (AuthRequest, error) {
	a, err := scanAuthRequest(db.writeRow(ctx, `UPDATE oidc_auth_requests SET code_used_at = ?
		WHERE code_hash = ? AND code_used_at = 0 AND expires_at > ?
		RETURNING `+authRequestCols, micros(now), codeHash, micros(now)))
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return a, fmt.Errorf("consume authorization code: %w", err)
	}
	a, err = scanAuthRequest(db.queryRow(ctx, `SELECT `+authRequestCols+` FROM oidc_auth_requests WHERE code_hash = ? AND code_used_at <> 0`, codeHash))
	switch {
	case err == nil:
		return a, ErrCodeUsed
	case errors.Is(err, ErrNotFound):
		return a, ErrNotFound
	default:
		return a, fmt.Errorf("consume authorization code: %w", err)
	}
}

// OIDCToken is an access or refresh token issued to an app.
type OIDCToken struct {
	ID            string
	Kind          string // TokenAccess or TokenRefresh
	TokenHash     string // refresh tokens: SHA-256 of the value
	FamilyID      string
	AuthRequestID string
	ClientID      string
	UserID        string
	Scopes        []string
	Audience      []string
	AMR           []string
	ACR           string
	AuthTime      time.Time
	CreatedAt     time.Time
	ExpiresAt     time.Time
	UsedAt        time.Time
	RevokedAt     time.Time
}

// Token kinds.
const (
	TokenAccess  = "access"
	TokenRefresh = "refresh"
)

const oidcTokenCols = "id, kind, token_hash, family_id, auth_request_id, client_id, user_id, scopes, audience, amr, acr, auth_time, created_at, expires_at, used_at, revoked_at"

func scanOIDCToken(row interface{ Scan(...any) error }) (OIDCToken, error) {
	var t OIDCToken
	var hash sql.NullString
	var scopes, aud, amr string
	var authTime, created, expires, used, revoked int64
	err := row.Scan(&t.ID, &t.Kind, &hash, &t.FamilyID, &t.AuthRequestID, &t.ClientID, &t.UserID, &scopes, &aud, &amr, &t.ACR,
		&authTime, &created, &expires, &used, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, err
	}
	t.TokenHash = hash.String
	t.Scopes, t.Audience, t.AMR = words(scopes), words(aud), words(amr)
	t.AuthTime, t.CreatedAt, t.ExpiresAt = fromMicros(authTime), fromMicros(created), fromMicros(expires)
	t.UsedAt, t.RevokedAt = fromMicros(used), fromMicros(revoked)
	return t, nil
}

// CreateOIDCTokens stores tokens issued together (an access token and
// perhaps its refresh token), in one transaction. When rotated is not
// empty it is the refresh token being exchanged: it is marked used in
// the same transaction, and ErrTokenUsed is returned (storing nothing) if
// a concurrent exchange used it first.
func (db *DB) CreateOIDCTokens(ctx context.Context, rotated string, now time.Time, tokens ...OIDCToken) error {
	return db.InTx(ctx, func(tx *Tx) error {
		if rotated != "" {
			res, err := tx.exec(ctx, `UPDATE oidc_tokens SET used_at = ? WHERE id = ? AND used_at = 0 AND revoked_at = 0`, micros(now), rotated)
			if err != nil {
				return fmt.Errorf("rotate refresh token: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrTokenUsed
			}
		}
		for _, t := range tokens {
			var hash any
			if t.TokenHash != "" {
				hash = t.TokenHash
			}
			_, err := tx.exec(ctx, `INSERT INTO oidc_tokens (`+oidcTokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)`,
				t.ID, t.Kind, hash, t.FamilyID, t.AuthRequestID, t.ClientID, t.UserID, strings.Join(t.Scopes, " "),
				strings.Join(t.Audience, " "), strings.Join(t.AMR, " "), t.ACR, micros(t.AuthTime), micros(t.CreatedAt), micros(t.ExpiresAt))
			if err != nil {
				return fmt.Errorf("create token: %w", err)
			}
		}
		return nil
	})
}

// OIDCTokenByID returns a token by id, revoked or expired ones included
// (the caller judges), or ErrNotFound.
func (db *DB) OIDCTokenByID(ctx context.Context, id string) (OIDCToken, error) {
	t, err := scanOIDCToken(db.queryRow(ctx, `SELECT `+oidcTokenCols+` FROM oidc_tokens WHERE id = ?`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return t, fmt.Errorf("find token: %w", err)
	}
	return t, err
}

// RefreshTokenByHash returns a refresh token by the hash of its value,
// revoked, used or expired ones included, or ErrNotFound.
func (db *DB) RefreshTokenByHash(ctx context.Context, hash string) (OIDCToken, error) {
	t, err := scanOIDCToken(db.queryRow(ctx, `SELECT `+oidcTokenCols+` FROM oidc_tokens WHERE token_hash = ? AND kind = 'refresh'`, hash))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return t, fmt.Errorf("find refresh token: %w", err)
	}
	return t, err
}

// RevokeOIDCToken revokes one token.
func (db *DB) RevokeOIDCToken(ctx context.Context, id string, now time.Time) error {
	return db.revokeTokens(ctx, `id = ?`, id, now)
}

// RevokeOIDCFamily revokes every token descended from one sign-in.
func (db *DB) RevokeOIDCFamily(ctx context.Context, familyID string, now time.Time) error {
	return db.revokeTokens(ctx, `family_id = ?`, familyID, now)
}

// RevokeOIDCAuthRequestTokens revokes every token issued for the code of
// one authorization request (and everything refreshed from them).
func (db *DB) RevokeOIDCAuthRequestTokens(ctx context.Context, authRequestID string, now time.Time) error {
	return db.revokeTokens(ctx, `family_id IN (SELECT family_id FROM oidc_tokens WHERE auth_request_id = ?)`, authRequestID, now)
}

// RevokeOIDCClientTokens revokes every token one app holds for one user.
func (db *DB) RevokeOIDCClientTokens(ctx context.Context, userID, clientID string, now time.Time) error {
	_, err := db.exec(ctx, `UPDATE oidc_tokens SET revoked_at = ? WHERE user_id = ? AND client_id = ? AND revoked_at = 0`, micros(now), userID, clientID)
	if err != nil {
		return fmt.Errorf("revoke tokens: %w", err)
	}
	return nil
}

func (db *DB) revokeTokens(ctx context.Context, where, arg string, now time.Time) error {
	_, err := db.exec(ctx, `UPDATE oidc_tokens SET revoked_at = ? WHERE `+where+` AND revoked_at = 0`, micros(now), arg)
	if err != nil {
		return fmt.Errorf("revoke tokens: %w", err)
	}
	return nil
}

// revokeUserOIDCTokens revokes every app token of a user: with all their
// sessions, at a password reset or "sign out everywhere".
func revokeUserOIDCTokens(ctx context.Context, w writer, userID string, now time.Time) error {
	_, err := w.exec(ctx, `UPDATE oidc_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at = 0`, micros(now), userID)
	if err != nil {
		return fmt.Errorf("revoke app tokens: %w", err)
	}
	return nil
}

// SigningKey is a key ID tokens are signed with.
type SigningKey struct {
	ID        string // kid
	Alg       string // RS256 or ES256
	Sealed    string // PKCS #8 private key, sealed by package secret
	CreatedAt time.Time
	RetiredAt time.Time // zero while current
}

// SigningKeys lists the keys still published: current ones, and retired
// ones retired after publishedSince. Newest first.
func (db *DB) SigningKeys(ctx context.Context, publishedSince time.Time) ([]SigningKey, error) {
	rows, err := db.query(ctx, `SELECT id, alg, sealed, created_at, retired_at FROM oidc_signing_keys
		WHERE retired_at = 0 OR retired_at > ? ORDER BY created_at DESC, id`, micros(publishedSince))
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	defer rows.Close()
	var out []SigningKey
	for rows.Next() {
		var k SigningKey
		var created, retired int64
		if err := rows.Scan(&k.ID, &k.Alg, &k.Sealed, &created, &retired); err != nil {
			return nil, fmt.Errorf("list signing keys: %w", err)
		}
		k.CreatedAt, k.RetiredAt = fromMicros(created), fromMicros(retired)
		out = append(out, k)
	}
	return out, rows.Err()
}

// AddSigningKeys makes keys the current ones for their algorithms,
// retiring the keys they replace, in one transaction. When onlyIfNone is
// set, keys are added only where no instance has added one yet (the
// first start), so concurrent first starts agree on one key per algorithm.
func (db *DB) AddSigningKeys(ctx context.Context, onlyIfNone bool, now time.Time, keys ...SigningKey) error {
	return db.InTx(ctx, func(tx *Tx) error {
		for _, k := range keys {
			if onlyIfNone {
				var n int
				if err := tx.writeRow(ctx, `SELECT COUNT(*) FROM oidc_signing_keys WHERE alg = ?`, k.Alg).Scan(&n); err != nil {
					return fmt.Errorf("add signing key: %w", err)
				}
				if n > 0 {
					continue
				}
			}
			if _, err := tx.exec(ctx, `UPDATE oidc_signing_keys SET retired_at = ? WHERE alg = ? AND retired_at = 0`, micros(now), k.Alg); err != nil {
				return fmt.Errorf("retire signing key: %w", err)
			}
			if _, err := tx.exec(ctx, `INSERT INTO oidc_signing_keys (id, alg, sealed, created_at) VALUES (?, ?, ?, ?)`,
				k.ID, k.Alg, k.Sealed, micros(k.CreatedAt)); err != nil {
				return fmt.Errorf("add signing key: %w", err)
			}
		}
		return nil
	})
}

// Consent is what a person allowed an app.
type Consent struct {
	UserID    string
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// GrantConsent records that the user allows the app the given scopes,
// added to any allowed before.
func (db *DB) GrantConsent(ctx context.Context, userID, clientID string, scopes []string, now time.Time) error {
	return db.InTx(ctx, func(tx *Tx) error {
		var have string
		err := tx.writeRow(ctx, `SELECT scopes FROM oidc_consents WHERE user_id = ? AND client_id = ?`, userID, clientID).Scan(&have)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("grant consent: %w", err)
		}
		all := words(have)
		for _, s := range scopes {
			if !contains(all, s) {
				all = append(all, s)
			}
		}
		_, err = tx.exec(ctx, `INSERT INTO oidc_consents (user_id, client_id, scopes, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at`,
			userID, clientID, strings.Join(all, " "), micros(now), micros(now))
		if err != nil {
			return fmt.Errorf("grant consent: %w", err)
		}
		return nil
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Consents lists the apps a user has allowed, most recent first.
func (db *DB) Consents(ctx context.Context, userID string) ([]Consent, error) {
	rows, err := db.query(ctx, `SELECT user_id, client_id, scopes, created_at, updated_at FROM oidc_consents WHERE user_id = ? ORDER BY updated_at DESC, client_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	defer rows.Close()
	var out []Consent
	for rows.Next() {
		var c Consent
		var scopes string
		var created, updated int64
		if err := rows.Scan(&c.UserID, &c.ClientID, &scopes, &created, &updated); err != nil {
			return nil, fmt.Errorf("list consents: %w", err)
		}
		c.Scopes, c.CreatedAt, c.UpdatedAt = words(scopes), fromMicros(created), fromMicros(updated)
		out = append(out, c)
	}
	return out, rows.Err()
}

// RevokeConsent withdraws what the user allowed the app, and revokes the
// app's tokens for the user, in one transaction. It reports ErrNotFound
// when there was no consent.
func (db *DB) RevokeConsent(ctx context.Context, userID, clientID string, now time.Time) error {
	return db.InTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `DELETE FROM oidc_consents WHERE user_id = ? AND client_id = ?`, userID, clientID)
		if err != nil {
			return fmt.Errorf("revoke consent: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if _, err := tx.exec(ctx, `UPDATE oidc_tokens SET revoked_at = ? WHERE user_id = ? AND client_id = ? AND revoked_at = 0`, micros(now), userID, clientID); err != nil {
			return fmt.Errorf("revoke consent: %w", err)
		}
		return nil
	})
}
