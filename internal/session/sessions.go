package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"twostep/internal/audit"
	"twostep/internal/secret"
	"twostep/internal/store"
	"twostep/internal/text"
)

// Errors the sessions return.
var (
	ErrNoSession = errors.New("session: not signed in")
	ErrNotFound  = errors.New("session: no such session")
)

// Store keeps the sessions and the browsers known to each account.
type Store interface {
	CreateSession(ctx context.Context, s store.Session) error
	SessionByTokenHash(ctx context.Context, hash string) (store.Session, store.User, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	ActiveSessions(ctx context.Context, userID string, now time.Time, idle time.Duration) ([]store.Session, error)
	RevokeSession(ctx context.Context, userID, id string, at time.Time) error
	RevokeSessions(ctx context.Context, userID, keepID string, at time.Time) (int64, error)
	RememberBrowser(ctx context.Context, userID, hash string, now, expires time.Time) error
}

// Options wires a Service.
type Options struct {
	DB Store
	// MaxLifetime is a session's absolute lifetime, IdleTimeout how long
	// it lives unused, KnownBrowser how long a browser that signed in
	// stays known to the account.
	MaxLifetime, IdleTimeout, KnownBrowser time.Duration
	// Audit records the events.
	Audit *audit.Recorder
	Now   func() time.Time
}

// Service starts, finds, lists and ends sessions.
type Service struct {
	db                                     Store
	maxLifetime, idleTimeout, knownBrowser time.Duration
	audit                                  *audit.Recorder
	now                                    func() time.Time
}

// NewService returns a Service.
func NewService(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{db: o.DB, maxLifetime: o.MaxLifetime, idleTimeout: o.IdleTimeout, knownBrowser: o.KnownBrowser, audit: o.Audit, now: o.Now}
}

// Fresh is a new session, not yet stored, and what the browser is handed
// for it.
type Fresh struct {
	Session store.Session
	// Token is the session cookie's value; only its hash is stored.
	Token string
	// Browser is the browser id the session is for; NewBrowser is set to
	// it when the browser brought none and needs a browser cookie.
	Browser, NewBrowser string
}

// Authentication-method references (RFC 8176 section 2) a session records
// besides those of its second factor (method.Method.AMR).
const (
	AMRPassword    = "pwd" // the password
	AMRMultiFactor = "mfa" // more than one factor
	// AMRUser is a person verified by the device they hold (a passkey's
	// PIN or biometrics).
	AMRUser = "user"
)

// JoinAMR is the parts' values in order, each once: the amr of a sign-in
// built from what each of its steps used.
func JoinAMR(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		for _, v := range p {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// maxUserAgent is the most of a User-Agent header a session keeps.
const maxUserAgent = 512

// New is a fresh session for the user on the browser c with browser id
// browserID (a new one when it is not well formed) — never one the browser
// brought, so a planted session id is worthless.
//
// aal is 1 after a password, 2 after a second factor or a remembered
// device; stepUpKind ("password", "second_factor" or "") records what was
// just proved, for the step-up window; amr lists what the sign-in used
// (RFC 8176), for the ID tokens that carry it.
func (s *Service) New(c audit.Client, browserID, userID string, aal int, stepUpKind string, amr []string) Fresh {
	now := s.now()
	token := secret.NewToken()
	sess := store.Session{
		ID: store.NewID(), TokenHash: secret.Hash(token), UserID: userID, AAL: aal, StepUpKind: stepUpKind, AMR: amr,
		CreatedAt: now, AuthenticatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.maxLifetime),
		IP:        c.IP, UserAgent: text.Truncate(c.UserAgent, maxUserAgent),
	}
	if stepUpKind != "" {
		sess.StepUpAt = now
	}
	f := Fresh{Session: sess, Token: token, Browser: browserID}
	if !secret.WellFormedToken(f.Browser) {
		f.Browser = secret.NewToken()
		f.NewBrowser = f.Browser
	}
	return f
}

// Start stores fresh session f and, unless known says the browser is
// already known to the account, marks it as known.
func (s *Service) Start(ctx context.Context, f Fresh, known bool) error {
	if err := s.db.CreateSession(ctx, f.Session); err != nil {
		return err
	}
	if known {
		return nil
	}
	now := f.Session.CreatedAt
	return s.db.RememberBrowser(ctx, f.Session.UserID, secret.Hash(f.Browser), now, s.KnownUntil(now))
}

// KnownUntil is when a browser that signs in now stops being known to the
// account.
func (s *Service) KnownUntil(now time.Time) time.Time { return now.Add(s.knownBrowser) }

// touchEvery limits last-seen writes to one per session per minute.
const touchEvery = time.Minute

// Authenticate returns the live session and user for a session cookie.
func (s *Service) Authenticate(ctx context.Context, token string) (store.Session, store.User, error) {
	if !secret.WellFormedToken(token) {
		return store.Session{}, store.User{}, ErrNoSession
	}
	sess, u, err := s.db.SessionByTokenHash(ctx, secret.Hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, store.User{}, ErrNoSession
	}
	if err != nil {
		return store.Session{}, store.User{}, err
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.idleTimeout {
		return store.Session{}, store.User{}, ErrNoSession
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if err := s.db.TouchSession(ctx, sess.ID, now); err != nil {
			return sess, u, err
		}
		sess.LastSeenAt = now
	}
	return sess, u, nil
}

// SignOut ends the current session.
func (s *Service) SignOut(ctx context.Context, c audit.Client, sess store.Session) error {
	if err := s.db.RevokeSession(ctx, sess.UserID, sess.ID, s.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	s.audit.Record(ctx, c, sess.UserID, audit.SignOut, audit.Success, "")
	return nil
}

// SignOutEverywhere ends every session of the user, this one included.
func (s *Service) SignOutEverywhere(ctx context.Context, c audit.Client, sess store.Session) (int64, error) {
	n, err := s.db.RevokeSessions(ctx, sess.UserID, "", s.now())
	if err != nil {
		return 0, err
	}
	s.audit.Record(ctx, c, sess.UserID, audit.SignOutEverywhere, audit.Success, fmt.Sprintf("%d sessions ended", n))
	return n, nil
}

// RevokeOthers ends every session of the user but this one.
func (s *Service) RevokeOthers(ctx context.Context, c audit.Client, sess store.Session) (int64, error) {
	n, err := s.db.RevokeSessions(ctx, sess.UserID, sess.ID, s.now())
	if err != nil {
		return 0, err
	}
	s.audit.Record(ctx, c, sess.UserID, audit.SessionsRevoked, audit.Success, fmt.Sprintf("%d other sessions ended", n))
	return n, nil
}

// Revoke ends one of the user's sessions by id.
func (s *Service) Revoke(ctx context.Context, c audit.Client, sess store.Session, id string) error {
	err := s.db.RevokeSession(ctx, sess.UserID, id, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	s.audit.Record(ctx, c, sess.UserID, audit.SessionRevoked, audit.Success, "session "+id)
	return nil
}

// List is the user's live sessions, most recently used first.
func (s *Service) List(ctx context.Context, userID string) ([]store.Session, error) {
	return s.db.ActiveSessions(ctx, userID, s.now(), s.idleTimeout)
}
