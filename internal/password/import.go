package password

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Hashes imported from other systems (twostep users import). Each is
// verified as its system did, and the sign-in that proves the password
// replaces it with a current argon2id hash (Verify says needsRehash):
//
//   - argon2id and argon2i PHC strings ($argon2id$v=19$m=…,t=…,p=…$salt$hash),
//     as the reference library, libsodium, passlib and Django write them;
//   - bcrypt $2a$, $2b$ and $2y$ (PHP, Python, OpenBSD, Django's bcrypt);
//   - Django's pbkdf2_sha256$<iterations>$<salt>$<base64 hash> and
//     pbkdf2_sha1$….
//
// PBKDF2 is the standard library's (which x/crypto/pbkdf2 now wraps).

// maxPBKDF2Iterations bounds an imported PBKDF2 hash: Django 5.1 uses
// 870,000; ten times that still verifies in seconds, and more only comes
// from a corrupted hash.
const maxPBKDF2Iterations = 10_000_000

// Format names a hash format, as CheckImported reports it.
type Format string

// The formats twostep stores or imports.
const (
	Argon2id     Format = "argon2id"
	Argon2i      Format = "argon2i"
	Bcrypt       Format = "bcrypt"
	PBKDF2SHA256 Format = "pbkdf2_sha256"
	PBKDF2SHA1   Format = "pbkdf2_sha1"
)

// CheckImported reports the format of a hash brought in from another
// system, or an error wrapping [ErrMalformedHash] when it is none that
// twostep verifies, or is out of the bounds it accepts.
func CheckImported(encoded string) (Format, error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		_, err := parsePHC(encoded)
		return Argon2id, err
	case strings.HasPrefix(encoded, "$argon2i$"):
		_, err := parseArgon2i(encoded)
		return Argon2i, err
	case isBcrypt(encoded):
		cost, err := bcrypt.Cost([]byte(encoded))
		if err != nil || len(encoded) != 60 {
			return Bcrypt, fmt.Errorf("%w: bcrypt: want 60 characters with a cost", ErrMalformedHash)
		}
		if cost > maxBcryptCost {
			return Bcrypt, fmt.Errorf("%w: bcrypt cost %d above %d", ErrMalformedHash, cost, maxBcryptCost)
		}
		return Bcrypt, nil
	case strings.HasPrefix(encoded, "pbkdf2_"):
		d, err := parseDjango(encoded)
		return d.format, err
	}
	return "", fmt.Errorf("%w: not argon2id, argon2i, bcrypt ($2a$, $2b$, $2y$) or Django pbkdf2_sha256/pbkdf2_sha1", ErrMalformedHash)
}

// foreign reports whether encoded is an imported format that Verify hands
// to verifyForeign: argon2i and Django PBKDF2 (bcrypt and argon2id have
// their own paths).
func foreign(encoded string) bool {
	return strings.HasPrefix(encoded, "$argon2i$") || strings.HasPrefix(encoded, "pbkdf2_")
}

// verifyForeign checks pw against an imported argon2i or Django PBKDF2
// hash, in one of h's slots like any other hash. A match always needs a
// rehash: the format is not the one twostep writes.
func (h *Hasher) verifyForeign(ctx context.Context, pw, encoded string) (ok, needsRehash bool, err error) {
	var compute func() (got, want []byte)
	switch {
	case strings.HasPrefix(encoded, "$argon2i$"):
		p, err := parseArgon2i(encoded)
		if err != nil {
			return false, false, err
		}
		compute = func() ([]byte, []byte) {
			return argon2.Key([]byte(pw), p.salt, p.iterations, p.memoryKiB, p.parallelism, uint32(len(p.key))), p.key
		}
	default:
		d, err := parseDjango(encoded)
		if err != nil {
			return false, false, err
		}
		compute = func() ([]byte, []byte) {
			got, err := pbkdf2.Key(d.hash, pw, []byte(d.salt), d.iterations, len(d.key))
			if err != nil { // only for lengths out of FIPS bounds, which parseDjango refuses
				return nil, d.key
			}
			return got, d.key
		}
	}
	t, err := h.adm.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer h.adm.release(t, false)
	got, want := compute()
	if got == nil || subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, true, nil
}

// parseArgon2i reads an argon2i PHC string: the fields of argon2id's, in
// the same canonical spelling (version 19 only).
func parseArgon2i(s string) (phc, error) {
	rest, ok := strings.CutPrefix(s, "$argon2i$")
	if !ok {
		return phc{}, fmt.Errorf("%w: not argon2i", ErrMalformedHash)
	}
	return parsePHC("$argon2id$" + rest)
}

// django is a decoded Django PBKDF2 hash.
type django struct {
	format     Format
	hash       func() hash.Hash
	iterations int
	salt       string
	key        []byte
}

// parseDjango reads Django's <algorithm>$<iterations>$<salt>$<base64 hash>.
// The salt is used as the text it is; the hash is padded standard base64
// of the digest's length (32 bytes for SHA-256, 20 for SHA-1).
func parseDjango(s string) (django, error) {
	var d django
	fields := strings.Split(s, "$")
	if len(fields) != 4 {
		return d, fmt.Errorf("%w: want algorithm$iterations$salt$hash", ErrMalformedHash)
	}
	size := 0
	switch Format(fields[0]) {
	case PBKDF2SHA256:
		d.format, d.hash, size = PBKDF2SHA256, sha256.New, sha256.Size
	case PBKDF2SHA1:
		d.format, d.hash, size = PBKDF2SHA1, sha1.New, sha1.Size
	default:
		return d, fmt.Errorf("%w: unsupported algorithm %q", ErrMalformedHash, fields[0])
	}
	n, err := strconv.Atoi(fields[1])
	if err != nil || n < 1 || n > maxPBKDF2Iterations || fields[1][0] == '0' {
		return d, fmt.Errorf("%w: iterations %q not in [1, %d]", ErrMalformedHash, fields[1], maxPBKDF2Iterations)
	}
	d.iterations = n
	if fields[2] == "" || len(fields[2]) > maxSaltLen {
		return d, fmt.Errorf("%w: salt empty or too long", ErrMalformedHash)
	}
	d.salt = fields[2]
	if d.key, err = base64.StdEncoding.Strict().DecodeString(fields[3]); err != nil || len(d.key) != size {
		return d, fmt.Errorf("%w: hash: want %d bytes in padded base64", ErrMalformedHash, size)
	}
	return d, nil
}
