package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"twostep/internal/secret"
	"twostep/internal/store"
)

// Limits on what an operator registers for an app.
const (
	maxClientName = 100  // characters
	maxClientURI  = 2000 // bytes, what browsers and proxies reliably carry
)

// RetiredKeysPublishedFor is how long a signing key replaced by
// RotateSigningKeys stays in the JWKS: longer than any ID token it signed
// lives, so apps can still check those.
const RetiredKeysPublishedFor = keyRetention

// ClientSpec is what an operator registers for an app.
type ClientSpec struct {
	Name                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// Public is an app that cannot keep a secret (in a browser or on a
	// phone); it gets no client secret and relies on PKCE alone.
	Public bool
	// FirstParty is an app of the operator's own: no consent page.
	FirstParty bool
	// IDTokenAlg is what the app's ID tokens are signed with: RS256 (when
	// empty) or ES256.
	IDTokenAlg string
}

// InvalidClientError says which part of an app's registration was
// refused and why.
type InvalidClientError struct {
	Field  string // "name", "redirect URI" or "post-logout redirect URI"
	Value  string // the refused value, "" when it was missing
	Reason string
}

func (e *InvalidClientError) Error() string {
	if e.Value == "" {
		return e.Field + ": " + e.Reason
	}
	return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Reason)
}

// AddClient validates spec and registers the app. It returns the stored
// app and, for a confidential app, its client secret: the only time the
// secret exists in clear, since the database keeps its hash.
func AddClient(ctx context.Context, db *store.DB, spec ClientSpec, now time.Time) (store.OIDCClient, string, error) {
	name, err := validateClient(spec)
	if err != nil {
		return store.OIDCClient{}, "", fmt.Errorf("add app: %w", err)
	}
	c := store.OIDCClient{
		ID:                     newClientID(),
		Name:                   name,
		RedirectURIs:           spec.RedirectURIs,
		PostLogoutRedirectURIs: spec.PostLogoutRedirectURIs,
		FirstParty:             spec.FirstParty,
		IDTokenAlg:             spec.IDTokenAlg,
		CreatedAt:              now,
	}
	var sec string
	if !spec.Public {
		sec = secret.NewToken()
		c.SecretHash = secret.Hash(sec)
	}
	if err := db.CreateOIDCClient(ctx, c); err != nil {
		return store.OIDCClient{}, "", err
	}
	return c, sec, nil
}

// RemoveClient deletes an app with its sign-in requests, tokens and
// consents: its refresh and access tokens stop working at once.
func RemoveClient(ctx context.Context, db *store.DB, id string) error {
	err := db.DeleteOIDCClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("remove app: %w", noClientError(id))
	}
	return err
}

// noClientError is store.ErrNotFound for an app, saying which.
type noClientError string

func (e noClientError) Error() string { return fmt.Sprintf("no app with client_id %q", string(e)) }
func (e noClientError) Unwrap() error { return store.ErrNotFound }

// newClientID returns 128 random bits, base64url: unguessable, so the
// id alone never tells which apps exist, and safe in any URL.
func newClientID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// validateClient checks spec and returns the name to store (trimmed).
func validateClient(spec ClientSpec) (string, error) {
	name := strings.TrimSpace(spec.Name)
	switch {
	case name == "":
		return "", &InvalidClientError{Field: "name", Reason: "required: the name people see on the consent page and in Apps with access"}
	case !utf8.ValidString(name):
		return "", &InvalidClientError{Field: "name", Value: name, Reason: "not valid UTF-8"}
	case utf8.RuneCountInString(name) > maxClientName:
		return "", &InvalidClientError{Field: "name", Value: name, Reason: fmt.Sprintf("longer than %d characters", maxClientName)}
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", &InvalidClientError{Field: "name", Value: name, Reason: "contains a control character"}
	}
	switch spec.IDTokenAlg {
	case "", "RS256", "ES256":
	default:
		return "", &InvalidClientError{Field: "ID token algorithm", Value: spec.IDTokenAlg, Reason: "must be RS256 or ES256"}
	}
	if len(spec.RedirectURIs) == 0 {
		return "", &InvalidClientError{Field: "redirect URI", Reason: "at least one is required: where people return with the authorization code"}
	}
	if err := validateURIs("redirect URI", spec.RedirectURIs); err != nil {
		return "", err
	}
	if err := validateURIs("post-logout redirect URI", spec.PostLogoutRedirectURIs); err != nil {
		return "", err
	}
	return name, nil
}

// validateURIs checks a list of redirect URIs. They are matched exactly
// (scheme, host, port, path and query), so each must be a complete URL;
// a fragment could never arrive and userinfo would put a password in
// every redirect.
func validateURIs(field string, uris []string) error {
	seen := make(map[string]bool, len(uris))
	for _, raw := range uris {
		bad := func(reason string) error { return &InvalidClientError{Field: field, Value: raw, Reason: reason} }
		if raw == "" {
			return &InvalidClientError{Field: field, Reason: "empty"}
		}
		if len(raw) > maxClientURI {
			return &InvalidClientError{Field: field, Value: raw[:40] + "…", Reason: fmt.Sprintf("longer than %d characters", maxClientURI)}
		}
		if !utf8.ValidString(raw) || strings.IndexFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return bad("contains a space or control character")
		}
		u, err := url.Parse(raw)
		if err != nil {
			return bad("not a URL")
		}
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			return bad("must be an absolute http:// or https:// URL")
		case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
			return bad("must name a host, as in https://app.example.com/callback")
		case u.User != nil:
			return bad("must not contain a user name or password")
		case strings.Contains(raw, "#"):
			return bad("must not contain a fragment (#…)")
		case seen[raw]:
			return bad("listed twice")
		}
		seen[raw] = true
	}
	return nil
}
