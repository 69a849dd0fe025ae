package oidc

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"twostep/internal/audit"
	"twostep/internal/ratelimit"
	"twostep/internal/secret"
	"twostep/internal/session"
	"twostep/internal/store"
)

// storage is everything the provider library keeps, in twostep's store.
type storage struct {
	s    *Service
	keys *keyring
}

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanTerminateSessionFromRequest = (*storage)(nil)
)

func (st *storage) now() time.Time { return st.s.opt.Now() }
func (st *storage) db() *store.DB  { return st.s.opt.DB }

// errNotFound is what the library is told for anything unknown: a plain
// error (not a server error), so it answers 4xx.
var errNotFound = errors.New("not found")

// GetClientByClientID returns a registered app.
func (st *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := st.db().OIDCClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) || id == "" {
		return nil, errNotFound
	}
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return client{c: c, loginPath: ContinuePath}, nil
}

// AuthorizeClientIDSecret checks a confidential app's secret, under a
// growing delay per app like passwords: a guess is reserved before it is
// compared, and only a wrong one keeps its place.
func (st *storage) AuthorizeClientIDSecret(ctx context.Context, id, sec string) error {
	key := "oidc:client:" + secret.Hash(id)
	if err := st.s.opt.Limiter.Reserve(ctx, ratelimit.BackoffWant(key, st.s.opt.ClientAuth)); err != nil {
		var limited *ratelimit.Limited
		if errors.As(err, &limited) {
			return fmt.Errorf("too many failed client authentications: try again in %d s", limited.Seconds())
		}
		return oidc.ErrServerError().WithParent(err)
	}
	c, err := st.db().OIDCClient(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return oidc.ErrServerError().WithParent(err)
	}
	want := c.SecretHash
	if want == "" {
		want = secret.Hash("") // an unknown or public client: compared all the same
	}
	if err != nil || c.Public() || subtle.ConstantTimeCompare([]byte(secret.Hash(sec)), []byte(want)) != 1 {
		return errors.New("invalid client_id / client_secret")
	}
	if err := st.s.opt.Limiter.Refund(ctx, key); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// CreateAuthRequest stores a request the library has validated (client,
// redirect, scopes), after twostep's own rule: PKCE S256 for every app.
func (st *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")
	}
	if len(req.State) > 2048 || len(req.Nonce) > 2048 {
		return nil, oidc.ErrInvalidRequest().WithDescription("state and nonce must be at most 2048 characters")
	}
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	now := st.now()
	row := store.AuthRequest{ID: store.NewID(), ClientID: req.ClientID, Request: string(raw), CreatedAt: now, ExpiresAt: now.Add(authRequestTTL)}
	if err := st.db().CreateAuthRequest(ctx, row); err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return newAuthRequest(row)
}

// AuthRequestByID returns a live request.
func (st *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	row, err := st.db().AuthRequestByID(ctx, id, st.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return newAuthRequest(row)
}

// AuthRequestByCode spends a code: one exchange only. A second exchange
// is refused and revokes what the first one issued (RFC 6749 §4.1.2).
func (st *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	now := st.now()
	row, err := st.db().ConsumeAuthCode(ctx, secret.Hash(code), now)
	switch {
	case errors.Is(err, store.ErrCodeUsed):
		if rerr := st.db().RevokeOIDCAuthRequestTokens(ctx, row.ID, now); rerr != nil {
			return nil, oidc.ErrServerError().WithParent(rerr)
		}
		st.s.record(ctx, clientOf(ctx, st.s.opt.TrustProxy).Audit(), row.UserID, audit.AppTokenReuse, audit.Failure, "authorization code for "+row.ClientID)
		return nil, errors.New("the code was already used; the tokens issued for it are revoked")
	case errors.Is(err, store.ErrNotFound):
		return nil, errNotFound
	case err != nil:
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return newAuthRequest(row)
}

// SaveAuthCode keeps the hash of the code issued for a done request.
func (st *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	now := st.now()
	if err := st.db().SaveAuthCode(ctx, id, secret.Hash(code), now, now.Add(codeTTL)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return oidc.ErrInvalidRequest().WithDescription("this sign-in request was already answered")
		}
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// DeleteAuthRequest is called once a code is exchanged. The row stays
// until it expires, so a second exchange of the code is recognised.
func (st *storage) DeleteAuthRequest(context.Context, string) error { return nil }

// CreateAccessToken issues an access token alone (no offline_access).
func (st *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	access, _, err := st.issue(ctx, req, false)
	if err != nil {
		return "", time.Time{}, err
	}
	return access.ID, libraryExpiry(), nil
}

// libraryExpiry is the access token's expiry as the library wants it: it
// computes expires_in against the wall clock itself, so it is handed a
// wall-clock time. What twostep stores and checks uses its own clock.
func libraryExpiry() time.Time { return time.Now().Add(accessTokenTTL) }

// CreateAccessAndRefreshTokens issues an access token and a refresh
// token; at a refresh the presented token is rotated in the same
// transaction, and a concurrent second use of it loses.
func (st *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, _ string) (string, string, time.Time, error) {
	access, refresh, err := st.issue(ctx, req, true)
	if err != nil {
		return "", "", time.Time{}, err
	}
	return access.ID, refresh, libraryExpiry(), nil
}

// issue stores the tokens for req: an access token and, with withRefresh,
// a refresh token whose value is returned.
func (st *storage) issue(ctx context.Context, req op.TokenRequest, withRefresh bool) (store.OIDCToken, string, error) {
	now := st.now()
	base := store.OIDCToken{UserID: req.GetSubject(), Scopes: req.GetScopes(), Audience: req.GetAudience(), CreatedAt: now}
	rotated := ""
	switch r := req.(type) {
	case *refreshRequest:
		base.FamilyID, base.ClientID, base.AMR, base.ACR, base.AuthTime = r.tok.FamilyID, r.tok.ClientID, r.tok.AMR, r.tok.ACR, r.tok.AuthTime
		base.AuthRequestID = r.tok.AuthRequestID
		rotated = r.tok.ID
	case *authRequest:
		base.FamilyID, base.ClientID, base.AMR, base.ACR, base.AuthTime = store.NewID(), r.row.ClientID, r.row.AMR, r.row.ACR, r.row.AuthTime
		base.AuthRequestID = r.row.ID
	default:
		return store.OIDCToken{}, "", oidc.ErrUnsupportedGrantType()
	}
	access := base
	access.ID, access.Kind, access.ExpiresAt = store.NewID(), store.TokenAccess, now.Add(accessTokenTTL)
	tokens := []store.OIDCToken{access}
	value := ""
	if withRefresh {
		value = secret.NewToken()
		refresh := base
		refresh.ID, refresh.Kind, refresh.TokenHash, refresh.ExpiresAt = store.NewID(), store.TokenRefresh, secret.Hash(value), now.Add(refreshTokenTTL)
		tokens = append(tokens, refresh)
	}
	err := st.db().CreateOIDCTokens(ctx, rotated, now, tokens...)
	if errors.Is(err, store.ErrTokenUsed) {
		return store.OIDCToken{}, "", oidc.ErrInvalidGrant().WithDescription("the refresh token was already used")
	}
	if err != nil {
		return store.OIDCToken{}, "", oidc.ErrServerError().WithParent(err)
	}
	return access, value, nil
}

// TokenRequestByRefreshToken finds a refresh token being exchanged. A
// token used before is refused; used more than refreshGrace ago it is a
// replay (stolen, or a broken app) and its whole family is revoked.
func (st *storage) TokenRequestByRefreshToken(ctx context.Context, value string) (op.RefreshTokenRequest, error) {
	now := st.now()
	if !secret.WellFormedToken(value) {
		return nil, errNotFound
	}
	tok, err := st.db().RefreshTokenByHash(ctx, secret.Hash(value))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	switch {
	case !tok.RevokedAt.IsZero():
		return nil, errors.New("the refresh token was revoked")
	case !tok.ExpiresAt.After(now):
		return nil, errors.New("the refresh token has expired")
	case !tok.UsedAt.IsZero():
		if now.Sub(tok.UsedAt) > refreshGrace {
			if err := st.db().RevokeOIDCFamily(ctx, tok.FamilyID, now); err != nil {
				return nil, oidc.ErrServerError().WithParent(err)
			}
			st.s.record(ctx, clientOf(ctx, st.s.opt.TrustProxy).Audit(), tok.UserID, audit.AppTokenReuse, audit.Failure, "refresh token for "+tok.ClientID)
		}
		return nil, errors.New("the refresh token was already used")
	}
	if _, err := st.db().UserByID(ctx, tok.UserID); err != nil {
		return nil, errNotFound
	}
	return &refreshRequest{tok: tok, scopes: tok.Scopes}, nil
}

// TerminateSession is not used: TerminateSessionFromRequest is.
func (st *storage) TerminateSession(context.Context, string, string) error { return nil }

// TerminateSessionFromRequest is RP-initiated logout. With a valid
// id_token_hint naming the person signed in on this browser, their
// twostep session ends and the app's tokens for them are revoked. Without
// one (anyone can link to the endpoint) nothing is ended silently: the
// person is asked on twostep's sign-out page.
func (st *storage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	r := requestFrom(ctx)
	if req.UserID == "" || r == nil {
		return "/signout?from=app", nil
	}
	sess, _, err := st.s.opt.Sessions.Authenticate(ctx, st.s.opt.Cookies.Session(r))
	if err == nil && sess.UserID == req.UserID {
		if err := st.s.opt.Sessions.SignOut(ctx, clientOf(ctx, st.s.opt.TrustProxy), sess); err != nil {
			return "", oidc.ErrServerError().WithParent(err)
		}
	}
	if req.ClientID != "" {
		if err := st.db().RevokeOIDCClientTokens(ctx, req.UserID, req.ClientID, st.now()); err != nil {
			return "", oidc.ErrServerError().WithParent(err)
		}
	}
	return req.RedirectURI, nil
}

// clientOf is who is asking, from the request kept in ctx.
func clientOf(ctx context.Context, trustProxy []netip.Prefix) session.Client {
	r := requestFrom(ctx)
	if r == nil {
		return session.Client{}
	}
	ip := session.ClientIP(r, trustProxy)
	return session.Client{IP: ip, Network: session.LimitKey(ip), UserAgent: r.UserAgent()}
}

// RevokeToken revokes an access token, or a refresh token with its
// family (the access tokens it led to included), only for the app it was
// issued to. The library names a token by id with its user, or a refresh
// token it could not identify by value.
func (st *storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	now := st.now()
	if userID != "" {
		tok, err := st.db().OIDCTokenByID(ctx, tokenOrID)
		if errors.Is(err, store.ErrNotFound) {
			return nil // RFC 7009: an unknown token is not an error
		}
		if err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		if tok.ClientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
		}
		revoke := st.db().RevokeOIDCToken
		arg := tok.ID
		if tok.Kind == store.TokenRefresh { // named by GetRefreshTokenInfo
			revoke, arg = st.db().RevokeOIDCFamily, tok.FamilyID
		}
		if err := revoke(ctx, arg, now); err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		return nil
	}
	if !secret.WellFormedToken(tokenOrID) {
		return nil
	}
	tok, err := st.db().RefreshTokenByHash(ctx, secret.Hash(tokenOrID))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	if tok.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
	}
	if err := st.db().RevokeOIDCFamily(ctx, tok.FamilyID, now); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// GetRefreshTokenInfo tells the revocation endpoint whose refresh token
// this is.
func (st *storage) GetRefreshTokenInfo(ctx context.Context, clientID, value string) (string, string, error) {
	if !secret.WellFormedToken(value) {
		return "", "", op.ErrInvalidRefreshToken
	}
	tok, err := st.db().RefreshTokenByHash(ctx, secret.Hash(value))
	if err != nil || tok.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return tok.UserID, tok.ID, nil
}

// SigningKey is the key an ID token is signed with: the current key for
// the asking app's algorithm — RS256, which every OpenID Connect client
// accepts, unless the app was registered for ES256. The library does not
// say which app asks, so it is read from the token request in ctx.
func (st *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	alg := jose.RS256
	if r := requestFrom(ctx); r != nil {
		if c, err := st.db().OIDCClient(ctx, requestClientID(r)); err == nil && c.IDTokenAlg == string(jose.ES256) {
			alg = jose.ES256
		}
	}
	k, err := st.keys.current(ctx, alg)
	if err != nil {
		return nil, err
	}
	return k, nil
}

// requestClientID is the client a token request is from: HTTP Basic
// (form-encoded, RFC 6749 §2.3.1) or the client_id parameter.
func requestClientID(r *http.Request) string {
	if id, _, ok := r.BasicAuth(); ok {
		if v, err := url.QueryUnescape(id); err == nil {
			return v
		}
		return id
	}
	return r.FormValue("client_id")
}

// SignatureAlgorithms are the algorithms ID tokens are signed with.
func (st *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return algorithms, nil
}

// KeySet is every published key: current RS256 and ES256 keys, and
// retired ones until what they signed has expired.
func (st *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := st.keys.published(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, 0, len(keys))
	for _, k := range keys {
		out = append(out, publicKey{k})
	}
	return out, nil
}

// SetUserinfoFromScopes is deprecated in the library;
// SetUserinfoFromRequest does the work.
func (st *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims about the person.
func (st *storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return st.userinfo(ctx, info, req.GetSubject(), scopes)
}

// SetUserinfoFromToken answers the userinfo endpoint for a live access
// token.
func (st *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	tok, err := st.liveAccessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	return st.userinfo(ctx, info, tok.UserID, tok.Scopes)
}

// SetIntrospectionFromToken answers introspection (for confidential apps)
// about an access token: active only while it is live.
func (st *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	tok, err := st.liveAccessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	if !slices.Contains(tok.Audience, clientID) && tok.ClientID != clientID {
		return errors.New("the token was not issued to this client")
	}
	info := new(oidc.UserInfo)
	if err := st.userinfo(ctx, info, tok.UserID, tok.Scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Active = true
	resp.Scope = tok.Scopes
	resp.ClientID = tok.ClientID
	resp.TokenType = oidc.BearerToken
	resp.Expiration = oidc.FromTime(tok.ExpiresAt)
	resp.IssuedAt = oidc.FromTime(tok.CreatedAt)
	resp.AuthTime = oidc.FromTime(tok.AuthTime)
	resp.Subject = tok.UserID
	resp.Audience = tok.Audience
	resp.AuthenticationMethodsReferences = tok.AMR
	resp.Issuer = st.s.issuer()
	return nil
}

// liveAccessToken returns the access token id if it is live and belongs
// to subject.
func (st *storage) liveAccessToken(ctx context.Context, id, subject string) (store.OIDCToken, error) {
	tok, err := st.db().OIDCTokenByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return tok, errNotFound
	}
	if err != nil {
		return tok, oidc.ErrServerError().WithParent(err)
	}
	if tok.Kind != store.TokenAccess || tok.UserID != subject || !tok.RevokedAt.IsZero() || !tok.ExpiresAt.After(st.now()) {
		return tok, errors.New("the access token is not active")
	}
	return tok, nil
}

// userinfo sets the claims scopes allow: sub always; email and
// email_verified with the email scope.
func (st *storage) userinfo(ctx context.Context, info *oidc.UserInfo, userID string, scopes []string) error {
	u, err := st.db().UserByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	info.Subject = u.ID
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email = u.Email
		info.EmailVerified = oidc.Bool(!u.EmailVerifiedAt.IsZero())
	}
	return nil
}

// GetPrivateClaimsFromScopes: twostep adds no private claims.
func (st *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID is for the JWT profile grant, which twostep does
// not offer.
func (st *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNotFound
}

// ValidateJWTProfileScopes: no JWT profile grant.
func (st *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errNotFound
}

// Health reports whether the database answers.
func (st *storage) Health(ctx context.Context) error { return st.db().Ping(ctx) }
