package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Mail is one outgoing message in the durable queue. Its subject, body and
// code are sealed together by the caller (they carry reset and
// verification links); the store never sees them in the clear.
type Mail struct {
	ID        string
	UserID    string // may be empty
	Kind      string // what it is, for logs: "verification", "password reset", "notification"
	Channel   string
	To        string
	Sealed    string
	CreatedAt time.Time
	DueAt     time.Time // the next attempt; while claimed, the end of the lease
	Claim     string    // who holds the lease, while claimed
	Attempts  int       // attempts started, counting the one in hand
	LastError string
	SentAt    time.Time
	FailedAt  time.Time
}

const mailCols = "id, user_id, kind, channel, recipient, sealed, created_at, due_at, claim, attempts, last_error, sent_at, failed_at"

func scanMail(row interface{ Scan(...any) error }) (Mail, error) {
	var m Mail
	var created, due int64
	var sent, failed sql.NullInt64
	err := row.Scan(&m.ID, &m.UserID, &m.Kind, &m.Channel, &m.To, &m.Sealed, &created, &due, &m.Claim, &m.Attempts, &m.LastError, &sent, &failed)
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, err
	}
	m.CreatedAt, m.DueAt = fromMicros(created), fromMicros(due)
	m.SentAt, m.FailedAt = nullMicros(sent), nullMicros(failed)
	return m, nil
}

// QueueMail adds m to the queue, due at m.DueAt. A message with FailedAt
// set is recorded as never to be sent (LastError says why).
func (db *DB) QueueMail(ctx context.Context, m Mail) error { return queueMail(ctx, db, m) }

// QueueMail adds m to the queue when the transaction commits.
func (t *Tx) QueueMail(ctx context.Context, m Mail) error { return queueMail(ctx, t, m) }

func queueMail(ctx context.Context, w writer, m Mail) error {
	_, err := w.exec(ctx, `INSERT INTO mail_queue (id, user_id, kind, channel, recipient, sealed, created_at, due_at, last_error, failed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.ID, m.UserID, m.Kind, m.Channel, m.To, m.Sealed, micros(m.CreatedAt), micros(m.DueAt), m.LastError, optMicros(m.FailedAt))
	if err != nil {
		return fmt.Errorf("queue mail: %w", err)
	}
	return nil
}

// ClaimMail leases up to limit messages that are due at now to the caller
// (claim, a fresh random id) until now+lease, counting an attempt on each,
// and returns them. Claiming moves due_at to the lease's end in the same
// UPDATE, so no other sender, in this process or another instance, gets
// the same message until the lease runs out: on PostgreSQL the rows are
// locked with SKIP LOCKED and the outer WHERE is re-checked against a row
// another instance just claimed; on SQLite the single writer serialises
// claims.
func (db *DB) ClaimMail(ctx context.Context, claim string, now time.Time, lease time.Duration, limit int) ([]Mail, error) {
	lock := ""
	if db.pg {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := db.writeQuery(ctx, `UPDATE mail_queue SET due_at = ?, claim = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM mail_queue WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= ? ORDER BY due_at, id LIMIT ?`+lock+`)
		AND sent_at IS NULL AND failed_at IS NULL AND due_at <= ?
		RETURNING `+mailCols, micros(now.Add(lease)), claim, micros(now), limit, micros(now))
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	defer rows.Close()
	var out []Mail
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, fmt.Errorf("claim mail: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	return out, nil
}

// MailSent records a delivered message and drops its sealed body (it holds
// a link that must not outlive its use). It reports false if the lease was
// lost to another sender meanwhile.
func (db *DB) MailSent(ctx context.Context, id, claim string, at time.Time) (bool, error) {
	res, err := db.exec(ctx, `UPDATE mail_queue SET sent_at = ?, sealed = '', claim = '', last_error = '' WHERE id = ? AND claim = ? AND sent_at IS NULL`,
		micros(at), id, claim)
	if err != nil {
		return false, fmt.Errorf("mail sent: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RetryMail gives a failed attempt's lease back and makes the message due
// again at due.
func (db *DB) RetryMail(ctx context.Context, id, claim string, due time.Time, errText string) (bool, error) {
	res, err := db.exec(ctx, `UPDATE mail_queue SET due_at = ?, claim = '', last_error = ? WHERE id = ? AND claim = ? AND sent_at IS NULL`,
		micros(due), errText, id, claim)
	if err != nil {
		return false, fmt.Errorf("retry mail: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// GiveUpMail stops trying to send a message and drops its sealed body.
func (db *DB) GiveUpMail(ctx context.Context, id, claim string, at time.Time, errText string) (bool, error) {
	res, err := db.exec(ctx, `UPDATE mail_queue SET failed_at = ?, sealed = '', claim = '', last_error = ? WHERE id = ? AND claim = ? AND sent_at IS NULL`,
		micros(at), errText, id, claim)
	if err != nil {
		return false, fmt.Errorf("give up mail: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// NextMailDue returns when the earliest unsent message is due (or its
// lease ends); ok is false when nothing waits.
func (db *DB) NextMailDue(ctx context.Context) (due time.Time, ok bool, err error) {
	var v sql.NullInt64
	if err := db.queryRow(ctx, `SELECT MIN(due_at) FROM mail_queue WHERE sent_at IS NULL AND failed_at IS NULL`).Scan(&v); err != nil {
		return time.Time{}, false, fmt.Errorf("next mail due: %w", err)
	}
	if !v.Valid {
		return time.Time{}, false, nil
	}
	return fromMicros(v.Int64), true, nil
}

// MailQueue lists queued messages, newest first (sealed bodies included),
// for the operator and tests.
func (db *DB) MailQueue(ctx context.Context, limit int) ([]Mail, error) {
	rows, err := db.query(ctx, `SELECT `+mailCols+` FROM mail_queue ORDER BY created_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list mail queue: %w", err)
	}
	defer rows.Close()
	out := []Mail{}
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, fmt.Errorf("list mail queue: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// PurgeMail deletes messages sent or given up before before.
func (db *DB) PurgeMail(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.exec(ctx, `DELETE FROM mail_queue WHERE (sent_at IS NOT NULL AND sent_at < ?) OR (failed_at IS NOT NULL AND failed_at < ?)`,
		micros(before), micros(before))
	if err != nil {
		return 0, fmt.Errorf("purge mail: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
