package totp

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// RFC 6238 Appendix B keys: the ASCII digits repeated to the hash's size.
var (
	rfcKeySHA1   = []byte("12345678901234567890")
	rfcKeySHA256 = []byte("12345678901234567890123456789012")
	rfcKeySHA512 = []byte("1234567890123456789012345678901234567890123456789012345678901234")
)

func TestHOTPRFC4226(t *testing.T) {
	// RFC 4226 Appendix D.
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for counter, w := range want {
		if got := HOTP(rfcKeySHA1, uint64(counter), 6, SHA1); got != w {
			t.Errorf("HOTP(counter %d) = %q, want %q", counter, got, w)
		}
	}
}

func TestCodeRFC6238(t *testing.T) {
	// RFC 6238 Appendix B: 8 digits, 30 s steps.
	tests := []struct {
		unix                 int64
		sha1, sha256, sha512 string
	}{
		{59, "94287082", "46119246", "90693936"},
		{1111111109, "07081804", "68084774", "25091201"},
		{1111111111, "14050471", "67062674", "99943326"},
		{1234567890, "89005924", "91819424", "93441116"},
		{2000000000, "69279037", "90698825", "38618901"},
		{20000000000, "65353130", "77737706", "47863826"},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			alg  Algorithm
			key  []byte
			want string
		}{{SHA1, rfcKeySHA1, tt.sha1}, {SHA256, rfcKeySHA256, tt.sha256}, {SHA512, rfcKeySHA512, tt.sha512}} {
			p := Params{Digits: 8, Period: 30, Algorithm: c.alg, Skew: 1}
			if got := Code(c.key, time.Unix(tt.unix, 0), p); got != c.want {
				t.Errorf("Code(%s, T=%d) = %q, want %q", c.alg, tt.unix, got, c.want)
			}
		}
	}
}

func TestHOTPRefusesBadInput(t *testing.T) {
	for _, tt := range []struct {
		digits int
		alg    Algorithm
	}{{0, SHA1}, {10, SHA1}, {6, "MD5"}, {6, "sha1"}} {
		if got := HOTP(rfcKeySHA1, 1, tt.digits, tt.alg); got != "" {
			t.Errorf("HOTP(digits %d, %q) = %q, want empty", tt.digits, tt.alg, got)
		}
	}
	if got, want := HOTP(rfcKeySHA1, 0, 6, ""), "755224"; got != want {
		t.Errorf("HOTP with empty algorithm = %q, want SHA1's %q", got, want)
	}
}

func TestValidate(t *testing.T) {
	ok := DefaultParams()
	if want := (Params{Digits: 6, Period: 30, Algorithm: SHA1, Skew: 1}); ok != want {
		t.Fatalf("DefaultParams() = %+v, want %+v", ok, want)
	}
	tests := []struct {
		name string
		edit func(*Params)
		ok   bool
	}{
		{"default", func(*Params) {}, true},
		{"8 digits sha512 60s", func(p *Params) { p.Digits, p.Algorithm, p.Period = 8, SHA512, 60 }, true},
		{"empty algorithm is sha1", func(p *Params) { p.Algorithm = "" }, true},
		{"skew 0", func(p *Params) { p.Skew = 0 }, true},
		{"skew 3", func(p *Params) { p.Skew = 3 }, true},
		{"5 digits", func(p *Params) { p.Digits = 5 }, false},
		{"9 digits", func(p *Params) { p.Digits = 9 }, false},
		{"period 14", func(p *Params) { p.Period = 14 }, false},
		{"period 121", func(p *Params) { p.Period = 121 }, false},
		{"period 0", func(p *Params) { p.Period = 0 }, false},
		{"md5", func(p *Params) { p.Algorithm = "MD5" }, false},
		{"lower-case sha1", func(p *Params) { p.Algorithm = "sha1" }, false},
		{"skew -1", func(p *Params) { p.Skew = -1 }, false},
		{"skew 4", func(p *Params) { p.Skew = 4 }, false},
		{"zero value", func(p *Params) { *p = Params{} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultParams()
			tt.edit(&p)
			err := p.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate(%+v) = %v, want ok=%v", p, err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidParams) {
					t.Errorf("error %v does not wrap ErrInvalidParams", err)
				}
				if !strings.HasPrefix(err.Error(), "totp: ") {
					t.Errorf("error %q lacks the totp: prefix", err)
				}
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	s, err := NewSecret(bytes.NewReader(bytes.Repeat([]byte{0xAB}, 32)))
	if err != nil || len(s) != 20 {
		t.Fatalf("NewSecret = %x, %v; want 20 bytes", s, err)
	}
	if _, err := NewSecret(bytes.NewReader(make([]byte, 19))); err == nil {
		t.Errorf("NewSecret from a 19-byte reader: got nil error, want a short-read error")
	}

	enc := EncodeSecret(rfcKeySHA1)
	if want := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; enc != want {
		t.Errorf("EncodeSecret = %q, want %q", enc, want)
	}
	if got := EncodeSecret([]byte("ab")); got != "MFRA" {
		t.Errorf("EncodeSecret(ab) = %q, want unpadded %q", got, "MFRA")
	}

	for _, in := range []string{
		enc,
		strings.ToLower(enc),
		GroupKey(enc),
		" gezd gnbv gy3t qojq gezd gnbv gy3t qojq ",
		"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ========",
	} {
		got, err := DecodeSecret(in)
		if err != nil || !bytes.Equal(got, rfcKeySHA1) {
			t.Errorf("DecodeSecret(%q) = %q, %v; want %q", in, got, err, rfcKeySHA1)
		}
	}
	if got, err := DecodeSecret("MFRA=="); err != nil || string(got) != "ab" {
		t.Errorf("DecodeSecret(MFRA==) = %q, %v; want ab", got, err)
	}
	for _, in := range []string{"", "   ", "====", "GEZD1", "GEZ!", "A", "GE=ZD", "ıY"} {
		if got, err := DecodeSecret(in); err == nil {
			t.Errorf("DecodeSecret(%q) = %x, want error", in, got)
		} else if !strings.HasPrefix(err.Error(), "totp: ") {
			t.Errorf("DecodeSecret(%q) error %q lacks the totp: prefix", in, err)
		}
	}
}

func TestGroupKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"ABC", "ABC"},
		{"ABCD", "ABCD"},
		{"ABCDE", "ABCD E"},
		{"ABCDEFGHIJKL", "ABCD EFGH IJKL"},
		{"ABCD EFGH IJ", "ABCD EFGH IJ"},
	}
	for _, tt := range tests {
		if got := GroupKey(tt.in); got != tt.want {
			t.Errorf("GroupKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStep(t *testing.T) {
	p := DefaultParams()
	tests := []struct {
		unix int64
		want int64
	}{{0, 0}, {29, 0}, {30, 1}, {59, 1}, {1111111109, 37037036}, {-1, -1}, {-30, -1}, {-31, -2}}
	for _, tt := range tests {
		if got := Step(time.Unix(tt.unix, 0), p); got != tt.want {
			t.Errorf("Step(%d) = %d, want %d", tt.unix, got, tt.want)
		}
	}
	if got := Step(time.Unix(119, 0), Params{Period: 60}); got != 1 {
		t.Errorf("Step(119, period 60) = %d, want 1", got)
	}
	if got := Code(rfcKeySHA1, time.Unix(-1, 0), p); got != "" {
		t.Errorf("Code before 1970 = %q, want empty", got)
	}
	if got := Code(rfcKeySHA1, time.Unix(59, 0), Params{}); got != "" {
		t.Errorf("Code with zero Params = %q, want empty", got)
	}
}

func TestNormalizeCode(t *testing.T) {
	p6, p8 := DefaultParams(), DefaultParams()
	p8.Digits = 8
	tests := []struct {
		in   string
		p    Params
		want string
		ok   bool
	}{
		{"123456", p6, "123456", true},
		{"123 456", p6, "123456", true},
		{" 123-456 ", p6, "123456", true},
		{"12\t34\u00a056", p6, "123456", true},
		{"123\u2013456", p6, "123456", true}, // en dash from a word processor
		{"1234 5678", p8, "12345678", true},
		{"123456", p8, "", false},
		{"12345", p6, "", false},
		{"1234567", p6, "", false},
		{"12a456", p6, "", false},
		{"", p6, "", false},
		{"   ", p6, "", false},
		{"１２３４５６", p6, "", false}, // full-width digits
		{"١٢٣٤٥٦", p6, "", false}, // Arabic-Indic digits
		{"+123456", p6, "", false},
		{"123456\x00", p6, "", false},
		{strings.Repeat(" ", 60) + "123456", p6, "", false},
		{"123456", Params{}, "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeCode(tt.in, tt.p)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeCode(%q, %d digits) = %q, %v; want %q, %v", tt.in, tt.p.Digits, got, ok, tt.want, tt.ok)
		}
	}
}

// tool finds a command-line program used as an independent reference.
// CI installs them, so there a missing tool fails the test; on a laptop
// it skips.
func tool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found; CI must install it: apt-get install -y %s", name, debianPackage)
	}
	t.Skipf("%s not found (apt-get install -y %s)", name, debianPackage)
	return ""
}
