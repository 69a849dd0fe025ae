package password

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
)

// ErrInvalid reports a password that cannot be normalised: not UTF-8,
// empty, or containing code points RFC 8265 disallows (such as control
// characters). Errors from [Normalize] wrap it.
var ErrInvalid = errors.New("password: invalid")

// Normalize prepares pw for hashing with the RFC 8265 OpaqueString profile:
// non-ASCII spaces become ASCII spaces and the text is put in Unicode
// normalisation form C, so "ô" typed as one code point or as "o" plus a
// combining circumflex gives the same password. Unlike NFKC it keeps
// compatibility characters such as "ﬁ" and "①" as typed. Both sign-up and
// sign-in must normalise, or the same password hashes differently.
func Normalize(pw string) (string, error) {
	if !utf8.ValidString(pw) {
		return "", fmt.Errorf("%w: not valid UTF-8", ErrInvalid)
	}
	if pw == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalid)
	}
	out, err := precis.OpaqueString.String(pw)
	if err != nil {
		return "", fmt.Errorf("%w: disallowed character", ErrInvalid)
	}
	return out, nil
}
