package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"twostep/internal/store"
)

// TestBackup copies an SQLite database while a writer keeps adding users:
// the copy opens as a twostep database holding every user committed before
// the backup began, is 0600, and an existing file is refused untouched. On
// PostgreSQL, Backup refuses and points to pg_dump.
func TestBackup(t *testing.T) {
	forEachEngineURL(t, func(t *testing.T, engine, url string) {
		db := open(t, url)
		applied, err := db.Migrate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		dest := filepath.Join(t.TempDir(), "copy.db")
		if engine == "postgres" {
			_, err := db.Backup(ctx, dest)
			if !errors.Is(err, store.ErrBackupPostgres) {
				t.Fatalf("Backup on PostgreSQL: %v, want ErrBackupPostgres", err)
			}
			if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("Backup on PostgreSQL left a file: %v", err)
			}
			return
		}
		for i := range 20 {
			if err := db.CreateUser(ctx, backupUser("before", i)); err != nil {
				t.Fatal(err)
			}
		}
		// A writer on a second handle, as a running server would be.
		other := open(t, url)
		var stop atomic.Bool
		var wrote atomic.Int64
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				if err := other.CreateUser(ctx, backupUser("during", i)); err != nil {
					t.Errorf("write during backup: %v", err)
					return
				}
				wrote.Add(1)
			}
		})
		for wrote.Load() < 5 {
			time.Sleep(time.Millisecond)
		}
		info, err := db.Backup(ctx, dest)
		stop.Store(true)
		wg.Wait()
		if err != nil {
			t.Fatalf("Backup: %v", err)
		}
		fi, err := os.Stat(dest)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 || fi.Size() != info.Bytes || info.Bytes == 0 {
			t.Errorf("copy: mode %v size %d, info %+v; want 0600 and the size reported", fi.Mode().Perm(), fi.Size(), info)
		}
		// Migrations are numbered from 1, so the newest is the count.
		if info.SchemaVersion != int64(applied) {
			t.Errorf("schema version %d, want %d", info.SchemaVersion, applied)
		}

		// The copy is a database Open serves: every earlier user is there.
		cp := open(t, "sqlite:"+dest)
		if n, err := cp.Migrate(ctx); err != nil || n != 0 {
			t.Fatalf("Migrate on the copy: applied %d, %v; want 0 (the schema is in the copy)", n, err)
		}
		for i := range 20 {
			if _, err := cp.UserByEmail(ctx, backupUser("before", i).Email); err != nil {
				t.Errorf("user before-%d is not in the copy: %v", i, err)
			}
		}
		// The writer added its users one by one, so a consistent snapshot
		// holds during-0 … during-(k-1) and none after: no gap.
		k := 0
		for ; ; k++ {
			if _, err := cp.UserByEmail(ctx, backupUser("during", k).Email); err != nil {
				break
			}
		}
		for i := k; i < int(wrote.Load()); i++ {
			if _, err := cp.UserByEmail(ctx, backupUser("during", i).Email); err == nil {
				t.Fatalf("the copy holds during-%d but not during-%d: not one snapshot", i, k)
			}
		}
		if k < 5 {
			t.Errorf("the copy holds %d users written before it began, want at least 5", k)
		}
		t.Logf("users written during the test: %d; in the copy: %d", wrote.Load(), k)

		// An existing file is never overwritten.
		before, _ := os.ReadFile(dest)
		if _, err := db.Backup(ctx, dest); !errors.Is(err, store.ErrBackupExists) {
			t.Fatalf("second Backup to the same file: %v, want ErrBackupExists", err)
		}
		if after, _ := os.ReadFile(dest); !bytes.Equal(before, after) {
			t.Fatal("a refused backup changed the existing file")
		}
		// A failed backup leaves nothing behind.
		bad := filepath.Join(t.TempDir(), "missing-dir", "copy.db")
		if _, err := db.Backup(ctx, bad); err == nil {
			t.Fatal("Backup into a missing directory succeeded")
		}
	})
}

func TestSQLiteFile(t *testing.T) {
	for _, tt := range []struct {
		url, dir, want string
		ok             bool
	}{
		{"", "/var/lib/twostep", "/var/lib/twostep/twostep.db", true},
		{"sqlite:/srv/t.db", "/ignored", "/srv/t.db", true},
		{"postgres://db/twostep", "/var/lib/twostep", "", false},
		{"postgresql://db/twostep", "", "", false},
	} {
		got, ok := store.SQLiteFile(tt.url, tt.dir)
		if got != tt.want || ok != tt.ok {
			t.Errorf("SQLiteFile(%q, %q) = %q, %v; want %q, %v", tt.url, tt.dir, got, ok, tt.want, tt.ok)
		}
	}
}

func backupUser(prefix string, i int) store.User {
	return store.User{ID: fmt.Sprintf("%s-%d", prefix, i), Email: fmt.Sprintf("%s-%d@example.com", prefix, i),
		PasswordHash: "x", CreatedAt: base, PasswordChangedAt: base}
}
