package recovery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// Count is how many codes a user gets at a time.
const Count = 10

// Alphabet is the 32 characters codes are made of: the digits 2–9 and the
// letters a–z without l and o. Left out are 0 and o, which look alike, and
// 1 and l, which look alike (and like I). Exactly 32, so each character
// carries 5 bits and a random byte maps onto it without bias (byte & 31).
const Alphabet = "23456789abcdefghijkmnpqrstuvwxyz"

// Size is the number of characters in a normalized code: 8 × 5 = 40 bits.
const Size = 8

// ErrRepeating is returned when the random source yields the same code
// again and again, which a working source practically never does.
var ErrRepeating = errors.New("recovery: random source keeps repeating codes")

// Generate returns n distinct codes formatted as "xxxx-xxxx", with
// randomness from r (normally crypto/rand.Reader).
func Generate(r io.Reader, n int) ([]string, error) {
	if n < 0 {
		return nil, fmt.Errorf("recovery: cannot generate %d codes", n)
	}
	codes := make([]string, 0, n)
	seen := make(map[string]bool, n)
	var b [Size]byte
	// A duplicate among n 40-bit codes has odds around n²/2⁴¹, so a few
	// retries are plenty; more than that means the source is broken.
	for tries := 0; len(codes) < n; tries++ {
		if tries >= n+8 {
			return nil, ErrRepeating
		}
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("recovery: read random: %w", err)
		}
		for i, v := range b {
			b[i] = Alphabet[v&31]
		}
		code := string(b[:])
		if seen[code] {
			continue
		}
		seen[code] = true
		codes = append(codes, Format(code))
	}
	return codes, nil
}

// Normalize turns what a person typed into the stored form: lower case,
// with spaces and dashes (any Unicode space or dash) removed. ok is false
// unless exactly Size characters of Alphabet remain; look-alikes such as
// 0, o, 1 and l are refused rather than guessed at.
func Normalize(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	var b [Size]byte
	n := 0
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) {
			continue
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		if r > unicode.MaxASCII || strings.IndexByte(Alphabet, byte(r)) < 0 || n == Size {
			return "", false
		}
		b[n] = byte(r)
		n++
	}
	if n != Size {
		return "", false
	}
	return string(b[:]), true
}

// Hash returns hex(HMAC-SHA256(pepper, userID + ":" + normalized)), the
// stored form of a code. The user id salts it, so equal codes of two users
// hash differently; the pepper is a server key kept out of the database.
// Because normalized has a fixed length and no ':', the input is never
// ambiguous, whatever the user id contains.
func Hash(pepper []byte, userID, normalized string) string {
	mac := hmac.New(sha256.New, pepper)
	mac.Write([]byte(userID))
	mac.Write([]byte{':'})
	mac.Write([]byte(normalized))
	return hex.EncodeToString(mac.Sum(nil))
}

// Format shows a normalized code as "xxxx-xxxx". Other input is returned
// unchanged.
func Format(normalized string) string {
	if len(normalized) != Size {
		return normalized
	}
	return normalized[:4] + "-" + normalized[4:]
}
