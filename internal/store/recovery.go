package store

import (
	"context"
	"fmt"
	"time"
)

// ReplaceRecoveryCodes installs a new set of recovery codes as factor f,
// deleting any earlier set, in one transaction.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, f Factor, hashes []string) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("replace recovery codes: %w", err)
	}
	defer tx.Rollback()
	if _, err := db.txExec(ctx, tx, `DELETE FROM factors WHERE user_id = ? AND kind = 'recovery_code'`, f.UserID); err != nil {
		return fmt.Errorf("replace recovery codes: %w", err)
	}
	if _, err := db.txExec(ctx, tx, insertFactor, factorValues(f)...); err != nil {
		return fmt.Errorf("replace recovery codes: %w", err)
	}
	for _, h := range hashes {
		if _, err := db.txExec(ctx, tx, `INSERT INTO recovery_codes (factor_id, user_id, code_hash) VALUES (?, ?, ?)`, f.ID, f.UserID, h); err != nil {
			return fmt.Errorf("replace recovery codes: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("replace recovery codes: %w", err)
	}
	return nil
}

// ConsumeRecoveryCode uses one recovery code, once: a conditional UPDATE,
// so the same code cannot sign in twice even from two instances at once.
func (db *DB) ConsumeRecoveryCode(ctx context.Context, factorID, hash string, now time.Time) (bool, error) {
	res, err := db.exec(ctx, `UPDATE recovery_codes SET used_at = ? WHERE factor_id = ? AND code_hash = ? AND used_at IS NULL`, micros(now), factorID, hash)
	if err != nil {
		return false, fmt.Errorf("consume recovery code: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 1 {
		db.exec(ctx, `UPDATE factors SET last_used_at = ? WHERE id = ?`, micros(now), factorID)
	}
	return n == 1, nil
}

// RecoveryCodesLeft counts the unused codes of a set.
func (db *DB) RecoveryCodesLeft(ctx context.Context, factorID string) (int, error) {
	var n int
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE factor_id = ? AND used_at IS NULL`, factorID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count recovery codes: %w", err)
	}
	return n, nil
}
