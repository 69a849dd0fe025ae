package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"twostep/internal/account"
	"twostep/internal/audit"
	"twostep/internal/password"
	"twostep/internal/store"
)

// ImportLine is one line of an import file: JSON with the person's
// address and password hash from the system they come from.
type ImportLine struct {
	Email         string `json:"email"`
	PasswordHash  string `json:"password_hash"`
	EmailVerified bool   `json:"email_verified"`
	// CreatedAt is RFC 3339; empty: now.
	CreatedAt string `json:"created_at"`
}

// BadLine is a line of an import file that was skipped, and why.
type BadLine struct {
	Line   int
	Reason string
}

// Imported sums up an import.
type Imported struct {
	Lines, Created, Existing int
	Bad                      []BadLine
	// Formats counts the accounts created by hash format.
	Formats map[password.Format]int
}

// importBatch is how many accounts one transaction creates.
const importBatch = 1000

// maxImportLine bounds one line of an import file.
const maxImportLine = 64 << 10

// Import creates an account for each good line of r (JSON lines, see
// ImportLine), keeping its password hash as it is: the first sign-in
// verifies it in its own format and replaces it with a current argon2id
// hash. Addresses that already have an account (an earlier run, or a line
// repeated) are skipped, so a re-run changes nothing; bad lines are
// reported by number and skipped. Each account's creation is recorded
// (admin_import) with the file's name, and so is the run. Accounts are
// not told: nothing about them changed.
func (s *Users) Import(ctx context.Context, r io.Reader, source string, bad func(BadLine)) (Imported, error) {
	sum := Imported{Formats: map[password.Format]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxImportLine)
	var batch []store.User
	var formats []password.Format
	reject := func(line int, format string, args ...any) {
		b := BadLine{Line: line, Reason: fmt.Sprintf(format, args...)}
		sum.Bad = append(sum.Bad, b)
		if bad != nil {
			bad(b)
		}
	}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		created := make([]bool, len(batch))
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			for i, u := range batch {
				err := tx.CreateUser(ctx, u)
				if errors.Is(err, store.ErrEmailTaken) {
					created[i] = false
					continue
				}
				if err != nil {
					return err
				}
				created[i] = true
				if err := tx.AddEvent(ctx, s.event(u.ID, audit.AdminImport, "from "+source)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i := range batch {
			if created[i] {
				sum.Created++
				sum.Formats[formats[i]]++
			} else {
				sum.Existing++
			}
		}
		batch, formats = batch[:0], formats[:0]
		return nil
	}
	now := s.now()
	n := 0
	for sc.Scan() {
		n++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		sum.Lines++
		var l ImportLine
		if err := json.Unmarshal(text, &l); err != nil {
			reject(n, "not a JSON object with email and password_hash: %v", err)
			continue
		}
		email, err := account.NormalizeEmail(l.Email)
		if err != nil {
			reject(n, "email %q: %v", l.Email, err)
			continue
		}
		format, err := password.CheckImported(l.PasswordHash)
		if err != nil {
			reject(n, "%s: password_hash: %v", email, strings.TrimPrefix(err.Error(), "password: "))
			continue
		}
		created := now
		if l.CreatedAt != "" {
			if created, err = time.Parse(time.RFC3339, l.CreatedAt); err != nil || created.After(now) {
				reject(n, "%s: created_at %q: want an RFC 3339 time in the past, such as 2024-05-01T12:00:00Z", email, l.CreatedAt)
				continue
			}
		}
		u := store.User{ID: store.NewID(), Email: email, PasswordHash: l.PasswordHash, CreatedAt: created.UTC(), PasswordChangedAt: created.UTC()}
		if l.EmailVerified {
			u.EmailVerifiedAt = created.UTC()
		}
		batch, formats = append(batch, u), append(formats, format)
		if len(batch) == importBatch {
			if err := flush(); err != nil {
				return sum, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("line %d is longer than %d bytes", n+1, maxImportLine)
		}
		return sum, fmt.Errorf("import: %w", err)
	}
	if err := flush(); err != nil {
		return sum, err
	}
	detail := fmt.Sprintf("from %s: %d created, %d already there, %d bad lines", source, sum.Created, sum.Existing, len(sum.Bad))
	return sum, s.db.AddEvent(ctx, s.event("", audit.AdminImport, detail))
}
