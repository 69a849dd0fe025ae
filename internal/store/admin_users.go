package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The operator's side of accounts (twostep users …): holds that refuse
// sign-in, listing and paging, long runs over every account, imports,
// and what a GDPR access request or erasure needs.

// Hold is what an operator put on an account.
type Hold struct {
	// DisabledAt is when the account was disabled (zero: it is not);
	// DisabledReason is the operator's reason.
	DisabledAt     time.Time
	DisabledReason string
	// ResetRequiredAt is when a new password was demanded (zero: never).
	ResetRequiredAt   time.Time
	PasswordChangedAt time.Time
}

// Disabled reports whether the account refuses every sign-in.
func (h Hold) Disabled() bool { return !h.DisabledAt.IsZero() }

// ResetRequired reports whether the password is refused until a new one
// is set: one was demanded, and none was set since.
func (h Hold) ResetRequired() bool {
	return !h.ResetRequiredAt.IsZero() && !h.PasswordChangedAt.After(h.ResetRequiredAt)
}

// UserHold reads the holds on the user's account.
func (db *DB) UserHold(ctx context.Context, userID string) (Hold, error) {
	var h Hold
	var disabled, reset sql.NullInt64
	var changed int64
	err := db.queryRow(ctx, `SELECT disabled_at, disabled_reason, password_reset_required_at, password_changed_at FROM users WHERE id = ?`, userID).
		Scan(&disabled, &h.DisabledReason, &reset, &changed)
	if errors.Is(err, sql.ErrNoRows) {
		return h, ErrNotFound
	}
	if err != nil {
		return h, fmt.Errorf("user hold: %w", err)
	}
	h.DisabledAt, h.ResetRequiredAt, h.PasswordChangedAt = nullMicros(disabled), nullMicros(reset), fromMicros(changed)
	return h, nil
}

// DisableUser disables the account when the transaction commits, and
// reports whether it was enabled until now.
func (t *Tx) DisableUser(ctx context.Context, userID, reason string, at time.Time) (bool, error) {
	res, err := t.exec(ctx, `UPDATE users SET disabled_at = ?, disabled_reason = ? WHERE id = ? AND disabled_at IS NULL`, micros(at), reason, userID)
	if err != nil {
		return false, fmt.Errorf("disable user: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// EnableUser lifts a disable when the transaction commits, and reports
// whether the account was disabled.
func (t *Tx) EnableUser(ctx context.Context, userID string) (bool, error) {
	res, err := t.exec(ctx, `UPDATE users SET disabled_at = NULL, disabled_reason = '' WHERE id = ? AND disabled_at IS NOT NULL`, userID)
	if err != nil {
		return false, fmt.Errorf("enable user: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RequirePasswordReset refuses the account's password from at until a
// new one is set, when the transaction commits.
func (t *Tx) RequirePasswordReset(ctx context.Context, userID string, at time.Time) error {
	if _, err := t.exec(ctx, `UPDATE users SET password_reset_required_at = ? WHERE id = ?`, micros(at), userID); err != nil {
		return fmt.Errorf("require password reset: %w", err)
	}
	return nil
}

// ForgetKnownBrowsers forgets every browser known to the account (their
// own password budgets and the marks of a passed second step), when the
// transaction commits.
func (t *Tx) ForgetKnownBrowsers(ctx context.Context, userID string) (int64, error) {
	res, err := t.exec(ctx, `DELETE FROM known_browsers WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fmt.Errorf("forget known browsers: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// UserSummary is a line of `twostep users list`.
type UserSummary struct {
	User
	Hold
	// Methods counts active second-step methods (recovery codes included).
	Methods int
	// LastSignIn is when the latest session began (zero: none kept).
	LastSignIn time.Time
}

// UserFilter pages through accounts in e-mail order.
type UserFilter struct {
	// Contains keeps e-mails containing it (case-insensitive).
	Contains string
	// After starts after this e-mail (keyset paging); Offset skips that
	// many first (page numbers).
	After  string
	Offset int
	Limit  int
}

// ListUsers lists accounts in e-mail order with their holds, method
// counts and latest sign-in.
func (db *DB) ListUsers(ctx context.Context, f UserFilter) ([]UserSummary, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.Contains != "" {
		where = append(where, `u.email LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscape(strings.ToLower(f.Contains))+"%")
	}
	if f.After != "" {
		where = append(where, "u.email > ?")
		args = append(args, f.After)
	}
	args = append(args, f.Limit, f.Offset)
	rows, err := db.query(ctx, `SELECT u.id, u.email, u.email_verified_at, u.two_step_enabled, u.created_at, u.password_changed_at,
			u.disabled_at, u.disabled_reason, u.password_reset_required_at,
			(SELECT COUNT(*) FROM factors f WHERE f.user_id = u.id AND f.status = 'active'),
			(SELECT MAX(s.created_at) FROM sessions s WHERE s.user_id = u.id)
		FROM users u WHERE `+strings.Join(where, " AND ")+` ORDER BY u.email LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []UserSummary{}
	for rows.Next() {
		var s UserSummary
		var verified, disabled, reset, last sql.NullInt64
		var twoStep int
		var created, changed int64
		if err := rows.Scan(&s.ID, &s.Email, &verified, &twoStep, &created, &changed, &disabled, &s.DisabledReason, &reset, &s.Methods, &last); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		s.EmailVerifiedAt, s.TwoStepEnabled = nullMicros(verified), twoStep != 0
		s.CreatedAt, s.User.PasswordChangedAt = fromMicros(created), fromMicros(changed)
		s.Hold.PasswordChangedAt = s.User.PasswordChangedAt
		s.DisabledAt, s.ResetRequiredAt, s.LastSignIn = nullMicros(disabled), nullMicros(reset), nullMicros(last)
		out = append(out, s)
	}
	return out, rows.Err()
}

// likeEscape escapes LIKE's wildcards (and the escape character) in s.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// UserIDsAfter returns up to limit accounts (id and e-mail) with ids above
// after, in id order: the batches of a run over every account.
func (db *DB) UserIDsAfter(ctx context.Context, after string, limit int) ([]User, error) {
	rows, err := db.query(ctx, `SELECT id, email FROM users WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("users after: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		if err := rows.Scan(&u.ID, &u.Email); err != nil {
			return nil, fmt.Errorf("users after: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Job is a resumable operator run over every account.
type Job struct {
	ID, Kind, Reason, Operator string
	StartedAt                  time.Time
	// Cursor is the last user id done; Done counts the accounts done.
	Cursor     string
	Done       int64
	FinishedAt time.Time
}

// UnfinishedJob returns the latest run of kind that has not finished, or
// ErrNotFound.
func (db *DB) UnfinishedJob(ctx context.Context, kind string) (Job, error) {
	var j Job
	var started int64
	err := db.queryRow(ctx, `SELECT id, kind, reason, operator, started_at, cursor, done FROM admin_jobs
		WHERE kind = ? AND finished_at IS NULL ORDER BY started_at DESC LIMIT 1`, kind).
		Scan(&j.ID, &j.Kind, &j.Reason, &j.Operator, &started, &j.Cursor, &j.Done)
	if errors.Is(err, sql.ErrNoRows) {
		return j, ErrNotFound
	}
	if err != nil {
		return j, fmt.Errorf("unfinished job: %w", err)
	}
	j.StartedAt = fromMicros(started)
	return j, nil
}

// CreateJob records the start of a run.
func (db *DB) CreateJob(ctx context.Context, j Job) error {
	_, err := db.exec(ctx, `INSERT INTO admin_jobs (id, kind, reason, operator, started_at, cursor, done) VALUES (?, ?, ?, ?, ?, '', 0)`,
		j.ID, j.Kind, j.Reason, j.Operator, micros(j.StartedAt))
	if err != nil {
		return fmt.Errorf("create job: %w", err)
	}
	return nil
}

// AdvanceJob moves the run's cursor past a batch of n accounts, when the
// transaction that did the batch commits.
func (t *Tx) AdvanceJob(ctx context.Context, id, cursor string, n int) error {
	if _, err := t.exec(ctx, `UPDATE admin_jobs SET cursor = ?, done = done + ? WHERE id = ?`, cursor, n, id); err != nil {
		return fmt.Errorf("advance job: %w", err)
	}
	return nil
}

// FinishJob marks the run done.
func (db *DB) FinishJob(ctx context.Context, id string, at time.Time) error {
	if _, err := db.exec(ctx, `UPDATE admin_jobs SET finished_at = ? WHERE id = ?`, micros(at), id); err != nil {
		return fmt.Errorf("finish job: %w", err)
	}
	return nil
}

// PolicySince returns when the named policy was first enforced, recording
// now as that time if it never was.
func (db *DB) PolicySince(ctx context.Context, name string, now time.Time) (time.Time, error) {
	var since int64
	err := db.queryRow(ctx, `SELECT since FROM policy_marks WHERE name = ?`, name).Scan(&since)
	if err == nil {
		return fromMicros(since), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, fmt.Errorf("policy since: %w", err)
	}
	if _, err := db.exec(ctx, `INSERT INTO policy_marks (name, since) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, micros(now)); err != nil {
		return time.Time{}, fmt.Errorf("policy since: %w", err)
	}
	if err := db.writeRow(ctx, `SELECT since FROM policy_marks WHERE name = ?`, name).Scan(&since); err != nil {
		return time.Time{}, fmt.Errorf("policy since: %w", err)
	}
	return fromMicros(since), nil
}

// Browser is a browser known to an account, without its hash.
type Browser struct {
	CreatedAt, LastUsedAt, ExpiresAt time.Time
}

// KnownBrowsers lists the browsers known to the account.
func (db *DB) KnownBrowsers(ctx context.Context, userID string) ([]Browser, error) {
	rows, err := db.query(ctx, `SELECT created_at, last_used_at, expires_at FROM known_browsers WHERE user_id = ? ORDER BY last_used_at DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("known browsers: %w", err)
	}
	defer rows.Close()
	out := []Browser{}
	for rows.Next() {
		var c, u, e int64
		if err := rows.Scan(&c, &u, &e); err != nil {
			return nil, fmt.Errorf("known browsers: %w", err)
		}
		out = append(out, Browser{fromMicros(c), fromMicros(u), fromMicros(e)})
	}
	return out, rows.Err()
}

// UserSessions lists every session of the user kept, ended ones too,
// newest first.
func (db *DB) UserSessions(ctx context.Context, userID string) ([]Session, error) {
	rows, err := db.query(ctx, `SELECT `+sessionCols+` FROM sessions WHERE user_id = ? ORDER BY created_at DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("user sessions: %w", err)
	}
	defer rows.Close()
	out := []Session{}
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("user sessions: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// AppToken is an app's token for a user, without its hash.
type AppToken struct {
	ID, Kind, ClientID, Scopes              string
	CreatedAt, ExpiresAt, UsedAt, RevokedAt time.Time
}

// UserAppTokens lists the app tokens issued for the user.
func (db *DB) UserAppTokens(ctx context.Context, userID string) ([]AppToken, error) {
	rows, err := db.query(ctx, `SELECT id, kind, client_id, scopes, created_at, expires_at, used_at, revoked_at FROM oidc_tokens WHERE user_id = ? ORDER BY created_at DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("user app tokens: %w", err)
	}
	defer rows.Close()
	out := []AppToken{}
	for rows.Next() {
		var t AppToken
		var c, e, u, r int64
		if err := rows.Scan(&t.ID, &t.Kind, &t.ClientID, &t.Scopes, &c, &e, &u, &r); err != nil {
			return nil, fmt.Errorf("user app tokens: %w", err)
		}
		t.CreatedAt, t.ExpiresAt, t.UsedAt, t.RevokedAt = fromMicros(c), fromMicros(e), fromMicros(u), fromMicros(r)
		out = append(out, t)
	}
	return out, rows.Err()
}

// UserMail lists the messages queued for the user (sealed bodies left
// out: they hold links), newest first.
func (db *DB) UserMail(ctx context.Context, userID string) ([]Mail, error) {
	rows, err := db.query(ctx, `SELECT `+mailCols+` FROM mail_queue WHERE user_id = ? ORDER BY created_at DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("user mail: %w", err)
	}
	defer rows.Close()
	out := []Mail{}
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, fmt.Errorf("user mail: %w", err)
		}
		m.Sealed = ""
		out = append(out, m)
	}
	return out, rows.Err()
}

// UserDeliveries lists the code deliveries made for the user (masked
// recipients), newest first.
func (db *DB) UserDeliveries(ctx context.Context, userID string) ([]Delivery, error) {
	rows, err := db.query(ctx, `SELECT id, user_id, channel, provider, recipient, provider_id, status, error, duration_ms, created_at, updated_at
		FROM deliveries WHERE user_id = ? ORDER BY created_at DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("user deliveries: %w", err)
	}
	defer rows.Close()
	out := []Delivery{}
	for rows.Next() {
		var d Delivery
		var c, u int64
		if err := rows.Scan(&d.ID, &d.UserID, &d.Channel, &d.Provider, &d.Recipient, &d.ProviderID, &d.Status, &d.Error, &d.DurationMS, &c, &u); err != nil {
			return nil, fmt.Errorf("user deliveries: %w", err)
		}
		d.CreatedAt, d.UpdatedAt = fromMicros(c), fromMicros(u)
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteUser erases the account when the transaction commits: the user
// row and everything that cascades from it (sessions, methods and their
// codes, remembered browsers, links, pending sign-ins), the app tokens,
// consents and sign-ins in progress, the queued mail and code deliveries,
// and the developer outbox's copies to the address. Its security events
// stay, anonymised: no account, address, browser or detail. It reports
// ErrNotFound for no such account.
func (t *Tx) DeleteUser(ctx context.Context, u User) error {
	for _, q := range []string{
		`UPDATE events SET user_id = NULL, ip = '', user_agent = '', detail = '' WHERE user_id = ?`,
		`DELETE FROM oidc_tokens WHERE user_id = ?`,
		`DELETE FROM oidc_consents WHERE user_id = ?`,
		`DELETE FROM oidc_auth_requests WHERE user_id = ?`,
		`DELETE FROM mail_queue WHERE user_id = ?`,
		`DELETE FROM deliveries WHERE user_id = ?`,
	} {
		if _, err := t.exec(ctx, q, u.ID); err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
	}
	if _, err := t.exec(ctx, `DELETE FROM outbox WHERE recipient = ?`, u.Email); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	res, err := t.exec(ctx, `DELETE FROM users WHERE id = ?`, u.ID)
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// RequirePasswordResetRange demands a new password, from at, of every
// account with an id in (after, last], and ends their sessions, app
// tokens and sign-ins in progress, when the transaction commits: a
// batch of a run over every account, in a few statements.
func (t *Tx) RequirePasswordResetRange(ctx context.Context, after, last string, at time.Time) error {
	in := `user_id IN (SELECT id FROM users WHERE id > ? AND id <= ?)`
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE users SET password_reset_required_at = ? WHERE id > ? AND id <= ?`, []any{micros(at), after, last}},
		{`UPDATE sessions SET revoked_at = ? WHERE ` + in + ` AND revoked_at IS NULL`, []any{micros(at), after, last}},
		{`UPDATE oidc_tokens SET revoked_at = ? WHERE ` + in + ` AND revoked_at = 0`, []any{micros(at), after, last}},
		{`UPDATE pending_signins SET done_at = ? WHERE ` + in + ` AND done_at IS NULL`, []any{micros(at), after, last}},
	} {
		if _, err := t.exec(ctx, q.sql, q.args...); err != nil {
			return fmt.Errorf("require password reset: %w", err)
		}
	}
	return nil
}
