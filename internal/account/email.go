package account

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// InvalidEmailError says why an e-mail address was refused.
type InvalidEmailError struct {
	Reason string
	// Code names the reason for the catalogues
	// (problem.invalid_email.<code>); Address is what was typed, for
	// malformed.
	Code, Address string
}

func (e *InvalidEmailError) Error() string { return e.Reason }

// NormalizeEmail checks an address typed by a user and returns the form
// stored and compared: trimmed and lower-cased. Display names, comments and
// lists are refused: only a bare address is an account name.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", &InvalidEmailError{Reason: "Enter your e-mail address.", Code: "empty"}
	case !utf8.ValidString(s):
		return "", &InvalidEmailError{Reason: "The e-mail address is not valid text.", Code: "invalid_text"}
	case len(s) > 254:
		return "", &InvalidEmailError{Reason: "The e-mail address is too long: at most 254 characters.", Code: "too_long"}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", &InvalidEmailError{Reason: fmt.Sprintf("%q is not an e-mail address like name@example.com.", s), Code: "malformed", Address: s}
	}
	local, domain, _ := strings.Cut(a.Address, "@")
	if local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.HasPrefix(domain, "[") {
		return "", &InvalidEmailError{Reason: fmt.Sprintf("%q is not an e-mail address like name@example.com.", s), Code: "malformed", Address: s}
	}
	return strings.ToLower(a.Address), nil
}
