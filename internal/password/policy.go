package password

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"
)

// Policy says which new passwords are acceptable. Lengths are counted in
// characters (code points) after normalisation, so "ô" counts once however
// it was typed. A zero field means the default.
type Policy struct {
	MinLen int // fewest characters; default 8
	MaxLen int // most characters; default 1024
}

// DefaultPolicy returns at least 8 and at most 1024 characters, following
// NIST SP 800-63B for passwords used with a second factor: a floor on
// length, a generous ceiling so passphrases fit, and no composition rules.
func DefaultPolicy() Policy {
	return Policy{MinLen: 8, MaxLen: 1024}
}

// WeakError explains why a new password was refused. Its Reason is a
// complete sentence fit to show the user.
type WeakError struct {
	Reason string
	// Code names the reason for the catalogues (problem.weak_password.<code>),
	// which say it in the person's language; Limit is its number of
	// characters, for too_short and too_long.
	Code  string
	Limit int
}

// Error returns the user-facing reason.
func (e *WeakError) Error() string { return e.Reason }

// Check normalises pw (see [Normalize]) and vets it as a new password for
// the account with the given e-mail address. It returns the normalised
// password to hash, or a *WeakError saying what is wrong.
func (p Policy) Check(pw, email string) (string, error) {
	def := DefaultPolicy()
	if p.MinLen <= 0 {
		p.MinLen = def.MinLen
	}
	if p.MaxLen <= 0 {
		p.MaxLen = def.MaxLen
	}
	tooLong := &WeakError{Reason: fmt.Sprintf("Password is too long: at most %d characters.", p.MaxLen), Code: "too_long", Limit: p.MaxLen}
	tooShort := &WeakError{Reason: fmt.Sprintf("Password must be at least %d characters.", p.MinLen), Code: "too_short", Limit: p.MinLen}

	// Normalisation can merge several code points into one, but never more
	// than a handful; refusing absurd inputs first keeps an attacker from
	// making us normalise megabytes.
	if len(pw) > 16*p.MaxLen {
		return "", tooLong
	}
	if !utf8.ValidString(pw) {
		return "", &WeakError{Reason: "Password is not valid Unicode text.", Code: "invalid_text"}
	}
	if pw == "" {
		return "", tooShort
	}
	norm, err := Normalize(pw)
	if err != nil {
		return "", &WeakError{Reason: "Password contains characters that are not allowed, such as control characters.", Code: "control"}
	}
	switch n := utf8.RuneCountInString(norm); {
	case n < p.MinLen:
		return "", tooShort
	case n > p.MaxLen:
		return "", tooLong
	}
	if isEmail(norm, email) {
		return "", &WeakError{Reason: "Password must not be your e-mail address.", Code: "is_email"}
	}
	if _, common := commonPasswords()[strings.ToLower(norm)]; common {
		return "", &WeakError{Reason: "This password is one of the most common passwords; choose another.", Code: "common"}
	}
	return norm, nil
}

// isEmail reports whether pw is, ignoring case, the e-mail address or the
// part of it before the @.
func isEmail(pw, email string) bool {
	if email == "" {
		return false
	}
	if strings.EqualFold(pw, email) {
		return true
	}
	local, _, found := strings.Cut(email, "@")
	// Cut at the first @ is wrong for quoted local parts containing @, but
	// those are vanishingly rare and the whole-address test above still holds.
	return found && local != "" && strings.EqualFold(pw, local)
}

// commonPasswords is the set of passwords refused as too common: the
// 30,000 most frequent passwords of Mark Burnett's 10-million-password
// corpus, as shipped with zxcvbn (Dropbox's strength estimator) in its Go
// port github.com/trustelem/zxcvbn (MIT licence). NIST SP 800-63B asks
// verifiers to refuse passwords from breach corpora; 30,000 entries catch
// what attackers try first when spraying passwords across accounts, while a
// list of millions would mostly refuse passwords nobody guesses online.
// The entries are lowercase, and a password is looked up lowercased, so
// "Password1" is refused with "password1". Built on first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	list := frequency.FrequencyLists["passwords"]
	set := make(map[string]struct{}, len(list))
	for _, w := range list {
		set[strings.ToLower(w)] = struct{}{}
	}
	return set
})
