package store_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// dialectDifferences are the only ways a SQLite migration may differ from
// its PostgreSQL twin: each SQLite spelling is replaced by the PostgreSQL
// one before the files are compared. A new difference belongs here, named,
// and every entry must still be in use.
var dialectDifferences = []struct {
	why, sqlite, postgres string
}{
	{
		why:      "an auto-numbered key: SQLite's rowid alias against an identity column",
		sqlite:   "INTEGER PRIMARY KEY AUTOINCREMENT",
		postgres: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
	},
}

// TestMigrationsInStep checks that both engines ship the same migrations:
// the same file names, and each pair identical once the known dialect
// differences are applied. A migration added to one engine only, or a
// column changed in one only, fails here.
func TestMigrationsInStep(t *testing.T) {
	names := func(engine string) []string {
		entries, err := os.ReadDir(filepath.Join("migrations", engine))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		slices.Sort(out)
		return out
	}
	lite, pg := names("sqlite"), names("postgres")
	for _, n := range lite {
		if !slices.Contains(pg, n) {
			t.Errorf("migrations/sqlite/%s has no twin in migrations/postgres", n)
		}
	}
	for _, n := range pg {
		if !slices.Contains(lite, n) {
			t.Errorf("migrations/postgres/%s has no twin in migrations/sqlite", n)
		}
	}

	used := make([]bool, len(dialectDifferences))
	for _, n := range lite {
		if !slices.Contains(pg, n) {
			continue
		}
		if !strings.HasSuffix(n, ".sql") {
			t.Errorf("migrations/sqlite/%s: a migration is a .sql file", n)
			continue
		}
		read := func(engine string) string {
			b, err := os.ReadFile(filepath.Join("migrations", engine, n))
			if err != nil {
				t.Fatal(err)
			}
			return strings.ReplaceAll(string(b), "\r\n", "\n")
		}
		l, p := read("sqlite"), read("postgres")
		for i, d := range dialectDifferences {
			if strings.Contains(l, d.sqlite) {
				used[i] = true
				l = strings.ReplaceAll(l, d.sqlite, d.postgres)
			}
		}
		if l == p {
			continue
		}
		ll, pl := strings.Split(l, "\n"), strings.Split(p, "\n")
		for i := range max(len(ll), len(pl)) {
			a, b := "(end of file)", "(end of file)"
			if i < len(ll) {
				a = ll[i]
			}
			if i < len(pl) {
				b = pl[i]
			}
			if a != b {
				t.Errorf("%s differs between the engines at line %d beyond the known dialect differences:\n  sqlite:   %s\n  postgres: %s", n, i+1, a, b)
				break
			}
		}
	}
	for i, d := range dialectDifferences {
		if !used[i] {
			t.Errorf("dialect difference %q (%s) is no longer used: remove it from the list", d.sqlite, d.why)
		}
	}
}
