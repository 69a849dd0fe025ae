package password

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Hashes written by other implementations, so the formats are checked
// against their makers and not only against this package's reading of
// them: Python's hashlib.pbkdf2_hmac (as Django calls it) and the argon2
// reference CLI's README example.
const (
	djangoSHA256 = "pbkdf2_sha256$600000$seasalt$OAXyhAQ/4ZDA9V5RMExt3C1OwQdUpLZ99vm1McFlLRA="  // "lètmein"
	djangoSHA1   = "pbkdf2_sha1$10000$seasalt$oAfF6vgs95ncksAhGXOWf4Okq7o="                     // "lètmein"
	argon2iRef   = "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG" // "password"
)

// importHasher uses cheap parameters: the imported hashes bring their own
// cost, which is what these tests exercise.
func importHasher() *Hasher {
	return NewHasher(Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, 2, time.Second)
}

// TestImportedFormatsVerify: every imported format verifies the right
// password (asking for a rehash) and refuses a wrong one.
func TestImportedFormatsVerify(t *testing.T) {
	h := importHasher()
	salt := []byte("0123456789abcdef")
	enc := base64.RawStdEncoding
	bc, err := bcrypt.GenerateFromPassword([]byte("correct horse"), 4)
	if err != nil {
		t.Fatal(err)
	}
	dk, _ := pbkdf2.Key(sha256.New, "correct horse", []byte("pepperedsalt"), 1000, 32)
	for _, c := range []struct {
		name, encoded, pw string
		format            Format
	}{
		{"argon2id at other parameters", "$argon2id$v=19$m=256,t=2,p=2$" + enc.EncodeToString(salt) + "$" +
			enc.EncodeToString(argon2.IDKey([]byte("correct horse"), salt, 2, 256, 2, 32)), "correct horse", Argon2id},
		{"argon2i", "$argon2i$v=19$m=128,t=3,p=1$" + enc.EncodeToString(salt) + "$" +
			enc.EncodeToString(argon2.Key([]byte("correct horse"), salt, 3, 128, 1, 32)), "correct horse", Argon2i},
		{"argon2i reference CLI", argon2iRef, "password", Argon2i},
		{"bcrypt $2a$", string(bc), "correct horse", Bcrypt},
		{"bcrypt $2b$", "$2b$" + string(bc[4:]), "correct horse", Bcrypt},
		{"bcrypt $2y$", "$2y$" + string(bc[4:]), "correct horse", Bcrypt},
		{"django pbkdf2_sha256", "pbkdf2_sha256$1000$pepperedsalt$" + base64.StdEncoding.EncodeToString(dk), "correct horse", PBKDF2SHA256},
		{"django pbkdf2_sha256 (hashlib)", djangoSHA256, "lètmein", PBKDF2SHA256},
		{"django pbkdf2_sha1 (hashlib)", djangoSHA1, "lètmein", PBKDF2SHA1},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := CheckImported(c.encoded)
			if err != nil || f != c.format {
				t.Fatalf("CheckImported = %q, %v; want %q", f, err, c.format)
			}
			ok, rehash, err := h.Verify(context.Background(), c.pw, c.encoded)
			if !ok || !rehash || err != nil {
				t.Fatalf("Verify(right password) = %v, %v, %v; want true, true (rehash), nil", ok, rehash, err)
			}
			ok, rehash, err = h.Verify(context.Background(), c.pw+"!", c.encoded)
			if ok || rehash || err != nil {
				t.Fatalf("Verify(wrong password) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

// TestCheckImportedRefuses names what an import line with a bad hash is
// refused for.
func TestCheckImportedRefuses(t *testing.T) {
	for _, bad := range []string{
		"", "plaintext", "md5$abc$def", "$argon2d$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		"$argon2i$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub", // no version: argon2 1.0, not verified
		"$2a$04$short", "$2a$31$" + strings.Repeat("a", 53),
		"pbkdf2_sha256$0$salt$" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"pbkdf2_sha256$99999999$salt$" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"pbkdf2_sha256$1000$$" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"pbkdf2_sha256$1000$salt$" + base64.StdEncoding.EncodeToString(make([]byte, 20)),
		"pbkdf2_sha512$1000$salt$" + base64.StdEncoding.EncodeToString(make([]byte, 64)),
		"pbkdf2_sha256$1000$salt",
	} {
		if _, err := CheckImported(bad); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("CheckImported(%q) = %v, want ErrMalformedHash", bad, err)
		}
	}
}
