package account

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalizeEmail(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Ann@Example.com", "ann@example.com"},
		{"  bob@example.org ", "bob@example.org"},
		{"first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"},
	} {
		got, err := NormalizeEmail(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "plain", "a@b", "Ann <ann@example.com>", "a@@example.com", "a@example.com, b@example.com",
		"a@.example.com", "a@example.com.", "a@[127.0.0.1]", strings.Repeat("a", 250) + "@example.com", "a\xff@example.com"} {
		if got, err := NormalizeEmail(in); err == nil {
			t.Errorf("NormalizeEmail(%q) = %q, want an error", in, got)
		} else if err.Error() == "" {
			t.Errorf("NormalizeEmail(%q): empty error message", in)
		}
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@example.com", "A <a@example.com>", "\xff", "a@b.c", `"quoted"@example.com`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeEmail(in)
		if err != nil {
			return
		}
		if !utf8.ValidString(out) || len(out) > 254 || !strings.Contains(out, "@") || out != strings.ToLower(out) {
			t.Fatalf("NormalizeEmail(%q) = %q: not a stored form", in, out)
		}
		again, err := NormalizeEmail(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
	})
}
