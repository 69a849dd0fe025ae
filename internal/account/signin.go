package account

import (
	"context"
	"errors"

	"twostep/internal/audit"
	"twostep/internal/password"
	"twostep/internal/ratelimit"
	"twostep/internal/secret"
	"twostep/internal/session"
	"twostep/internal/store"
)

// Issued is what a successful sign-in or sign-up hands to the browser.
type Issued struct {
	// Token is the session cookie's value; only its hash is stored.
	Token   string
	Session store.Session
	// BrowserID is set when the browser needs a (new) browser cookie.
	BrowserID string
	// DeviceToken is set when the browser was just remembered: it joins
	// the browser's device cookie.
	DeviceToken string
	// Challenge is set, and Token empty, when the password was right but a
	// second factor is needed.
	Challenge *Challenge

	// browser is the browser id the session is for (BrowserID when new).
	browser string
}

// Rate-limit keys for password guessing. The account key is derived from
// the e-mail as typed (normalised), so unknown and known addresses are
// throttled alike and the limit reveals nothing.
func accountKey(email string) string { return "pw:acct:" + secret.Hash(email)[:32] }
func addressKey(ip string) string    { return "pw:ip:" + ip }
func browserKey(browserHash, userID string) string {
	return "pw:browser:" + browserHash[:32] + ":" + userID
}

// SignIn checks an e-mail and password. Unknown e-mails and wrong passwords
// fail alike, in the same time (a dummy hash is verified for unknown ones).
//
// Guessing is slowed by three growing-delay counters of their own: per
// client address, per account and — for a browser that has signed in to
// this account successfully before — per browser. A known browser is
// judged by its own counter instead of the account's, so an attacker
// hammering the account cannot lock its owner out (OWASP's device cookie).
//
// Every attempt is reserved against those counters before the password
// is hashed, in one atomic step, so a burst of concurrent guesses gets no
// more evaluations than the same guesses one by one; the right password
// gives its units back.
func (s *Service) SignIn(ctx context.Context, c Client, email, pw string) (store.User, Issued, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return store.User{}, Issued{}, ErrInvalidCredentials
	}
	norm, nerr := password.Normalize(pw) // an invalid one matches no hash
	u, err := s.db.UserByEmail(ctx, email)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, Issued{}, err
	}
	key, backoff := accountKey(email), s.cfg.Limits.PasswordPerAccount
	known := false
	if secret.WellFormedToken(c.BrowserID) {
		bh := secret.Hash(c.BrowserID)
		// Asked for unknown accounts too, with an id no user has, so the
		// query costs the same either way.
		uid := u.ID
		if !found {
			uid = "-"
		}
		known, err = s.db.KnownBrowser(ctx, uid, bh, s.now())
		if err != nil {
			return store.User{}, Issued{}, err
		}
		if known {
			key, backoff = browserKey(bh, u.ID), s.cfg.Limits.PasswordPerBrowser
		}
	}
	err = s.limiter.Reserve(ctx,
		ratelimit.BackoffWant(addressKey(c.LimitAddr()), s.cfg.Limits.PasswordPerAddress),
		ratelimit.BackoffWant(key, backoff))
	if err != nil {
		s.throttled(ctx, c, u.ID, audit.SignIn, err)
		return store.User{}, Issued{}, err
	}

	ok, rehash := false, false
	switch {
	case !found || nerr != nil:
		err = s.hasher.VerifyDummy(ctx, pw)
	default:
		ok, rehash, err = s.hasher.Verify(ctx, norm, u.PasswordHash)
	}
	if err != nil {
		// Not evaluated (the hasher is busy): the attempt is given back.
		if rerr := s.limiter.Refund(context.WithoutCancel(ctx), addressKey(c.LimitAddr()), key); rerr != nil {
			s.log.Error("give back a password attempt", "err", rerr)
		}
		return store.User{}, Issued{}, err
	}
	if !ok {
		uid := ""
		if found {
			uid = u.ID
		}
		s.record(ctx, c, uid, audit.SignIn, audit.Failure, "wrong password")
		return store.User{}, Issued{}, ErrInvalidCredentials
	}

	// The right password: this attempt was no guess and gives its units
	// back. A known browser's earlier failures are its owner's typos and
	// are forgiven; the account's are not — they may be someone else's
	// guesses, which the owner signing in must not wipe out.
	if known {
		err = errors.Join(s.limiter.Refund(ctx, addressKey(c.LimitAddr())), s.limiter.Reset(ctx, key))
	} else {
		err = s.limiter.Refund(ctx, addressKey(c.LimitAddr()), key)
	}
	if err != nil {
		return store.User{}, Issued{}, err
	}
	if rehash {
		s.upgradeHash(ctx, u, norm)
	}
	if u.TwoStepEnabled {
		iss, err := s.challenge(ctx, c, u, known)
		return u, iss, err
	}
	iss, err := s.startSession(ctx, c, u, 1, "password", known)
	if err != nil {
		return store.User{}, Issued{}, err
	}
	s.record(ctx, c, u.ID, audit.SignIn, audit.Success, "")
	return u, iss, nil
}

// throttled records and logs a request refused by a limit.
func (s *Service) throttled(ctx context.Context, c Client, userID string, flow audit.Kind, err error) {
	s.audit.Throttled(ctx, c.Audit(), userID, flow, err)
}

// upgradeHash re-hashes a password stored with older parameters; a failure
// only means it is tried again at the next sign-in.
func (s *Service) upgradeHash(ctx context.Context, u store.User, norm string) {
	h, err := s.hasher.Hash(ctx, norm)
	if err == nil {
		err = s.db.UpgradePasswordHash(ctx, u.ID, u.PasswordHash, h)
	}
	if err != nil {
		s.log.Warn("password hash upgrade failed", "user", u.ID, "err", err)
	}
}

// startSession issues a fresh session (never reusing one the browser
// brought, so a planted session id is worthless) and marks the browser as
// known to this account, unless known says it already is.
func (s *Service) startSession(ctx context.Context, c Client, u store.User, aal int, stepUpKind string, known bool) (Issued, error) {
	sess, iss := s.newSession(c, u, aal, stepUpKind)
	if err := s.sessions.Start(ctx, session.Fresh{Session: sess, Token: iss.Token, Browser: iss.browser}, known); err != nil {
		return Issued{}, err
	}
	return iss, nil
}

// newSession is a fresh session for u and what the browser is handed for
// it, not yet stored (session.Service.New).
func (s *Service) newSession(c Client, u store.User, aal int, stepUpKind string) (store.Session, Issued) {
	f := s.sessions.New(c.Audit(), c.BrowserID, u.ID, aal, stepUpKind)
	return f.Session, Issued{Token: f.Token, Session: f.Session, BrowserID: f.NewBrowser, browser: f.Browser}
}
