package totp

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// URI returns the otpauth key URI an authenticator app scans, in the Google
// Authenticator key-URI format:
//
//	otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=…&digits=…&period=…
//
// The issuer appears twice because older apps read only the label prefix
// and newer ones prefer the parameter. ':' separates issuer from account in
// the label, so it is removed from both, as are surrounding spaces. With an
// empty issuer the label is the account alone and there is no issuer
// parameter. The skew is the server's business and is not written.
func URI(issuer, account string, secret []byte, p Params) string {
	issuer = labelPart(issuer)
	account = labelPart(account)
	alg := p.Algorithm
	if alg == "" {
		alg = SHA1
	}
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	if issuer != "" {
		b.WriteString(url.PathEscape(issuer))
		b.WriteByte(':')
	}
	b.WriteString(url.PathEscape(account))
	b.WriteString("?secret=")
	b.WriteString(EncodeSecret(secret))
	if issuer != "" {
		b.WriteString("&issuer=")
		// %20 rather than '+': not every app decodes '+' as a space.
		b.WriteString(strings.ReplaceAll(url.QueryEscape(issuer), "+", "%20"))
	}
	fmt.Fprintf(&b, "&algorithm=%s&digits=%d&period=%d", alg, p.Digits, p.Period)
	return b.String()
}

func labelPart(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, ":", ""))
}

// Key is a parsed otpauth URI.
type Key struct {
	Issuer, Account string
	Secret          []byte
	Params          Params // Skew is always DefaultParams().Skew: URIs do not carry it
}

// ErrBadURI is wrapped by every error ParseURI returns.
var ErrBadURI = errors.New("totp: bad otpauth uri")

// Bounds on a parsed secret: RFC 4226 §4 requires at least 128 bits; the
// upper bound only keeps hostile input small.
const (
	minSecretSize = 16
	maxSecretSize = 128
)

// ParseURI parses an otpauth://totp/ URI strictly: the scheme must be
// otpauth and the type totp; the secret must be present, base32 and at
// least 128 bits; digits, period and algorithm, when present, must be
// valid Params (absent ones take DefaultParams); an issuer in both the
// label and the parameter must agree; the account must not be empty; and
// the label must not contain control characters, invalid UTF-8 or a
// second ':'. Parameters it does not know, such as image, are ignored.
func ParseURI(s string) (Key, error) {
	bad := func(format string, a ...any) (Key, error) {
		return Key{}, fmt.Errorf("%w: "+format, append([]any{ErrBadURI}, a...)...)
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("not a url")
	}
	if u.Scheme != "otpauth" {
		return bad("scheme must be otpauth, got %q", u.Scheme)
	}
	if !strings.EqualFold(u.Host, "totp") || u.User != nil || u.Opaque != "" {
		return bad("type must be totp")
	}
	if u.Fragment != "" || u.RawFragment != "" {
		return bad("unexpected fragment")
	}

	label := strings.TrimPrefix(u.Path, "/")
	if !utf8.ValidString(label) || strings.ContainsFunc(label, unicode.IsControl) {
		return bad("label has invalid characters")
	}
	var k Key
	if prefix, account, found := strings.Cut(label, ":"); found {
		k.Issuer, k.Account = strings.TrimSpace(prefix), strings.TrimSpace(account)
		if k.Issuer == "" {
			return bad("empty issuer before ':' in label")
		}
		if strings.Contains(k.Account, ":") {
			return bad("label has more than one ':'")
		}
	} else {
		k.Account = strings.TrimSpace(label)
	}
	if k.Account == "" {
		return bad("account is required")
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("malformed query")
	}
	one := func(name string) (string, bool, error) {
		v := q[name]
		switch len(v) {
		case 0:
			return "", false, nil
		case 1:
			return v[0], true, nil
		}
		return "", false, fmt.Errorf("%w: %s given more than once", ErrBadURI, name)
	}

	secret, ok, err := one("secret")
	if err != nil {
		return Key{}, err
	}
	if !ok || strings.TrimSpace(secret) == "" {
		return bad("secret is required")
	}
	if k.Secret, err = DecodeSecret(secret); err != nil {
		return bad("secret is not valid base32")
	}
	if len(k.Secret) < minSecretSize || len(k.Secret) > maxSecretSize {
		return bad("secret must be %d to %d bytes, got %d", minSecretSize, maxSecretSize, len(k.Secret))
	}

	if issuer, ok, err := one("issuer"); err != nil {
		return Key{}, err
	} else if ok {
		issuer = strings.TrimSpace(issuer)
		switch {
		case !utf8.ValidString(issuer) || strings.ContainsFunc(issuer, unicode.IsControl):
			return bad("issuer has invalid characters")
		case strings.Contains(issuer, ":"):
			return bad("issuer must not contain ':'")
		case k.Issuer != "" && issuer != k.Issuer:
			return bad("issuer %q does not match label prefix %q", issuer, k.Issuer)
		}
		k.Issuer = issuer
	}

	k.Params = DefaultParams()
	if v, ok, err := one("algorithm"); err != nil {
		return Key{}, err
	} else if ok {
		if v == "" { // would mean SHA1 in Params, but an empty value here is a mistake
			return bad("unknown algorithm %q", v)
		}
		k.Params.Algorithm = Algorithm(strings.ToUpper(v))
	}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"digits", &k.Params.Digits}, {"period", &k.Params.Period}} {
		v, ok, err := one(f.name)
		if err != nil {
			return Key{}, err
		}
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return bad("%s must be a number, got %q", f.name, v)
		}
		*f.dst = n
	}
	if msg := k.Params.problem(); msg != "" {
		return bad("%s", msg)
	}
	return k, nil
}
