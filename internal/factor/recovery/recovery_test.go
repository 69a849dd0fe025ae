package recovery

import (
	"bytes"
	"crypto/rand"
	mrand "math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func TestAlphabet(t *testing.T) {
	if len(Alphabet) != 32 {
		t.Fatalf("len(Alphabet) = %d, want 32", len(Alphabet))
	}
	seen := map[rune]bool{}
	for _, r := range Alphabet {
		if seen[r] {
			t.Errorf("Alphabet repeats %q", r)
		}
		seen[r] = true
	}
	for _, r := range "01lo" {
		if seen[r] {
			t.Errorf("Alphabet contains look-alike %q", r)
		}
	}
}

var codeRE = regexp.MustCompile(`^[` + Alphabet + `]{4}-[` + Alphabet + `]{4}$`)

func TestGenerate(t *testing.T) {
	codes, err := Generate(rand.Reader, Count)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != Count {
		t.Fatalf("got %d codes, want %d", len(codes), Count)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if !codeRE.MatchString(c) {
			t.Errorf("code %q does not match %s", c, codeRE)
		}
		if seen[c] {
			t.Errorf("code %q repeated in %q", c, codes)
		}
		seen[c] = true
		if n, ok := Normalize(c); !ok || Format(n) != c {
			t.Errorf("Normalize(%q) = %q, %v; want it back after Format", c, n, ok)
		}
	}

	if codes, err := Generate(rand.Reader, 0); err != nil || len(codes) != 0 {
		t.Errorf("Generate(0) = %q, %v; want none", codes, err)
	}
	if _, err := Generate(rand.Reader, -1); err == nil || !strings.HasPrefix(err.Error(), "recovery: ") {
		t.Errorf("Generate(-1) error = %v, want a recovery: error", err)
	}
	if _, err := Generate(bytes.NewReader(make([]byte, 12)), 2); err == nil || !strings.HasPrefix(err.Error(), "recovery: ") {
		t.Errorf("Generate from a short reader: error = %v, want a recovery: error", err)
	}
	// A broken source that yields zeros forever must fail, not loop.
	if codes, err := Generate(zeros{}, Count); err != ErrRepeating {
		t.Errorf("Generate(zeros) = %q, %v; want ErrRepeating", codes, err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestGenerateUniform backs the 40-bit claim: fed every byte value exactly
// once (in a fixed shuffled order, so the codes differ), Generate uses every
// character of the alphabet exactly 256/32 = 8 times. Each byte maps to one
// character and the mapping is an even 8-to-1, so a uniform byte gives a
// uniform character: 5 bits each, 40 bits per code.
func TestGenerateUniform(t *testing.T) {
	all := make([]byte, 256)
	for i, v := range mrand.New(mrand.NewPCG(1, 2)).Perm(256) {
		all[i] = byte(v)
	}
	codes, err := Generate(bytes.NewReader(all), 256/Size)
	if err != nil {
		t.Fatal(err)
	}
	count := map[rune]int{}
	for _, c := range codes {
		for _, r := range strings.ReplaceAll(c, "-", "") {
			count[r]++
		}
	}
	for _, r := range Alphabet {
		if count[r] != 8 {
			t.Errorf("character %q used %d times, want 8", r, count[r])
		}
	}
	if len(count) != 32 {
		t.Errorf("used %d distinct characters, want 32", len(count))
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"abcd-efgh", "abcdefgh", true},
		{"ABCD-EFGH", "abcdefgh", true},
		{" abcd efgh ", "abcdefgh", true},
		{"abcdefgh", "abcdefgh", true},
		{"a-b-c-d-e-f-g-h", "abcdefgh", true},
		{"2345\u00a06789", "23456789", true},
		{"abcd\u2013efgh", "abcdefgh", true}, // en dash
		{"abcd-efg", "", false},
		{"abcd-efghj", "", false},
		{"", "", false},
		{"--------", "", false},
		{"abcd-efg0", "", false},
		{"abcd-efgo", "", false},
		{"abcd-efg1", "", false},
		{"abcd-efgl", "", false},
		{"ABCD-EFGL", "", false},
		{"abcd_efgh", "", false},
		{"abcd.efgh", "", false},
		{"ａｂｃｄ-ｅｆｇｈ", "", false},      // full-width letters
		{"abcd-efg\u212a", "", false}, // Kelvin sign, which unicode.ToLower would make 'k'
		{strings.Repeat(" ", 60) + "abcdefgh", "", false},
	}
	for _, tt := range tests {
		got, ok := Normalize(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"abcdefgh", "abcd-efgh"},
		{"abc", "abc"},
		{"", ""},
	} {
		if got := Format(tt.in); got != tt.want {
			t.Errorf("Format(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHash(t *testing.T) {
	pepper, other := []byte("pepper one, 32 bytes of key....."), []byte("pepper two, 32 bytes of key.....")
	h := Hash(pepper, "user-1", "abcdefgh")
	if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		t.Errorf("Hash = %q, want 64 lower-case hex digits", h)
	}
	if again := Hash(pepper, "user-1", "abcdefgh"); again != h {
		t.Errorf("Hash not deterministic: %q then %q", h, again)
	}
	for _, tt := range []struct {
		name, got string
	}{
		{"another user", Hash(pepper, "user-2", "abcdefgh")},
		{"another pepper", Hash(other, "user-1", "abcdefgh")},
		{"another code", Hash(pepper, "user-1", "abcdefgj")},
		{"shifted separator", Hash(pepper, "user-1:abcd", "efgh")},
	} {
		if tt.got == h {
			t.Errorf("Hash for %s = %q, same as the original", tt.name, tt.got)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"abcd-efgh", "ABCD EFGH", " a-b-c-d-e-f-g-h ", "abcd-efg0", "", "ａｂｃｄ-ｅｆｇｈ", "\u212a\u212a\u212a\u212a\u212a\u212a\u212a\u212a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := Normalize(s)
		if !ok {
			if got != "" {
				t.Fatalf("Normalize(%q) = %q, false; want empty on refusal", s, got)
			}
			return
		}
		if len(got) != Size || strings.Trim(got, Alphabet) != "" {
			t.Fatalf("Normalize(%q) = %q: not %d alphabet characters", s, got, Size)
		}
		if again, ok := Normalize(got); !ok || again != got {
			t.Fatalf("Normalize not idempotent: %q → %q → %q, %v", s, got, again, ok)
		}
		if again, ok := Normalize(Format(got)); !ok || again != got {
			t.Fatalf("Normalize(Format(%q)) = %q, %v", got, again, ok)
		}
	})
}
