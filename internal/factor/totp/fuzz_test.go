package totp

import (
	"testing"
	"time"
	"unicode"
)

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"otpauth://totp/Example:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example&algorithm=SHA1&digits=6&period=30",
		"otpauth://totp/alice?secret=gezd%20gnbv%20gy3t%20qojq%20gezd%20gnbv&algorithm=sha512&digits=8",
		"otpauth://totp/Big%20Corp:%20bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====&issuer=Big+Corp&period=60",
		"otpauth://totp/a%3Ab?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=%20a%20",
		"otpauth://hotp/x?secret=A&counter=1",
		"otpauth://totp/%E2%80%AEx?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseURI(s)
		if err != nil {
			return
		}
		if k.Params.Validate() != nil || k.Account == "" || len(k.Secret) < minSecretSize {
			t.Fatalf("ParseURI(%q) accepted an invalid key %+v", s, k)
		}
		uri := URI(k.Issuer, k.Account, k.Secret, k.Params)
		k2, err := ParseURI(uri)
		if err != nil {
			t.Fatalf("ParseURI(%q) ok, but its URI %q does not parse: %v", s, uri, err)
		}
		if !equalKeys(k, k2) {
			t.Fatalf("round trip of %q via %q:\n  %+v\nwant\n  %+v", s, uri, k2, k)
		}
	})
}

// codeShaped reports whether code, without spaces and dashes, is exactly
// digits ASCII digits — the only shape Verify may accept.
func codeShaped(code string, digits int) bool {
	n := 0
	for _, r := range code {
		switch {
		case r >= '0' && r <= '9':
			n++
		case unicode.IsSpace(r) || unicode.Is(unicode.Pd, r): // separators
		default:
			return false
		}
	}
	return n == digits
}

func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "12-34-56", "１２３４５６", "12a456", "", "1234567", "\u00a0123456\u2013"} {
		f.Add(s, 6)
	}
	f.Add("12345678", 8)
	f.Fuzz(func(t *testing.T, code string, digits int) {
		p := DefaultParams()
		p.Digits = digits
		got, ok := NormalizeCode(code, p)
		if !ok {
			if got != "" {
				t.Fatalf("NormalizeCode(%q) = %q, false; want empty on refusal", code, got)
			}
			return
		}
		if len(got) != digits {
			t.Fatalf("NormalizeCode(%q, %d) = %q: wrong length", code, digits, got)
		}
		for i := 0; i < len(got); i++ {
			if got[i] < '0' || got[i] > '9' {
				t.Fatalf("NormalizeCode(%q) = %q: not ASCII digits", code, got)
			}
		}
		if !codeShaped(code, digits) {
			t.Fatalf("NormalizeCode(%q) accepted a code with other characters", code)
		}
		if again, ok := NormalizeCode(got, p); !ok || again != got {
			t.Fatalf("NormalizeCode not idempotent: %q → %q → %q, %v", code, got, again, ok)
		}
	})
}

func FuzzVerify(f *testing.F) {
	p := DefaultParams()
	at := time.Unix(1_700_000_015, 0)
	key := []byte("fuzz key, 20 bytes..")
	f.Add(Code(key, at, p), int64(0))
	f.Add(Code(key, at, p), Step(at, p))
	f.Add("123 456", int64(0))
	f.Add("１２３４５６", int64(-1))
	f.Add("12a456", int64(1<<62))
	f.Fuzz(func(t *testing.T, code string, lastStep int64) {
		r := Verify(key, code, at, p, lastStep)
		matched := r.OK || r.Replay || r.ClockOff
		if matched && !codeShaped(code, p.Digits) {
			t.Fatalf("Verify(%q) = %+v for a code that is not %d digits", code, r, p.Digits)
		}
		if !matched && r != (Result{}) {
			t.Fatalf("Verify(%q) refused but reported %+v", code, r)
		}
		if r.OK && (r.Step <= lastStep || r.Replay || r.ClockOff) {
			t.Fatalf("Verify(%q, lastStep %d) = %+v: accepted a used step", code, lastStep, r)
		}
		if matched {
			norm, _ := NormalizeCode(code, p)
			if HOTP(key, uint64(r.Step), p.Digits, p.Algorithm) != norm {
				t.Fatalf("Verify(%q) = %+v, but that step's code is not %q", code, r, norm)
			}
		}
	})
}
