package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"twostep/internal/store"
	"twostep/internal/testenv"
)

// readOnlyRole returns dbURL (a test schema, already migrated) for a new
// role that may read every table of the schema and write none of them.
func readOnlyRole(t *testing.T, dbURL string) string {
	t.Helper()
	return testenv.NewPostgresRole(t, dbURL, "ro_",
		"GRANT USAGE ON SCHEMA %[1]s TO %[2]s",
		"GRANT SELECT ON ALL TABLES IN SCHEMA %[1]s TO %[2]s").URL
}

// TestCheckWritable: readiness is a committed write, so a database that
// still answers reads but takes no writes fails it.
func TestCheckWritable(t *testing.T) {
	ctx := context.Background()
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			dbURL := testenv.DatabaseURL(t, engine)
			db, err := store.Open(ctx, dbURL, "")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				if err := db.CheckWritable(ctx); err != nil {
					t.Fatalf("CheckWritable on a writable database: %v", err)
				}
			}
			switch engine {
			case "sqlite":
				if err := db.RefuseWrites(ctx); err != nil {
					t.Fatal(err)
				}
				if err := db.Ping(ctx); err != nil {
					t.Fatalf("Ping: %v (reads must still work, or the test proves nothing)", err)
				}
				err = db.CheckWritable(ctx)
			case "postgres":
				ro, err2 := store.Open(ctx, readOnlyRole(t, dbURL), "")
				if err2 != nil {
					t.Fatal(err2)
				}
				defer ro.Close()
				if err := ro.Ping(ctx); err != nil {
					t.Fatalf("Ping as the read-only role: %v", err)
				}
				err = ro.CheckWritable(ctx)
			}
			if err == nil || !strings.Contains(err.Error(), "takes no writes") {
				t.Fatalf("CheckWritable on a read-only database: got %v, want an error saying it takes no writes", err)
			}
		})
	}
}

// TestSQLiteFileModes: the database and its -wal and -shm files are the
// owner's only, whether new or left readable by an earlier version.
func TestSQLiteFileModes(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, path string) {
		t.Helper()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v (the write should have made it)", p, err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("%s: mode %04o, want 0600", filepath.Base(p), got)
			}
		}
	}
	open := func(t *testing.T, dbURL, dataDir string) {
		t.Helper()
		db, err := store.Open(ctx, dbURL, dataDir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := db.CheckWritable(ctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("new in the data dir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		open(t, "", dir)
		check(t, filepath.Join(dir, "twostep.db"))
	})
	t.Run("new at a url", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.db")
		open(t, "sqlite:"+path, "")
		check(t, path)
	})
	t.Run("existing files tightened", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "old.db")
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o664); err != nil { // past any umask
				t.Fatal(err)
			}
		}
		open(t, "sqlite:"+path, "")
		check(t, path)
	})
}
