package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"twostep/internal/config"
	"twostep/internal/secret"
	"twostep/internal/store"
)

// backupUsage is `twostep backup --help`.
const backupUsage = `usage: twostep backup FILE [--config FILE] [--data-dir DIR]

Writes a consistent copy of the SQLite database to FILE while servers keep
running on it (VACUUM INTO: one snapshot, no pause for sign-ins). FILE must
not exist: a backup never overwrites anything. The copy is checked before
the command succeeds.

The secret key is NOT in the copy: back it up separately, once (it changes
only when you rotate it). To restore, stop the server, put FILE in an empty
directory as twostep.db with the key beside it as secret.key (or set
secrets.key), and run "twostep serve --data-dir DIR".

On PostgreSQL use pg_dump instead (README, "Operating twostep").

Flags:
`

// backup is `twostep backup FILE`: an online copy of the SQLite database.
// It opens the database as `serve` does but never migrates it, so a newer
// binary backing up an older server's database leaves the schema alone.
func backup(args []string, stdout, stderr io.Writer) error {
	fs, admin := newAdminFlags("backup", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), backupUsage)
		fs.PrintDefaults()
	}
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: twostep backup FILE [--config FILE] [--data-dir DIR] (twostep backup --help says more)")
	}
	file := pos[0]
	cfg, err := loadConfig("backup", admin.args(), stderr)
	if err != nil {
		return err
	}
	src, ok := store.SQLiteFile(cfg.Database.URL, cfg.Server.DataDir)
	if !ok {
		return errors.New("backup: this database is PostgreSQL, and twostep backup copies SQLite only. Use pg_dump, e.g.\n" +
			"  pg_dump --format=custom --file=twostep.dump \"$TWOSTEP_DATABASE_URL\"\n" +
			"and pg_restore to restore it (README, \"Operating twostep\")")
	}
	if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: there is no database at %s (is --data-dir, or database.url, the server's?)", src)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, err := store.Open(ctx, cfg.Database.URL, cfg.Server.DataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	info, err := db.Backup(ctx, file)
	if errors.Is(err, store.ErrBackupExists) {
		return fmt.Errorf("backup: %s already exists; a backup never overwrites a file: give a new name", file)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote a consistent copy of %s to %s (%d bytes, schema version %d), checked\n", src, file, info.Bytes, info.SchemaVersion)
	fmt.Fprintf(stdout, "To restore: stop the server, copy it to DIR/twostep.db in an empty DIR with the key beside it\n"+
		"as DIR/secret.key (or set secrets.key), and run twostep serve --data-dir DIR.\n")
	fmt.Fprint(stderr, keyWarning(cfg))
	return nil
}

// keyWarning tells where the key lives that the copy cannot be used
// without, loudly: the copy holds secrets sealed with it (authenticator
// secrets, phone numbers, signing keys, the recovery-code pepper) and a
// server given another key refuses to start on it. It never prints the key.
//
// The key is deliberately not written into the backup, nor offered as an
// option: sealing secrets is worth something only while the key and the
// database are kept apart, and backups are the copies most often stored
// somewhere less guarded.
func keyWarning(cfg config.Config) string {
	var where string
	switch keyFile := filepath.Join(cfg.Server.DataDir, secret.KeyFile); {
	case cfg.Secrets.Key != "":
		where = "it is set as secrets.key (in the config file or TWOSTEP_SECRETS_KEY)"
	case fileExists(keyFile):
		where = "it is the file " + keyFile
	default:
		where = "no secrets.key is set and there is no " + keyFile + ": find the key the server uses now"
	}
	lines := []string{
		"THE SECRET KEY IS NOT IN THIS BACKUP. Without it the copy cannot be served:",
		"authenticator secrets, phone numbers and signing keys are sealed with it.",
		"Back it up separately, kept apart from the database copies;",
		where + ".",
	}
	if cfg.Secrets.OldKeys != "" {
		lines = append(lines, "Keep the keys in secrets.old_keys too until rotate-key has run.")
	}
	bar := strings.Repeat("!", 78)
	return bar + "\n!!  " + strings.Join(lines, "\n!!  ") + "\n" + bar + "\n"
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
