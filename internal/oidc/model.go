package oidc

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"twostep/internal/store"
)

// client is a registered app as the provider library sees it.
type client struct {
	c         store.OIDCClient
	loginPath string
}

var _ op.Client = client{}

func (c client) GetID() string                    { return c.c.ID }
func (c client) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c client) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }

// ApplicationType: a confidential client is a web server; a public one a
// browser app. Never "native": the library lets a native app's loopback
// redirect differ in its port, and twostep matches redirects exactly.
func (c client) ApplicationType() op.ApplicationType {
	if c.c.Public() {
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}

func (c client) AuthMethod() oidc.AuthMethod {
	if c.c.Public() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (c client) LoginURL(id string) string            { return c.loginPath + "?id=" + id }
func (c client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c client) IDTokenLifetime() time.Duration       { return idTokenTTL }
func (c client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c client) ClockSkew() time.Duration             { return 0 }
func (c client) IsScopeAllowed(scope string) bool     { return false }
func (c client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// DevMode lets a registered http:// redirect be used: the match is still
// exact, and registering one is the operator's choice (a server on
// loopback in development, an app behind a TLS proxy).
func (c client) DevMode() bool { return true }

// authRequest is a stored authorization request: what the app asked for
// and, once done, who signed in and how.
type authRequest struct {
	row store.AuthRequest
	req oidc.AuthRequest
}

var _ op.AuthRequest = (*authRequest)(nil)

func newAuthRequest(row store.AuthRequest) (*authRequest, error) {
	a := &authRequest{row: row}
	if err := json.Unmarshal([]byte(row.Request), &a.req); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *authRequest) GetID() string          { return a.row.ID }
func (a *authRequest) GetACR() string         { return a.row.ACR }
func (a *authRequest) GetAMR() []string       { return a.row.AMR }
func (a *authRequest) GetAudience() []string  { return []string{a.row.ClientID} }
func (a *authRequest) GetAuthTime() time.Time { return a.row.AuthTime }
func (a *authRequest) GetClientID() string    { return a.row.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.req.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: a.req.CodeChallengeMethod}
}
func (a *authRequest) GetNonce() string                   { return a.req.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.req.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.req.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.req.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.req.Scopes }
func (a *authRequest) GetState() string                   { return a.req.State }
func (a *authRequest) GetSubject() string                 { return a.row.UserID }
func (a *authRequest) Done() bool                         { return a.row.Done }

// refreshRequest is a refresh token being exchanged. It also answers as
// an AuthRequest so the refreshed ID token keeps its acr (the library
// reads acr only from authorization requests); it has no nonce.
type refreshRequest struct {
	tok    store.OIDCToken
	scopes []string
}

var (
	_ op.RefreshTokenRequest = (*refreshRequest)(nil)
	_ op.AuthRequest         = (*refreshRequest)(nil)
)

func (r *refreshRequest) GetAMR() []string                      { return r.tok.AMR }
func (r *refreshRequest) GetAudience() []string                 { return r.tok.Audience }
func (r *refreshRequest) GetAuthTime() time.Time                { return r.tok.AuthTime }
func (r *refreshRequest) GetClientID() string                   { return r.tok.ClientID }
func (r *refreshRequest) GetScopes() []string                   { return r.scopes }
func (r *refreshRequest) GetSubject() string                    { return r.tok.UserID }
func (r *refreshRequest) GetID() string                         { return "" }
func (r *refreshRequest) GetACR() string                        { return r.tok.ACR }
func (r *refreshRequest) GetCodeChallenge() *oidc.CodeChallenge { return nil }
func (r *refreshRequest) GetNonce() string                      { return "" }
func (r *refreshRequest) GetRedirectURI() string                { return "" }
func (r *refreshRequest) GetResponseType() oidc.ResponseType    { return oidc.ResponseTypeCode }
func (r *refreshRequest) GetResponseMode() oidc.ResponseMode    { return "" }
func (r *refreshRequest) GetState() string                      { return "" }
func (r *refreshRequest) Done() bool                            { return true }

// SetCurrentScopes narrows the scopes to those asked for at the refresh
// (never widens: the library checks they were granted).
func (r *refreshRequest) SetCurrentScopes(scopes []string) {
	r.scopes = slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return !slices.Contains(r.tok.Scopes, s) })
}
