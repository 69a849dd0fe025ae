package password

import (
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// testParams are far cheaper than DefaultParams (64 KiB, one pass) so the
// tests run in milliseconds under -race; the code paths are the same.
var testParams = Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func newTestHasher(t testing.TB) *Hasher {
	t.Helper()
	return NewHasher(testParams, 2, time.Second)
}

func TestHashFormat(t *testing.T) {
	h := newTestHasher(t)
	enc, err := h.Hash(t.Context(), "correct horse")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	const prefix = "$argon2id$v=19$m=64,t=1,p=1$"
	if !strings.HasPrefix(enc, prefix) {
		t.Errorf("Hash = %q, want prefix %q", enc, prefix)
	}
	got, err := parsePHC(enc)
	if err != nil {
		t.Fatalf("parsePHC(%q): %v", enc, err)
	}
	if got.params() != testParams {
		t.Errorf("parsed params = %+v, want %+v", got.params(), testParams)
	}
	if s := got.String(); s != enc {
		t.Errorf("re-encoded = %q, want %q", s, enc)
	}

	enc2, _ := h.Hash(t.Context(), "correct horse")
	if enc2 == enc {
		t.Errorf("two hashes of one password are equal (%q): salt not random", enc)
	}
}

// TestReferenceVector checks interoperability with the argon2 reference
// implementation, using a vector from its src/test.c (password "password",
// salt "somesalt", m=64 MiB, t=2, p=1).
func TestReferenceVector(t *testing.T) {
	const enc = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	h := newTestHasher(t)
	for _, tt := range []struct {
		pw   string
		want bool
	}{
		{"password", true},
		{"Password", false},
	} {
		ok, _, err := h.Verify(t.Context(), tt.pw, enc)
		if err != nil {
			t.Fatalf("Verify(%q): %v", tt.pw, err)
		}
		if ok != tt.want {
			t.Errorf("Verify(%q) = %v, want %v", tt.pw, ok, tt.want)
		}
	}
}

func TestParsePHCRejects(t *testing.T) {
	const salt, key = "c29tZXNhbHRzYWx0", "Q0aA8eZcmqUMu1o5v8YPTA"
	good := "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key
	if _, err := parsePHC(good); err != nil {
		t.Fatalf("parsePHC(%q) = %v, want nil (fix the table)", good, err)
	}
	for _, s := range []string{
		"",
		"$",
		"argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$",
		"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$scrypt$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$m=64,t=1,p=1$" + salt + "$" + key, // no version (v=16 implied)
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=019$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key, // order
		"$argon2id$v=19$m=64,t=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1,k=1$" + salt + "$" + key,
		"$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=6_4,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=0x40,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + key,
		"$argon2id$v=19$m=7,t=1,p=1$" + salt + "$" + key,          // below 8 KiB per lane
		"$argon2id$v=19$m=64,t=1,p=9$" + salt + "$" + key,         // below 8 KiB per lane
		"$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key, // above 1 GiB
		"$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + key, // overflows uint32
		"$argon2id$v=19$m=64,t=99999,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key,        // 4-byte salt
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$YWI",     // 2-byte hash
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "=$" + key, // padding
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "==",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$Q0aA8eZcmqUMu1o5v8YPTB", // non-zero trailing bits
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$Q0aA8eZcmqUMu1o5v8YP\nTA",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$Q0aA8eZcmqUMu1o5v8YP-_", // URL alphabet
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.Repeat("A", 4096),
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + " ",
	} {
		_, err := parsePHC(s)
		if !errors.Is(err, ErrMalformedHash) {
			t.Errorf("parsePHC(%q) = %v, want ErrMalformedHash", s, err)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := newTestHasher(t)
	for _, enc := range []string{
		"",
		"plaintext",
		"$argon2id$v=19$m=64,t=1,p=1$$",
		"$2a$10$short",
		"$2b$99$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234", // cost 99
		"$2y$31$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234", // cost above maxBcryptCost
	} {
		ok, rehash, err := h.Verify(t.Context(), "pw", enc)
		if ok || rehash || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q) = %v, %v, %v; want false, false, ErrMalformedHash", enc, ok, rehash, err)
		}
	}
}

func TestVerify(t *testing.T) {
	h := newTestHasher(t)
	enc, err := h.Hash(t.Context(), "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		pw   string
		want bool
	}{
		{"correct horse", true},
		{"correct horsE", false},
		{"correct horse ", false},
		{"", false},
	} {
		ok, rehash, err := h.Verify(t.Context(), tt.pw, enc)
		if err != nil || ok != tt.want || rehash {
			t.Errorf("Verify(%q) = %v, %v, %v; want %v, false, nil", tt.pw, ok, rehash, err, tt.want)
		}
	}
}

// TestNormalisedFormsVerify: the same password typed precomposed (NFC) and
// decomposed (NFD) must hash alike once normalised.
func TestNormalisedFormsVerify(t *testing.T) {
	const nfc, nfd = "passw\u00f4rd", "passwo\u0302rd"
	if nfc == nfd {
		t.Fatal("test strings are identical; want different code points")
	}
	a, err := Normalize(nfc)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Normalize(nfd)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("Normalize(NFC) = %q, Normalize(NFD) = %q; want equal", a, b)
	}
	h := newTestHasher(t)
	enc, err := h.Hash(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := h.Verify(t.Context(), b, enc); !ok || err != nil {
		t.Errorf("Verify(NFD form) = %v, %v; want true, nil", ok, err)
	}
	// Without normalising, the spellings differ: that is why callers must.
	if ok, _, _ := h.Verify(t.Context(), nfd, enc); ok {
		t.Errorf("Verify(raw NFD) against NFC hash = true; want false")
	}
}

func TestNeedsRehash(t *testing.T) {
	h := newTestHasher(t)
	for _, tt := range []struct {
		name string
		p    Params
		want bool
	}{
		{"same", testParams, false},
		{"memory", Params{MemoryKiB: 128, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, true},
		{"iterations", Params{MemoryKiB: 64, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}, true},
		{"parallelism", Params{MemoryKiB: 64, Iterations: 1, Parallelism: 2, SaltLen: 16, KeyLen: 32}, true},
		{"salt", Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 32, KeyLen: 32}, true},
		{"key", Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 16}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := NewHasher(tt.p, 1, time.Second).Hash(t.Context(), "pw")
			if err != nil {
				t.Fatal(err)
			}
			ok, rehash, err := h.Verify(t.Context(), "pw", enc)
			if !ok || rehash != tt.want || err != nil {
				t.Errorf("Verify = %v, %v, %v; want true, %v, nil", ok, rehash, err, tt.want)
			}
			// A wrong password never asks for a rehash.
			if ok, rehash, _ := h.Verify(t.Context(), "wrong", enc); ok || rehash {
				t.Errorf("Verify(wrong) = %v, %v; want false, false", ok, rehash)
			}
		})
	}
}

func TestVerifyBcrypt(t *testing.T) {
	h := newTestHasher(t)
	// MinCost keeps the test fast; imported hashes usually have cost 10-12.
	b, err := bcrypt.GenerateFromPassword([]byte("hunter2 hunter2"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	a := string(b)
	if !strings.HasPrefix(a, "$2a$") {
		t.Fatalf("bcrypt hash = %q, want $2a$ prefix", a)
	}
	for _, tt := range []struct {
		name, pw, enc      string
		wantOK, wantRehash bool
	}{
		{"2a", "hunter2 hunter2", a, true, true},
		{"2a wrong", "hunter2 hunter3", a, false, false},
		// PHP writes $2y$ and OpenBSD $2b$ for the same algorithm.
		{"2y", "hunter2 hunter2", "$2y$" + a[4:], true, true},
		{"2b", "hunter2 hunter2", "$2b$" + a[4:], true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(t.Context(), tt.pw, tt.enc)
			if ok != tt.wantOK || rehash != tt.wantRehash || err != nil {
				t.Errorf("Verify = %v, %v, %v; want %v, %v, nil", ok, rehash, err, tt.wantOK, tt.wantRehash)
			}
		})
	}
}

func TestVerifyDummy(t *testing.T) {
	h := newTestHasher(t)
	for _, pw := range []string{"", "pw", strings.Repeat("x", 1024)} {
		if err := h.VerifyDummy(t.Context(), pw); err != nil {
			t.Errorf("VerifyDummy(%q) = %v, want nil", pw, err)
		}
	}
	if _, err := parsePHC(h.dummy); err != nil {
		t.Errorf("dummy hash %q: %v", h.dummy, err)
	}
}

func TestParamsValidate(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Errorf("DefaultParams().Validate() = %v, want nil", err)
	}
	for _, p := range []Params{
		{},
		{MemoryKiB: 64, Iterations: 0, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{MemoryKiB: 64, Iterations: 1, Parallelism: 0, SaltLen: 16, KeyLen: 32},
		{MemoryKiB: 4, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 8, KeyLen: 32},
		{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 4},
		{MemoryKiB: 1<<20 + 1, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32},
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v.Validate() = nil, want error", p)
		}
	}
}

func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzYWx0$Q0aA8eZcmqUMu1o5v8YPTA")
	f.Add("$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
	f.Add("$argon2id$v=19$m=7,t=1,p=1$$")
	f.Add("$2a$04$abcdefghijklmnopqrstuu")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("parsePHC(%q) = %v, want ErrMalformedHash", s, err)
			}
			return
		}
		// Only the canonical spelling parses.
		if got := h.String(); got != s {
			t.Fatalf("parsePHC(%q) re-encodes as %q", s, got)
		}
	})
}

func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultParams(), 1, time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(b.Context(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := NewHasher(DefaultParams(), 1, time.Minute)
	enc, err := h.Hash(b.Context(), "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(b.Context(), "correct horse battery staple", enc); !ok || err != nil {
			b.Fatalf("Verify = %v, %v", ok, err)
		}
	}
}
