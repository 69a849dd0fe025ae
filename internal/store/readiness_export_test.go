package store

import "context"

// RefuseWrites makes the writer connection refuse every write, as SQLite
// does for a database it opened read-only (tests only).
func (db *DB) RefuseWrites(ctx context.Context) error {
	_, err := db.w.ExecContext(ctx, "PRAGMA query_only = ON")
	return err
}
