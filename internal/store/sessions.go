package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Session is a signed-in browser or client. Only the SHA-256 of its token
// is stored.
type Session struct {
	ID              string
	TokenHash       string
	UserID          string
	AAL             int
	CreatedAt       time.Time
	AuthenticatedAt time.Time
	LastSeenAt      time.Time
	ExpiresAt       time.Time // absolute lifetime
	IP              string
	UserAgent       string
	RevokedAt       time.Time
	// StepUpAt is when the session last proved its user again (a password
	// or a second factor, as StepUpKind says), for sensitive actions.
	StepUpAt   time.Time
	StepUpKind string
	// AMR lists what the sign-in used, as RFC 8176 authentication-method
	// references ("pwd", "otp", "sms", "mfa"); stored space-separated.
	AMR []string
}

const sessionCols = "id, token_hash, user_id, aal, created_at, authenticated_at, last_seen_at, expires_at, ip, user_agent, revoked_at, stepup_at, stepup_kind, amr"

func scanSession(row interface{ Scan(...any) error }) (Session, error) {
	var s Session
	var created, authn, seen, expires int64
	var revoked sql.NullInt64
	var stepup int64
	var amr string
	err := row.Scan(&s.ID, &s.TokenHash, &s.UserID, &s.AAL, &created, &authn, &seen, &expires, &s.IP, &s.UserAgent, &revoked, &stepup, &s.StepUpKind, &amr)
	if errors.Is(err, sql.ErrNoRows) {
		return s, ErrNotFound
	}
	if err != nil {
		return s, err
	}
	s.CreatedAt, s.AuthenticatedAt, s.LastSeenAt, s.ExpiresAt = fromMicros(created), fromMicros(authn), fromMicros(seen), fromMicros(expires)
	s.RevokedAt = nullMicros(revoked)
	s.StepUpAt = fromMicros(stepup)
	s.AMR = splitAMR(amr)
	return s, nil
}

// joinAMR and splitAMR convert a session's amr to and from its column:
// space-separated, ” for none (read back as nil).
func joinAMR(amr []string) string { return strings.Join(amr, " ") }

func splitAMR(col string) []string {
	if col == "" {
		return nil
	}
	return strings.Fields(col)
}

// CreateSession inserts a new session.
func (db *DB) CreateSession(ctx context.Context, s Session) error {
	return createSession(ctx, db, s)
}

// CreateSession is DB.CreateSession inside a transaction.
func (t *Tx) CreateSession(ctx context.Context, s Session) error {
	return createSession(ctx, t, s)
}

func createSession(ctx context.Context, w writer, s Session) error {
	_, err := w.exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)`,
		s.ID, s.TokenHash, s.UserID, s.AAL, micros(s.CreatedAt), micros(s.AuthenticatedAt), micros(s.LastSeenAt), micros(s.ExpiresAt), s.IP, s.UserAgent,
		micros(s.StepUpAt), s.StepUpKind, joinAMR(s.AMR))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByTokenHash finds a session that is not revoked, whatever its age
// (the caller applies the timeouts), with its user: one query for what
// every signed-in request needs.
func (db *DB) SessionByTokenHash(ctx context.Context, hash string) (Session, User, error) {
	row := db.queryRow(ctx, `SELECT s.id, s.token_hash, s.user_id, s.aal, s.created_at, s.authenticated_at, s.last_seen_at, s.expires_at,
			s.ip, s.user_agent, s.revoked_at, s.stepup_at, s.stepup_kind, s.amr,
			u.id, u.email, u.password_hash, u.email_verified_at, u.two_step_enabled, u.created_at, u.password_changed_at, u.default_factor_id, u.language
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.revoked_at IS NULL`, hash)
	var sess Session
	var u User
	var created, authn, seen, expires, stepup, uCreated, uChanged int64
	var revoked, verified sql.NullInt64
	var twoStep int
	var amr string
	err := row.Scan(&sess.ID, &sess.TokenHash, &sess.UserID, &sess.AAL, &created, &authn, &seen, &expires, &sess.IP, &sess.UserAgent, &revoked, &stepup, &sess.StepUpKind, &amr,
		&u.ID, &u.Email, &u.PasswordHash, &verified, &twoStep, &uCreated, &uChanged, &u.DefaultFactorID, &u.Language)
	if errors.Is(err, sql.ErrNoRows) {
		return sess, u, ErrNotFound
	}
	if err != nil {
		return sess, u, fmt.Errorf("session by token: %w", err)
	}
	sess.CreatedAt, sess.AuthenticatedAt, sess.LastSeenAt, sess.ExpiresAt = fromMicros(created), fromMicros(authn), fromMicros(seen), fromMicros(expires)
	sess.RevokedAt, sess.StepUpAt = nullMicros(revoked), fromMicros(stepup)
	sess.AMR = splitAMR(amr)
	u.EmailVerifiedAt, u.TwoStepEnabled = nullMicros(verified), twoStep != 0
	u.CreatedAt, u.PasswordChangedAt = fromMicros(uCreated), fromMicros(uChanged)
	return sess, u, nil
}

// TouchSession records activity.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	_, err := db.exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?`, micros(at), id, micros(at))
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// ActiveSessions lists a user's sessions that are neither revoked nor past
// their absolute lifetime or idle deadline, newest first.
func (db *DB) ActiveSessions(ctx context.Context, userID string, now time.Time, idle time.Duration) ([]Session, error) {
	rows, err := db.query(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? AND last_seen_at > ?
		ORDER BY last_seen_at DESC, id`, userID, micros(now), micros(now.Add(-idle)))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// RevokeSession ends one of the user's sessions; ErrNotFound when the user
// has no such live session.
func (db *DB) RevokeSession(ctx context.Context, userID, id string, at time.Time) error {
	res, err := db.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL`, micros(at), id, userID)
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// RevokeSessions ends every live session of the user except keepID (which
// may be empty) and returns how many ended.
//
// Ending them all (keepID empty: a password reset, "sign out everywhere")
// revokes the user's app tokens too, in the same transaction.
func (db *DB) RevokeSessions(ctx context.Context, userID, keepID string, at time.Time) (n int64, err error) {
	err = db.InTx(ctx, func(tx *Tx) error {
		n, err = revokeSessions(ctx, tx, userID, keepID, at)
		return err
	})
	return n, err
}

// MarkStepUp records that the session just re-verified (kind "password" or
// "second_factor") and raises its assurance level. A non-empty amr
// replaces the session's; an empty one leaves it as it is.
func (db *DB) MarkStepUp(ctx context.Context, sessionID, kind string, aal int, amr []string, now time.Time) error {
	_, err := db.exec(ctx, `UPDATE sessions SET stepup_at = ?, stepup_kind = ?, aal = CASE WHEN aal < ? THEN ? ELSE aal END,
			amr = COALESCE(NULLIF(?, ''), amr) WHERE id = ?`,
		micros(now), kind, aal, aal, joinAMR(amr), sessionID)
	if err != nil {
		return fmt.Errorf("mark step-up: %w", err)
	}
	return nil
}

// RevokeSessions is DB.RevokeSessions inside a transaction: it ends every
// live session of the user except keepID when the transaction commits.
func (t *Tx) RevokeSessions(ctx context.Context, userID, keepID string, at time.Time) (int64, error) {
	return revokeSessions(ctx, t, userID, keepID, at)
}

func revokeSessions(ctx context.Context, w writer, userID, keepID string, at time.Time) (int64, error) {
	res, err := w.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND id <> ? AND revoked_at IS NULL AND expires_at > ?`, micros(at), userID, keepID, micros(at))
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	if keepID == "" {
		if err := revokeUserOIDCTokens(ctx, w, userID, at); err != nil {
			return 0, err
		}
	}
	return n, nil
}
