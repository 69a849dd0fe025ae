// Package signin is the sign-in flow: the password (with its throttles),
// then — when two-step verification is on — a remembered device or a
// pending sign-in answered with a code, then a session; and the return
// address a sign-in or a re-verification goes back to, which every surface
// checks the same way.
package signin

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"twostep/internal/audit"
	"twostep/internal/config"
	"twostep/internal/delivery"
	"twostep/internal/device"
	"twostep/internal/method"
	"twostep/internal/password"
	"twostep/internal/ratelimit"
	"twostep/internal/secret"
	"twostep/internal/session"
	"twostep/internal/store"
)

// Errors the sign-in returns.
var (
	// ErrInvalidCredentials is the one answer for an unknown e-mail and a
	// wrong password alike.
	ErrInvalidCredentials = errors.New("signin: invalid e-mail or password")
	// ErrExpired is a pending sign-in that expired, ended or had too many
	// wrong codes: the password is needed again.
	ErrExpired = errors.New("signin: the sign-in expired; enter your password again")
)

// Store keeps the users, the known browsers and the pending sign-ins, and
// runs the transaction that completes one.
type Store interface {
	UserByEmail(ctx context.Context, email string) (store.User, error)
	UserByID(ctx context.Context, id string) (store.User, error)
	UpgradePasswordHash(ctx context.Context, userID, oldHash, newHash string) error
	KnownBrowser(ctx context.Context, userID, hash string, now time.Time) (bool, error)
	CreatePending(ctx context.Context, p store.Pending) error
	PendingByTokenHash(ctx context.Context, hash string, now time.Time, attempts int) (store.Pending, error)
	ReservePendingByToken(ctx context.Context, hash string, now time.Time, attempts int) (store.Pending, error)
	RefundPendingAttempt(ctx context.Context, id string) error
	RecoveryCodesLeft(ctx context.Context, factorID string) (int, error)
	InTx(ctx context.Context, fn func(*store.Tx) error) error
}

// Account is what the sign-in borrows from the account service: the
// e-mail rules, the user's second factors and the budgeted code check,
// and the sealed mail queue.
type Account interface {
	NormalizeEmail(email string) (string, error)
	// Methods lists the user's active methods in the order the challenge
	// offers them; DefaultMethod picks the one to offer first.
	Methods(ctx context.Context, userID string) ([]store.Factor, error)
	DefaultMethod(u store.User, methods []store.Factor) string
	// ActiveFactor is the user's active method id.
	ActiveFactor(ctx context.Context, userID, id string) (store.Factor, error)
	// AMR is what a success with f adds to a session's amr (RFC 8176).
	AMR(f store.Factor) []string
	// CheckCode checks code from f for a browser known (or not) to the
	// account, under the budgets of wrong codes. wrong reports that the
	// code was checked and was wrong: err is then the error to show,
	// counting attemptsLeft.
	CheckCode(ctx context.Context, c session.Client, u store.User, f store.Factor, resp method.Response, known bool, attemptsLeft int) (wrong bool, err error)
	// MailRow is m to the user, sealed for the queue; PokeMail wakes the
	// sender after a commit that queued some.
	MailRow(userID, kind string, m delivery.Message) store.Mail
	PokeMail()
	// CompleteRecovery finishes u's recovery with a waiting period when
	// the wait is over and c is the browser that confirmed it (two-step
	// verification off, everything revoked, everyone told); false: none
	// is ready for c. EndRecoveryBySignIn stops u's open recovery after a
	// sign-in that completed a second step.
	CompleteRecovery(ctx context.Context, c session.Client, u store.User) (bool, error)
	EndRecoveryBySignIn(ctx context.Context, c session.Client, u store.User)
}

// Hasher verifies and hashes passwords (password.Hasher).
type Hasher interface {
	Verify(ctx context.Context, pw, encoded string) (ok, needsRehash bool, err error)
	VerifyDummy(ctx context.Context, pw string) error
	Hash(ctx context.Context, pw string) (string, error)
}

// Limiter throttles password guesses (ratelimit.Limiter).
type Limiter interface {
	Reserve(ctx context.Context, wants ...ratelimit.Want) error
	Refund(ctx context.Context, keys ...string) error
	Reset(ctx context.Context, key string) error
}

// Options wires a Service.
type Options struct {
	DB       Store
	Account  Account
	Hasher   Hasher
	Limiter  Limiter
	Sessions *session.Service
	Devices  *device.Service
	Audit    *audit.Recorder
	// Limits are the password-guessing throttles.
	Limits config.Limits
	// PendingTTL is how long a sign-in waits for its second step, and
	// PendingAttempts how many codes it may try.
	PendingTTL      time.Duration
	PendingAttempts int
	Now             func() time.Time
	Log             *slog.Logger
}

// Service runs the sign-in: password, then a second factor or a
// remembered device, then a session.
type Service struct {
	db              Store
	account         Account
	hasher          Hasher
	limiter         Limiter
	sessions        *session.Service
	devices         *device.Service
	audit           *audit.Recorder
	limits          config.Limits
	pendingTTL      time.Duration
	pendingAttempts int
	now             func() time.Time
	log             *slog.Logger
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Service{db: o.DB, account: o.Account, hasher: o.Hasher, limiter: o.Limiter, sessions: o.Sessions, devices: o.Devices,
		audit: o.Audit, limits: o.Limits, pendingTTL: o.PendingTTL, pendingAttempts: o.PendingAttempts, now: o.Now, log: o.Log}
}

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
	// UsedRecoveryCode is set when a recovery code completed the sign-in,
	// RecoveryCodesLeft then how many remain.
	UsedRecoveryCode  bool
	RecoveryCodesLeft int
	// Recovered is set when the sign-in finished a recovery with a
	// waiting period: two-step verification is now off.
	Recovered bool

	// browser is the browser id the session is for (BrowserID when new).
	browser string
}

// Rate-limit keys for password guessing. The account key is derived from
// the e-mail as typed (normalised), so unknown and known addresses are
// throttled alike and the limit reveals nothing.
func AccountKey(email string) string { return "pw:acct:" + secret.Hash(email)[:32] }
func addressKey(ip string) string    { return "pw:ip:" + ip }
func browserKey(browserHash, userID string) string {
	return "pw:browser:" + browserHash[:32] + ":" + userID
}

// PassedMark is the known-browser entry that says the browser with id
// browserID has completed a second step for the account — not only its
// password. It lives beside the browser's own entry, under a hash derived
// from the id, so only a browser that has passed a second step can present
// it: its wrong codes are judged by a budget of its own (account.reserveCode),
// and someone who only has the password cannot spend that budget.
func PassedMark(browserID string) string { return secret.Hash("second-step:" + browserID) }

// PassedSecondStep reports whether the browser c has completed a second
// step for the user's account before (PassedMark).
func PassedSecondStep(ctx context.Context, db interface {
	KnownBrowser(ctx context.Context, userID, hash string, now time.Time) (bool, error)
}, c session.Client, userID string, now time.Time) (bool, error) {
	if !secret.WellFormedToken(c.BrowserID) {
		return false, nil
	}
	return db.KnownBrowser(ctx, userID, PassedMark(c.BrowserID), now)
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
func (s *Service) SignIn(ctx context.Context, c session.Client, email, pw string) (store.User, Issued, error) {
	email, err := s.account.NormalizeEmail(email)
	if err != nil {
		return store.User{}, Issued{}, ErrInvalidCredentials
	}
	norm, nerr := password.Normalize(pw) // an invalid one matches no hash
	u, err := s.db.UserByEmail(ctx, email)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, Issued{}, err
	}
	key, backoff := AccountKey(email), s.limits.PasswordPerAccount
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
			key, backoff = browserKey(bh, u.ID), s.limits.PasswordPerBrowser
		}
	}
	err = s.limiter.Reserve(ctx,
		ratelimit.BackoffWant(addressKey(c.LimitAddr()), s.limits.PasswordPerAddress),
		ratelimit.BackoffWant(key, backoff))
	if err != nil {
		s.audit.Throttled(ctx, c.Audit(), u.ID, audit.SignIn, err)
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
		s.audit.Record(ctx, c.Audit(), uid, audit.SignIn, audit.Failure, "wrong password")
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
	if err := s.checkHold(ctx, c, u, true); err != nil {
		return store.User{}, Issued{}, err
	}
	if rehash {
		s.upgradeHash(ctx, u, norm)
	}
	// A recovery may be open: after its wait, the right password from the
	// browser that confirmed it finishes it (u carries the mark, so other
	// sign-ins do not look).
	if u.TwoStepEnabled && !u.RecoveryOpenAt.IsZero() {
		recovered, err := s.account.CompleteRecovery(ctx, c, u)
		if err != nil {
			return store.User{}, Issued{}, err
		}
		if recovered {
			u.TwoStepEnabled, u.DefaultFactorID, u.RecoveryOpenAt = false, "", time.Time{}
			// Its known browsers were forgotten with everything else.
			iss, err := s.StartSession(ctx, c, u, 1, "password", []string{session.AMRPassword}, false)
			if err != nil {
				return store.User{}, Issued{}, err
			}
			iss.Recovered = true
			s.audit.Record(ctx, c.Audit(), u.ID, audit.SignIn, audit.Success, "recovery completed")
			return u, iss, nil
		}
	}
	if u.TwoStepEnabled {
		iss, err := s.challenge(ctx, c, u, known, nil)
		return u, iss, err
	}
	iss, err := s.StartSession(ctx, c, u, 1, "password", []string{session.AMRPassword}, known)
	if err != nil {
		return store.User{}, Issued{}, err
	}
	s.audit.Record(ctx, c.Audit(), u.ID, audit.SignIn, audit.Success, "")
	return u, iss, nil
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

// StartSession issues a fresh session (never reusing one the browser
// brought, so a planted session id is worthless) and marks the browser as
// known to this account, unless known says it already is. aal,
// stepUpKind and amr are as for session.Service.New.
func (s *Service) StartSession(ctx context.Context, c session.Client, u store.User, aal int, stepUpKind string, amr []string, known bool) (Issued, error) {
	sess, iss := s.newSession(c, u, aal, stepUpKind, amr)
	if err := s.sessions.Start(ctx, session.Fresh{Session: sess, Token: iss.Token, Browser: iss.browser}, known); err != nil {
		return Issued{}, err
	}
	return iss, nil
}

// newSession is a fresh session for u and what the browser is handed for
// it, not yet stored.
func (s *Service) newSession(c session.Client, u store.User, aal int, stepUpKind string, amr []string) (store.Session, Issued) {
	f := s.sessions.New(c.Audit(), c.BrowserID, u.ID, aal, stepUpKind, amr)
	return f.Session, Issued{Token: f.Token, Session: f.Session, BrowserID: f.NewBrowser, browser: f.Browser}
}

// knownBrowser reports whether the asking browser has signed in to the
// user's account before.
func (s *Service) knownBrowser(ctx context.Context, c session.Client, userID string) (bool, error) {
	if !secret.WellFormedToken(c.BrowserID) {
		return false, nil
	}
	return s.db.KnownBrowser(ctx, userID, secret.Hash(c.BrowserID), s.now())
}

// maxUserAgent is the most of a User-Agent header a pending sign-in keeps.
const maxUserAgent = 512
