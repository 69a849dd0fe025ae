package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"
	"unicode"
)

// Algorithm names the HMAC hash, spelled as in the otpauth URI.
type Algorithm string

// The algorithms of RFC 6238. SHA1 is the default and the only one every
// authenticator app honours; some apps silently ignore the others.
const (
	SHA1   Algorithm = "SHA1"
	SHA256 Algorithm = "SHA256"
	SHA512 Algorithm = "SHA512"
)

// newHash returns the hash constructor for a, or nil if a is unknown. The
// empty Algorithm means the default, SHA1.
func (a Algorithm) newHash() func() hash.Hash {
	switch a {
	case SHA1, "":
		return sha1.New
	case SHA256:
		return sha256.New
	case SHA512:
		return sha512.New
	}
	return nil
}

// Params are the per-factor TOTP settings. They are stored with the secret,
// because a code can only be checked with the settings the app was given.
type Params struct {
	Digits    int       // length of a code, 6 to 8
	Period    int       // seconds per time step, 15 to 120
	Algorithm Algorithm // HMAC hash; empty means SHA1
	Skew      int       // steps accepted either side of now, 0 to 3
}

// DefaultParams returns 6 digits, 30 seconds, SHA1 and a skew of one step:
// the settings every authenticator app supports, with the one step of
// leeway RFC 6238 §5.2 recommends for a code typed just as it changes.
func DefaultParams() Params {
	return Params{Digits: 6, Period: 30, Algorithm: SHA1, Skew: 1}
}

// ErrInvalidParams is wrapped by the error Validate returns.
var ErrInvalidParams = errors.New("totp: invalid params")

// Validate reports whether p is usable. The bounds keep codes guessable no
// more than one in a million (6 digits), keep a step short enough to meet
// NIST's "change at least every 2 minutes", and keep the skew window small.
func (p Params) Validate() error {
	if msg := p.problem(); msg != "" {
		return fmt.Errorf("%w: %s", ErrInvalidParams, msg)
	}
	return nil
}

// problem describes what is wrong with p, or returns "" if nothing is.
func (p Params) problem() string {
	switch {
	case p.Digits < 6 || p.Digits > 8:
		return fmt.Sprintf("digits must be 6 to 8, got %d", p.Digits)
	case p.Period < 15 || p.Period > 120:
		return fmt.Sprintf("period must be 15 to 120 seconds, got %d", p.Period)
	case p.Algorithm.newHash() == nil:
		return fmt.Sprintf("unknown algorithm %q", string(p.Algorithm))
	case p.Skew < 0 || p.Skew > 3:
		return fmt.Sprintf("skew must be 0 to 3 steps, got %d", p.Skew)
	}
	return ""
}

// SecretSize is the length of a new secret: 160 bits, the size RFC 4226
// recommends and the HMAC-SHA1 block of output.
const SecretSize = 20

// NewSecret reads a new secret from r, normally crypto/rand.Reader.
func NewSecret(r io.Reader) ([]byte, error) {
	b := make([]byte, SecretSize)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("totp: read secret: %w", err)
	}
	return b, nil
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// EncodeSecret returns b in upper-case base32 without padding, the form the
// otpauth URI and the apps' "enter a setup key" screens expect.
func EncodeSecret(b []byte) string {
	return b32.EncodeToString(b)
}

// DecodeSecret parses a base32 secret as people and other servers write it:
// with spaces, in lower case, with or without '=' padding.
func DecodeSecret(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return -1
		case r >= 'a' && r <= 'z': // ASCII only: unicode.ToUpper('ı') is 'I'
			return r - 'a' + 'A'
		}
		return r
	}, s)
	s = strings.TrimRight(s, "=")
	if s == "" {
		return nil, errors.New("totp: empty secret")
	}
	// Unpadded base32 ends in 0, 2, 4, 5 or 7 characters of a block of
	// eight; other lengths leave bits over that are not a whole byte, which
	// encoding/base32 drops silently.
	switch len(s) % 8 {
	case 1, 3, 6:
		return nil, errors.New("totp: secret is not valid base32")
	}
	b, err := b32.DecodeString(s)
	if err != nil {
		return nil, errors.New("totp: secret is not valid base32")
	}
	return b, nil
}

// GroupKey splits an encoded secret into groups of four ("ABCD EFGH IJKL")
// so a person can copy it into an app by hand without losing their place.
func GroupKey(s string) string {
	s = strings.ReplaceAll(s, " ", "")
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// HOTP returns the RFC 4226 code for counter: HMAC the big-endian counter,
// take 31 bits at the offset named by the last nibble ("dynamic
// truncation"), and keep the last digits decimal digits, zero-padded.
// It returns "" for an unknown algorithm or digits outside 1 to 9; the empty
// string never verifies.
func HOTP(key []byte, counter uint64, digits int, alg Algorithm) string {
	newHash := alg.newHash()
	if newHash == nil || digits < 1 || digits > 9 {
		return ""
	}
	var buf [9]byte
	return string(hotp(hmac.New(newHash, key), new(scratch), counter, buf[:digits]))
}

// scratch is hotp's working memory. It escapes to the heap through the
// hash.Hash interface, so Verify allocates one and reuses it for every step.
type scratch struct {
	msg [8]byte
	sum [sha512.Size]byte
}

// hotp writes the len(dst)-digit code into dst and returns it. The mac is
// reset first, so one mac serves every step Verify tries.
func hotp(mac hash.Hash, sc *scratch, counter uint64, dst []byte) []byte {
	binary.BigEndian.PutUint64(sc.msg[:], counter)
	mac.Reset()
	mac.Write(sc.msg[:])
	sum := mac.Sum(sc.sum[:0])
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
	return dst
}

// Step returns the RFC 6238 time step of t: floor(unix seconds / period),
// with T0 = 0. p.Period must be positive; Validate checks it.
func Step(t time.Time, p Params) int64 {
	if p.Period <= 0 {
		panic("totp: Step with a non-positive period")
	}
	u, per := t.Unix(), int64(p.Period)
	s := u / per
	if u%per != 0 && u < 0 {
		s--
	}
	return s
}

// Code returns the code an app shows at t, or "" if p is invalid.
func Code(key []byte, t time.Time, p Params) string {
	if p.Validate() != nil {
		return ""
	}
	s := Step(t, p)
	if s < 0 {
		return ""
	}
	return HOTP(key, uint64(s), p.Digits, p.Algorithm)
}

// NormalizeCode strips spaces and dashes, which apps and people put in the
// middle of a code ("123 456"), and reports ok only when exactly p.Digits
// ASCII digits remain. Other digits, such as full-width ones, are refused,
// and so is anything longer than 64 bytes.
func NormalizeCode(code string, p Params) (string, bool) {
	if p.Digits < 1 || len(code) > 64 {
		return "", false
	}
	var buf [64]byte
	n := 0
	for _, r := range code {
		switch {
		case r >= '0' && r <= '9':
			if n == p.Digits {
				return "", false
			}
			buf[n] = byte(r)
			n++
		case unicode.IsSpace(r) || unicode.Is(unicode.Pd, r):
		default:
			return "", false
		}
	}
	if n != p.Digits {
		return "", false
	}
	return string(buf[:n]), true
}
