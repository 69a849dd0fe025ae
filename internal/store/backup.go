package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// ErrBackupPostgres is returned by Backup on PostgreSQL, whose own tools
// (pg_dump, pg_restore) copy a live database consistently.
var ErrBackupPostgres = errors.New("store: twostep backup copies SQLite only; back up PostgreSQL with pg_dump (see the README, \"Operating twostep\")")

// ErrBackupExists is returned when the backup's file already exists: a
// backup never overwrites anything, least of all an earlier backup.
var ErrBackupExists = errors.New("store: the backup file already exists")

// SQLiteFile returns the SQLite file a database URL and data directory
// name, as Open reads them (sqlite:PATH, or twostep.db in dataDir when the
// URL is empty); ok is false for PostgreSQL.
func SQLiteFile(dbURL, dataDir string) (path string, ok bool) {
	if strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://") {
		return "", false
	}
	if dbURL == "" {
		return filepath.Join(dataDir, "twostep.db"), true
	}
	return strings.TrimPrefix(dbURL, "sqlite:"), true
}

// BackupInfo describes a finished backup.
type BackupInfo struct {
	Bytes int64 // size of the copy
	// SchemaVersion is the newest migration in the copy: a server at least
	// this new can serve it.
	SchemaVersion int64
}

// Backup writes a consistent copy of the SQLite database to path while
// servers keep using it. VACUUM INTO reads one snapshot in a read
// transaction (WAL lets the writer go on meanwhile) and writes a compact
// database with no -wal file of its own. The file is created here first,
// 0600 and exclusively: the copy holds password hashes and sealed secrets,
// and an existing file is refused (ErrBackupExists), never overwritten.
// The copy is synced to disk and checked (PRAGMA integrity_check) before
// Backup returns; on any failure the partial file is removed.
func (db *DB) Backup(ctx context.Context, path string) (BackupInfo, error) {
	if db.pg {
		return BackupInfo{}, ErrBackupPostgres
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return BackupInfo{}, fmt.Errorf("backup %s: %w", path, ErrBackupExists)
	}
	if err != nil {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	f.Close()
	info, err := db.backup(ctx, path)
	if err != nil {
		os.Remove(path)
		return BackupInfo{}, fmt.Errorf("backup %s: %w", path, err)
	}
	return info, nil
}

func (db *DB) backup(ctx context.Context, path string) (BackupInfo, error) {
	// VACUUM INTO accepts an existing empty file, the one Backup made. It
	// runs on a read connection: it needs no write lock, so sign-ins on
	// the single writer are not held up while the copy is written.
	if _, err := db.r.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return BackupInfo{}, err
	}
	// VACUUM INTO leaves syncing to the OS; a backup is only a backup once
	// it is on the disk, with its directory entry.
	if err := syncFile(path); err != nil {
		return BackupInfo{}, err
	}
	if err := syncFile(filepath.Dir(path)); err != nil {
		return BackupInfo{}, err
	}
	version, err := checkCopy(ctx, path)
	if err != nil {
		return BackupInfo{}, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return BackupInfo{}, err
	}
	return BackupInfo{Bytes: fi.Size(), SchemaVersion: version}, nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// checkCopy opens the copy read-only, proves SQLite finds it sound and
// returns its newest migration.
func checkCopy(ctx context.Context, path string) (int64, error) {
	c, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var verdict string
	if err := c.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&verdict); err != nil {
		return 0, fmt.Errorf("check the copy: %w", err)
	}
	if verdict != "ok" {
		return 0, fmt.Errorf("check the copy: integrity_check says %q", verdict)
	}
	var version sql.NullInt64
	if err := c.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&version); err != nil {
		return 0, fmt.Errorf("check the copy: %w", err)
	}
	return version.Int64, nil
}
