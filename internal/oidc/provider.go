// Package oidc makes twostep an OpenID Provider: apps send people here to
// sign in (authorization code flow with PKCE S256, always) and learn who
// signed in and how strongly (amr, acr, auth_time in the ID token).
//
// The protocol is github.com/zitadel/oidc's pkg/op; everything it keeps is
// in twostep's store (storage.go), on SQLite or PostgreSQL alike, so any
// instance can answer any step. The pages a person sees on the way (sign
// in, the second step, consent) are package web's: it asks Decide what the
// request still needs and calls Finish when nothing is left.
package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"twostep/internal/audit"
	"twostep/internal/config"
	"twostep/internal/ratelimit"
	"twostep/internal/secret"
	"twostep/internal/session"
	"twostep/internal/signin"
	"twostep/internal/store"
)

// Lifetimes.
const (
	// authRequestTTL is how long a person has to sign in for a request.
	authRequestTTL = 30 * time.Minute
	// codeTTL is how long an issued code can be exchanged.
	codeTTL = time.Minute
	// accessTokenTTL is an access token's life; revoking one takes
	// effect at once (they are looked up, never trusted on sight).
	accessTokenTTL = 15 * time.Minute
	idTokenTTL     = time.Hour
	// refreshTokenTTL is a refresh token's life; each use rotates it.
	refreshTokenTTL = 30 * 24 * time.Hour
	// refreshGrace is how long after a rotation the old refresh token,
	// presented again, is refused without revoking its family (two
	// requests of one app racing); later reuse revokes the family.
	refreshGrace = 10 * time.Second
)

// Paths: the discovery document where OpenID Connect puts it, everything
// else under /oauth2/, and the page the library sends a person to sign in.
const (
	ContinuePath = signin.ContinuePath
	pathPrefix   = "/oauth2/"
)

// Sessions finds the browser's twostep session and ends it.
type Sessions interface {
	Authenticate(ctx context.Context, token string) (store.Session, store.User, error)
	SignOut(ctx context.Context, c session.Client, sess store.Session) error
}

// Options configure the provider.
type Options struct {
	Issuer     string // server.public_url
	DB         *store.DB
	Keys       *secret.Keyring
	Limiter    *ratelimit.Limiter
	ClientAuth config.Backoff // failed client authentications, per client
	Sessions   Sessions
	Cookies    *session.Cookies
	TrustProxy []netip.Prefix
	Record     func(ctx context.Context, c audit.Client, userID string, k audit.Kind, o audit.Outcome, detail string)
	Now        func() time.Time
	Log        *slog.Logger
}

// Service is the provider.
type Service struct {
	opt      Options
	provider *op.Provider
	store    *storage
}

// New builds the provider: the signing keys are made at the first start,
// and the key that encrypts access tokens is a server secret kept sealed
// in the database, the same on every instance.
func New(ctx context.Context, o Options) (*Service, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if err := EnsureSigningKeys(ctx, o.DB, o.Keys, o.Now()); err != nil {
		return nil, err
	}
	sealed, err := o.DB.ServerSecret(ctx, "oidc_token_key", func() string {
		return o.Keys.Seal([]byte(secret.NewToken()), secret.ServerSecretContext("oidc_token_key"))
	})
	if err != nil {
		return nil, err
	}
	raw, err := o.Keys.Open(sealed, secret.ServerSecretContext("oidc_token_key"))
	if err != nil {
		return nil, fmt.Errorf("open the access-token key (is secrets.key the key this database was made with?): %w", err)
	}
	s := &Service{opt: o}
	s.store = &storage{s: s, keys: &keyring{db: o.DB, box: o.Keys, now: o.Now}}
	cfg := &op.Config{
		CryptoKey:                sha256.Sum256(raw),
		DefaultLogoutRedirectURI: "/signin?notice=signed_out",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.English},
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeEmail, oidc.ScopeOfflineAccess},
		SupportedClaims: []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp",
			"email", "email_verified", "at_hash", "c_hash"},
	}
	opts := []op.Option{
		op.WithCustomEndpoints(op.NewEndpoint(pathPrefix+"authorize"), op.NewEndpoint(pathPrefix+"token"),
			op.NewEndpoint(pathPrefix+"userinfo"), op.NewEndpoint(pathPrefix+"revoke"),
			op.NewEndpoint(pathPrefix+"end_session"), op.NewEndpoint(pathPrefix+"keys")),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(pathPrefix + "introspect")),
		op.WithCustomDeviceAuthorizationEndpoint(op.NewEndpoint(pathPrefix + "device_authorization")),
		op.WithHttpInterceptors(withRequest),
		op.WithLogger(o.Log),
	}
	if strings.HasPrefix(o.Issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	p, err := op.NewOpenIDProvider(strings.TrimSuffix(o.Issuer, "/"), cfg, s.store, opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc provider: %w", err)
	}
	s.provider = p
	return s, nil
}

// Routes serves the provider: discovery, and everything under /oauth2/
// but the device flow, which twostep does not offer.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.Handle("GET /.well-known/openid-configuration", discovery(s.provider))
	mux.Handle(pathPrefix+"device_authorization", http.NotFoundHandler())
	mux.Handle(pathPrefix+"authorize/callback", s.formPost(s.provider))
	mux.Handle(pathPrefix, s.provider)
}

// discovery serves the library's discovery document trimmed to what
// twostep offers: the code flow (with refresh), no implicit flow, no JWT
// bearer grant, no device flow (the library lists them all).
func discovery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var doc map[string]any
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &doc) != nil {
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		delete(doc, "device_authorization_endpoint")
		doc["grant_types_supported"] = []string{string(oidc.GrantTypeCode), string(oidc.GrantTypeRefreshToken)}
		doc["response_types_supported"] = []string{string(oidc.ResponseTypeCode)}
		doc["response_modes_supported"] = []string{"query", "form_post"}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		json.NewEncoder(w).Encode(doc)
	})
}

// formPostScript is the library's response_mode=form_post page's one
// script, its onload attribute: allowed by its hash and nothing else.
const formPostScript = "'sha256-FRuPMoCm2v334i+3oP3jLBT4RnmwV1pycDQaxVXK4MY='"

// formPost gives the page that answers an app with response_mode=form_post
// a policy of its own: its script (by hash) may post its form, to the
// app's registered redirect only. Every other answer keeps the server's.
func (s *Service) formPost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := s.RedirectOriginAny(r.Context(), r.URL.Query().Get("id")); o != "" {
			w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-hashes' "+formPostScript+
				"; form-action "+o+"; frame-ancestors 'none'; base-uri 'none'")
		}
		next.ServeHTTP(w, r)
	})
}

// RedirectOriginAny is RedirectOrigin for a request that may be done
// already (its code about to be issued).
func (s *Service) RedirectOriginAny(ctx context.Context, id string) string {
	if id == "" || len(id) > 64 {
		return ""
	}
	row, err := s.opt.DB.AuthRequestByID(ctx, id, s.opt.Now())
	if err != nil {
		return ""
	}
	a, err := newAuthRequest(row)
	if err != nil {
		return ""
	}
	return origin(a.req.RedirectURI)
}

// CrossOriginPaths are the endpoints apps call from their own pages
// (a browser app's token request): authenticated by what the app sends,
// never by a cookie, so the server's cross-origin check lets them pass.
// An authorization request or an app's logout may also come as a form
// posted from the app's page: the first only starts a sign-in, the second
// signs out only the person its id_token_hint names.
var CrossOriginPaths = []string{"POST " + pathPrefix + "token", "POST " + pathPrefix + "revoke",
	"POST " + pathPrefix + "userinfo", "POST " + pathPrefix + "introspect",
	"POST " + pathPrefix + "authorize", "POST " + pathPrefix + "end_session"}

type requestKey struct{}

// withRequest keeps the HTTP request in the context, for the storage
// calls that need the browser (ending its session at logout).
func withRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, r)))
	})
}

func requestFrom(ctx context.Context) *http.Request {
	r, _ := ctx.Value(requestKey{}).(*http.Request)
	return r
}

// Step is what an authorization request still needs from the person.
type Step int

const (
	// StepSignIn: nobody is signed in.
	StepSignIn Step = iota
	// StepFreshSignIn: the app asked for a fresh password (prompt=login,
	// max_age) and the session's is older.
	StepFreshSignIn
	// StepSecondStep: the app asked for two steps (acr_values=aal2) and
	// the session has one.
	StepSecondStep
	// StepConsent: an app that is not first-party, not yet allowed the
	// scopes it asks for.
	StepConsent
	// StepDone: the code can be issued.
	StepDone
)

// Request is an authorization request as the pages need it.
type Request struct {
	ID         string
	ClientID   string
	ClientName string
	FirstParty bool
	Scopes     []string
	// PromptNone: no page may be shown; anything needed is an error
	// back to the app.
	PromptNone    bool
	PromptConsent bool
	// MaxAge is the oldest sign-in the app accepts; nil for any. Zero
	// (prompt=login) means one after the request.
	MaxAge    *time.Duration
	WantAAL2  bool
	CreatedAt time.Time
	req       *authRequest
}

// ErrUnknownRequest is an authorization request that does not exist,
// has expired or was finished.
var ErrUnknownRequest = errors.New("this sign-in request has expired or was already used")

// Request returns the live authorization request id.
func (s *Service) Request(ctx context.Context, id string) (Request, error) {
	if id == "" || len(id) > 64 {
		return Request{}, ErrUnknownRequest
	}
	row, err := s.opt.DB.AuthRequestByID(ctx, id, s.opt.Now())
	if errors.Is(err, store.ErrNotFound) || (err == nil && row.Done) {
		return Request{}, ErrUnknownRequest
	}
	if err != nil {
		return Request{}, err
	}
	a, err := newAuthRequest(row)
	if err != nil {
		return Request{}, err
	}
	c, err := s.opt.DB.OIDCClient(ctx, row.ClientID)
	if err != nil {
		return Request{}, ErrUnknownRequest
	}
	r := Request{ID: id, ClientID: c.ID, ClientName: c.Name, FirstParty: c.FirstParty, Scopes: a.req.Scopes,
		PromptNone: slices.Contains(a.req.Prompt, oidc.PromptNone), PromptConsent: slices.Contains(a.req.Prompt, oidc.PromptConsent),
		WantAAL2: slices.Contains(a.req.ACRValues, "aal2") && !slices.Contains(a.req.ACRValues, "aal1"), CreatedAt: row.CreatedAt, req: a}
	if a.req.MaxAge != nil {
		d := time.Duration(*a.req.MaxAge) * time.Second
		r.MaxAge = &d
	}
	return r, nil
}

// RedirectOrigin is the origin (scheme://host[:port]) request id returns
// to, for the sign-in pages' form-action; "" when there is none.
func (s *Service) RedirectOrigin(ctx context.Context, id string) string {
	r, err := s.Request(ctx, id)
	if err != nil {
		return ""
	}
	return origin(r.req.req.RedirectURI)
}

// origin is an absolute http(s) URL's scheme://host[:port]; "" for
// anything else.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// AppName is the name of the app whose sign-in request id is, for "Sign
// in to continue to …"; "" when there is none.
func (s *Service) AppName(ctx context.Context, id string) string {
	r, err := s.Request(ctx, id)
	if err != nil {
		return ""
	}
	return r.ClientName
}

// Decide says what request r still needs, given the browser's session
// (signedIn false when there is none).
func (s *Service) Decide(ctx context.Context, r Request, sess store.Session, u store.User, signedIn bool) (Step, error) {
	if !signedIn {
		return StepSignIn, nil
	}
	if r.MaxAge != nil {
		fresh := sess.AuthenticatedAt.Add(*r.MaxAge).After(s.opt.Now())
		if *r.MaxAge == 0 {
			fresh = !sess.AuthenticatedAt.Before(r.CreatedAt)
		}
		if !fresh {
			return StepFreshSignIn, nil
		}
	}
	if r.WantAAL2 && sess.AAL < 2 {
		return StepSecondStep, nil
	}
	if r.FirstParty {
		return StepDone, nil
	}
	if r.PromptConsent {
		return StepConsent, nil
	}
	consents, err := s.opt.DB.Consents(ctx, u.ID)
	if err != nil {
		return 0, err
	}
	for _, c := range consents {
		if c.ClientID == r.ClientID && !slices.ContainsFunc(r.Scopes, func(sc string) bool { return !slices.Contains(c.Scopes, sc) }) {
			return StepDone, nil
		}
	}
	return StepConsent, nil
}

// Allow records that u allows the app of r what it asks for.
func (s *Service) Allow(ctx context.Context, c session.Client, r Request, u store.User) error {
	if err := s.opt.DB.GrantConsent(ctx, u.ID, r.ClientID, r.Scopes, s.opt.Now()); err != nil {
		return err
	}
	s.record(ctx, c.Audit(), u.ID, audit.AppAllowed, audit.Success, r.ClientName)
	return nil
}

// Finish completes request r for the signed-in session and sends the
// browser back to the app with a code.
func (s *Service) Finish(w http.ResponseWriter, r *http.Request, req Request, sess store.Session, c session.Client) {
	ctx := r.Context()
	acr := "aal1"
	if sess.AAL >= 2 {
		acr = "aal2"
	}
	amr := sess.AMR
	if len(amr) == 0 {
		amr = []string{"pwd"}
	}
	row := store.AuthRequest{ID: req.ID, UserID: sess.UserID, SessionID: sess.ID, AuthTime: sess.AuthenticatedAt, AMR: amr, ACR: acr}
	if err := s.opt.DB.CompleteAuthRequest(ctx, row, s.opt.Now()); err != nil {
		op.AuthRequestError(w, r, req.req, oidc.ErrServerError().WithDescription("the sign-in request could not be completed"), s.provider)
		return
	}
	s.record(ctx, c.Audit(), sess.UserID, audit.AppSignIn, audit.Success, req.ClientName)
	http.Redirect(w, r, op.AuthCallbackURL(s.provider)(op.ContextWithIssuer(ctx, s.issuer()), req.ID), http.StatusFound)
}

// Refusal is why a request goes back to the app without a code.
type Refusal int

const (
	// LoginRequired: prompt=none and nobody (or not recently enough) is
	// signed in.
	LoginRequired Refusal = iota
	// InteractionRequired: prompt=none and a second step is needed.
	InteractionRequired
	// ConsentRequired: prompt=none and the app is not allowed yet.
	ConsentRequired
	// AccessDenied: the person said no on the consent page.
	AccessDenied
)

// Refuse ends request r, sending the browser back to the app with the
// error for why.
func (s *Service) Refuse(w http.ResponseWriter, r *http.Request, req Request, why Refusal) {
	var e *oidc.Error
	switch why {
	case LoginRequired:
		e = oidc.ErrLoginRequired().WithDescription("nobody is signed in (or not recently enough) and prompt=none forbids asking")
	case InteractionRequired:
		e = oidc.ErrInteractionRequired().WithDescription("a second step is needed and prompt=none forbids asking")
	case ConsentRequired:
		e = (&oidc.Error{ErrorType: "consent_required"}).WithDescription("the person has not allowed this app yet and prompt=none forbids asking")
	default:
		e = oidc.ErrAccessDenied().WithDescription("the person did not allow this app")
	}
	_ = s.opt.DB.ExpireAuthRequest(r.Context(), req.ID, s.opt.Now())
	op.AuthRequestError(w, r, req.req, e, s.provider)
}

func (s *Service) issuer() string { return strings.TrimSuffix(s.opt.Issuer, "/") }

func (s *Service) record(ctx context.Context, c audit.Client, userID string, k audit.Kind, o audit.Outcome, detail string) {
	if s.opt.Record != nil {
		s.opt.Record(ctx, c, userID, k, o, detail)
	}
}

// App is an app a person allowed, for the account page.
type App struct {
	ClientID  string
	Name      string
	Scopes    []string
	AllowedAt time.Time
}

// Apps lists the apps u has allowed.
func (s *Service) Apps(ctx context.Context, userID string) ([]App, error) {
	consents, err := s.opt.DB.Consents(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]App, 0, len(consents))
	for _, c := range consents {
		name := c.ClientID
		if cl, err := s.opt.DB.OIDCClient(ctx, c.ClientID); err == nil {
			name = cl.Name
		}
		out = append(out, App{ClientID: c.ClientID, Name: name, Scopes: c.Scopes, AllowedAt: c.UpdatedAt})
	}
	return out, nil
}

// RevokeApp withdraws an app's access: the consent and every token it
// holds for the person. It reports store.ErrNotFound for an app the
// person had not allowed.
func (s *Service) RevokeApp(ctx context.Context, c session.Client, userID, clientID string) error {
	if err := s.opt.DB.RevokeConsent(ctx, userID, clientID, s.opt.Now()); err != nil {
		return err
	}
	s.record(ctx, c.Audit(), userID, audit.AppRevoked, audit.Success, clientID)
	return nil
}
