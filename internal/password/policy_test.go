package password

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
		wantErr        bool
	}{
		{"ascii", "hunter2", "hunter2", false},
		{"nfd to nfc", "passwo\u0302rd", "passw\u00f4rd", false},
		{"non-ascii space to ascii", "a\u00a0b", "a b", false},
		{"ligature kept", "\ufb01sh", "\ufb01sh", false}, // NFKC would give "fish"
		{"circled digit kept", "\u2460", "\u2460", false},
		{"case kept", "HuNtEr", "HuNtEr", false},
		{"empty", "", "", true},
		{"invalid utf-8", "pass\xffword", "", true},
		{"control character", "pass\x00word", "", true},
		{"escape", "pass\x1bword", "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("Normalize(%q) = %q, %v; want ErrInvalid", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Normalize(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestPolicyCheck(t *testing.T) {
	const email = "Alice.Smith@Example.com"
	const (
		tooShort = "Password must be at least 8 characters."
		tooLong  = "Password is too long: at most 1024 characters."
		common   = "This password is one of the most common passwords; choose another."
		isEmail  = "Password must not be your e-mail address."
		badUTF8  = "Password is not valid Unicode text."
	)
	p := DefaultPolicy()
	for _, tt := range []struct {
		name, pw   string
		wantReason string // "" means accepted
	}{
		{"ok", "correct horse", ""},
		// Lengths count characters, not bytes: "ô" is 2 bytes, "€" 3, "😀" 4.
		{"8 two-byte chars", strings.Repeat("ô", 8), ""},
		{"7 two-byte chars", strings.Repeat("ô", 7), tooShort},
		{"8 four-byte chars", strings.Repeat("😀", 8), ""},
		{"7 four-byte chars", strings.Repeat("😀", 7), tooShort},
		// Decomposed, 16 code points; normalised, 8 characters.
		{"8 chars typed decomposed", strings.Repeat("o\u0302", 8), ""},
		{"7 chars typed decomposed", strings.Repeat("o\u0302", 7), tooShort},
		{"empty", "", tooShort},
		{"1024 chars", strings.Repeat("a€", 512), ""},
		{"1025 chars", strings.Repeat("a€", 512) + "b", tooLong},
		{"huge", strings.Repeat("x", 1<<20), tooLong},
		{"common", "password1", common},
		{"common keyboard walk", "qwertyuiop", common},
		{"common phrase", "iloveyou", common},
		{"common with capitals", "Password1", common},
		{"common upper case", "ILOVEYOU", common},
		{"e-mail", "alice.smith@example.com", isEmail},
		{"e-mail as typed", email, isEmail},
		{"local part", "alice.smith", isEmail},
		{"local part upper case", "ALICE.SMITH", isEmail},
		{"local part plus more", "alice.smith1", ""},
		{"invalid utf-8", "password\xff\xfe", badUTF8},
		{"control character", "pass\x00word123", "Password contains characters that are not allowed, such as control characters."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Check(tt.pw, email)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("Check(%.40q) = %v, want accepted", tt.pw, err)
				}
				want, _ := Normalize(tt.pw)
				if got != want {
					t.Errorf("Check(%.40q) = %.40q, want normalised %.40q", tt.pw, got, want)
				}
				return
			}
			var weak *WeakError
			if !errors.As(err, &weak) {
				t.Fatalf("Check(%.40q) = %q, %v; want *WeakError %q", tt.pw, got, err, tt.wantReason)
			}
			if weak.Reason != tt.wantReason || err.Error() != tt.wantReason {
				t.Errorf("Check(%.40q) reason = %q, want %q", tt.pw, weak.Reason, tt.wantReason)
			}
			if got != "" {
				t.Errorf("Check(%.40q) returned password %.40q with an error, want \"\"", tt.pw, got)
			}
		})
	}
}

func TestPolicyCustomAndZero(t *testing.T) {
	for _, tt := range []struct {
		name   string
		p      Policy
		pw     string
		reason string
	}{
		{"zero policy uses default min", Policy{}, "short", "Password must be at least 8 characters."},
		{"zero policy uses default max", Policy{}, strings.Repeat("x", 1025), "Password is too long: at most 1024 characters."},
		{"custom min", Policy{MinLen: 12, MaxLen: 64}, "elevenchars", "Password must be at least 12 characters."},
		{"custom max", Policy{MinLen: 12, MaxLen: 64}, strings.Repeat("x", 65), "Password is too long: at most 64 characters."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.p.Check(tt.pw, "")
			if err == nil || err.Error() != tt.reason {
				t.Errorf("Check = %v, want %q", err, tt.reason)
			}
		})
	}
}

func TestCommonPasswordList(t *testing.T) {
	set := commonPasswords()
	if len(set) < 10000 {
		t.Errorf("common-password list has %d entries, want >= 10000", len(set))
	}
	for _, pw := range []string{"password", "123456", "password1", "qwertyuiop", "iloveyou"} {
		if _, ok := set[pw]; !ok {
			t.Errorf("%q not in common-password list", pw)
		}
	}
}

// FuzzNormalize checks that Normalize never panics and that its output is
// valid UTF-8 that normalises to itself. New inputs that precis rejects are
// often long, and the fuzzer's default 60s minimisation of each one stalls
// the run: pass -fuzzminimizetime=2s.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"hunter2", "passwo\u0302rd", "\ufb01", "a\u00a0b", "\xff", "", "\u0000", "\u1100\u1161\u11a8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := Normalize(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Normalize(%q) = %v, want ErrInvalid", s, err)
			}
			return
		}
		if !utf8.ValidString(out) || out == "" {
			t.Fatalf("Normalize(%q) = %q: not valid non-empty UTF-8", s, out)
		}
		again, err := Normalize(out)
		if err != nil || again != out {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v; want idempotent", s, out, out, again, err)
		}
	})
}
