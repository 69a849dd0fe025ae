package account

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"twostep/internal/audit"
	"twostep/internal/factor"
	"twostep/internal/factor/recovery"
	"twostep/internal/factor/totp"
	"twostep/internal/method"
	"twostep/internal/ratelimit"
	"twostep/internal/secret"
	"twostep/internal/store"
)

// Factor kinds and roles as the API names them.
const (
	KindTOTP     = factor.TOTP
	KindRecovery = factor.Recovery
	RolePrimary  = factor.Primary
	RoleBackup   = factor.Backup
)

// Errors of two-step verification.
var (
	ErrFactorNotFound        = errors.New("account: no such method")
	ErrLastFactor            = errors.New("account: this is the last method; turn two-step verification off instead")
	ErrBackupRequired        = errors.New("account: add a backup method first")
	ErrPrimaryRequired       = errors.New("account: add and confirm a primary method first")
	ErrPolicyRequiresTwoStep = errors.New("account: two-step verification cannot be turned off here")
	ErrAlreadyConfirmed      = errors.New("account: this method is already confirmed")
	ErrInvalidLabel          = errors.New("account: a label is 1 to 64 characters of text")
	ErrInvalidRole           = errors.New("account: role must be primary or backup")
	ErrAlreadyEnabled        = errors.New("account: two-step verification is already on")
)

// InvalidCodeError is a wrong second-factor code. AttemptsLeft is set at
// the sign-in challenge; ClockOffset when the code matched a time too far
// from now to accept, which means the phone's clock is wrong.
type InvalidCodeError struct {
	AttemptsLeft int // -1 when not counted against a pending sign-in
	ClockOffset  time.Duration
}

func (e *InvalidCodeError) Error() string { return "account: wrong code" }

// ClockHint is the user-facing sentence about a phone's clock, or "".
func (e *InvalidCodeError) ClockHint() string {
	if e.ClockOffset == 0 {
		return ""
	}
	d, dir := e.ClockOffset, "ahead"
	if d < 0 {
		d, dir = -d, "behind"
	}
	return fmt.Sprintf("That code is from a different time: your phone's clock looks about %s %s. Turn on automatic date and time on your phone and try again.", roundHuman(d), dir)
}

func roundHuman(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", int(d.Seconds()))
	}
	m := int((d + 30*time.Second) / time.Minute)
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

func (s *Service) totpParams() totp.Params {
	t := s.cfg.TwoStep
	return totp.Params{Digits: t.TOTPDigits, Period: t.TOTPPeriod, Algorithm: totp.Algorithm(t.TOTPAlgorithm), Skew: t.TOTPSkew}
}

// Methods lists the user's active methods in the order the challenge
// offers them: primary first, recovery codes last.
func (s *Service) Methods(ctx context.Context, userID string) ([]store.Factor, error) {
	all, err := s.db.Factors(ctx, userID, s.now())
	if err != nil {
		return nil, err
	}
	var prim, backup, rec []store.Factor
	for _, f := range all {
		switch {
		case f.Status != factor.Active:
		case f.Kind == KindRecovery:
			rec = append(rec, f)
		case f.Role == RolePrimary:
			prim = append(prim, f)
		default:
			backup = append(backup, f)
		}
	}
	return append(append(prim, backup...), rec...), nil
}

// AllFactors lists active methods and the methods this session is adding
// (the wizard shows both); methods other sessions are adding stay theirs.
func (s *Service) AllFactors(ctx context.Context, sess store.Session, userID string) ([]store.Factor, error) {
	all, err := s.db.Factors(ctx, userID, s.now())
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, f := range all {
		if f.Status == factor.Active || f.SessionID == sess.ID {
			out = append(out, f)
		}
	}
	return out, nil
}

// RecoveryCodesLeft counts unused recovery codes of a set.
func (s *Service) RecoveryCodesLeft(ctx context.Context, factorID string) (int, error) {
	return s.db.RecoveryCodesLeft(ctx, factorID)
}

func validLabel(l string) bool {
	n := utf8.RuneCountInString(l)
	return utf8.ValidString(l) && n >= 1 && n <= 64 && !strings.ContainsAny(l, "\x00\r\n\t")
}

// TOTPEnrollment is what a person needs to add an authenticator app.
type TOTPEnrollment struct {
	Factor     store.Factor
	Secret     string // base32
	GroupedKey string // base32 in groups of four
	URI        string // otpauth://
	QR         string // data:image/png;base64,…
}

// AddTOTP starts adding an authenticator app: a pending factor that only
// becomes usable once a code from it is confirmed. It needs a fresh
// step-up (with an existing factor once 2SV is on).
func (s *Service) AddTOTP(ctx context.Context, c Client, sess store.Session, u store.User, label string) (TOTPEnrollment, error) {
	if err := s.RequireStepUp(ctx, sess, u); err != nil {
		return TOTPEnrollment{}, err
	}
	label = strings.TrimSpace(label)
	if label == "" {
		label = "Authenticator app"
	}
	if !validLabel(label) {
		return TOTPEnrollment{}, ErrInvalidLabel
	}
	key, err := totp.NewSecret(rand.Reader)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	methods, err := s.Methods(ctx, u.ID)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	role := RolePrimary
	for _, m := range methods {
		if m.Role == RolePrimary {
			role = RoleBackup
		}
	}
	now := s.now()
	id := store.NewID()
	f := store.Factor{
		ID: id, UserID: u.ID, Kind: KindTOTP, Label: label, Role: role, Status: factor.Pending,
		Secret: s.keys.Seal(key, secret.TOTPKeyContext(id)), CreatedAt: now, ExpiresAt: now.Add(s.cfg.TwoStep.PendingFactorTTL.D()),
		SessionID: sess.ID,
	}
	if err := s.db.CreateFactor(ctx, f); err != nil {
		return TOTPEnrollment{}, err
	}
	s.record(ctx, c, u.ID, audit.FactorAdded, audit.Pending, "authenticator app "+label)
	return s.enrollment(u, f, key)
}

// enrollment is what the wizard shows for an app being added: the key,
// the otpauth URI and its QR code.
func (s *Service) enrollment(u store.User, f store.Factor, key []byte) (TOTPEnrollment, error) {
	issuer := s.cfg.TwoStep.Issuer
	if issuer == "" {
		issuer = s.cfg.Server.SiteName
	}
	secret := totp.EncodeSecret(key)
	uri := totp.URI(issuer, u.Email, key, s.totpParams())
	qr, err := totp.QRDataURI(uri)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	return TOTPEnrollment{Factor: f, Secret: secret, GroupedKey: totp.GroupKey(secret), URI: uri, QR: qr}, nil
}

// ConfirmFactor activates a pending method with a code from it: from the
// app, or the code sent to the phone or address. Confirming proves only
// that the person holds the new method, not an existing one: it is never
// a step-up.
func (s *Service) ConfirmFactor(ctx context.Context, c Client, sess store.Session, u store.User, id, code string) (store.Factor, error) {
	f, err := s.factorFor(ctx, sess, u, id)
	if err != nil {
		return f, err
	}
	if f.Status == factor.Active {
		return f, ErrAlreadyConfirmed
	}
	if f.Kind != KindTOTP && !Sendable(f.Kind) {
		return f, ErrFactorNotFound
	}
	if err := s.checkCode(ctx, c, u, f, code); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return f, ErrFactorNotFound
		}
		return f, err
	}
	f.Status, f.ConfirmedAt = factor.Active, s.now()
	if u.DefaultFactorID == "" && f.Role == RolePrimary {
		if err := s.db.SetDefaultFactor(ctx, u.ID, f.ID); err != nil {
			return f, err
		}
	}
	detail, notice := f.Label, audit.MethodAdded(u.Email, f.Label)
	if f.Kind == KindTOTP {
		detail, notice = "authenticator app "+f.Label, audit.AppAdded(u.Email, f.Label)
	}
	s.record(ctx, c, u.ID, audit.FactorAdded, audit.Success, detail)
	if u.TwoStepEnabled {
		s.notify(ctx, u, notice)
	}
	return f, nil
}

// NewRecoveryCodes makes a new set of recovery codes, replacing any
// earlier set. The codes are returned once and stored only as keyed
// hashes.
func (s *Service) NewRecoveryCodes(ctx context.Context, c Client, sess store.Session, u store.User) (store.Factor, []string, error) {
	if err := s.RequireStepUp(ctx, sess, u); err != nil {
		return store.Factor{}, nil, err
	}
	codes, err := recovery.Generate(rand.Reader, recovery.Count)
	if err != nil {
		return store.Factor{}, nil, err
	}
	hashes := make([]string, len(codes))
	for i, code := range codes {
		n, _ := recovery.Normalize(code)
		hashes[i] = recovery.Hash(s.pepper, u.ID, n)
	}
	now := s.now()
	f := store.Factor{ID: store.NewID(), UserID: u.ID, Kind: KindRecovery, Label: "Recovery codes", Role: RoleBackup,
		Status: factor.Active, CreatedAt: now, ConfirmedAt: now}
	if err := s.db.ReplaceRecoveryCodes(ctx, f, hashes); err != nil {
		return store.Factor{}, nil, err
	}
	s.record(ctx, c, u.ID, audit.RecoveryCodes, audit.Success, "new set of recovery codes")
	if u.TwoStepEnabled {
		s.notify(ctx, u, audit.RecoveryCodesMade(u.Email))
	}
	return f, codes, nil
}

// UpdateFactor renames a method or changes its role. Demoting the default
// hands its place to another method that can sign in, in the same
// transaction as the change and its event.
func (s *Service) UpdateFactor(ctx context.Context, c Client, sess store.Session, u store.User, id string, label *string, role *factor.Role) (store.Factor, error) {
	if err := s.RequireStepUp(ctx, sess, u); err != nil {
		return store.Factor{}, err
	}
	f, err := s.db.FactorByID(ctx, u.ID, id, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return f, ErrFactorNotFound
	}
	if err != nil {
		return f, err
	}
	if label != nil {
		l := strings.TrimSpace(*label)
		if !validLabel(l) {
			return f, ErrInvalidLabel
		}
		f.Label = l
	}
	var heir *store.Factor // takes the default's place
	promote := false
	if role != nil {
		if *role != RolePrimary && *role != RoleBackup || f.Kind == KindRecovery && *role == RolePrimary {
			return f, ErrInvalidRole
		}
		if *role == RoleBackup && f.Role == RolePrimary && f.Status == factor.Active {
			methods, err := s.Methods(ctx, u.ID)
			if err != nil {
				return f, err
			}
			if heir = nextSignInMethod(methods, f.ID); heir == nil {
				return f, ErrInvalidRole // nothing to demote it for
			}
		}
		promote = *role == RolePrimary && f.Status == factor.Active
		f.Role = *role
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if heir != nil {
			if err := tx.UpdateFactor(ctx, u.ID, heir.ID, heir.Label, RolePrimary); err != nil {
				return err
			}
			if err := tx.SetDefaultFactor(ctx, u.ID, heir.ID); err != nil {
				return err
			}
		}
		if err := tx.UpdateFactor(ctx, u.ID, f.ID, f.Label, f.Role); err != nil {
			return err
		}
		if promote {
			if err := tx.SetDefaultFactor(ctx, u.ID, f.ID); err != nil {
				return err
			}
		}
		return tx.AddEvent(ctx, s.event(c, u.ID, audit.FactorChanged, audit.Success, f.Label))
	})
	if errors.Is(err, store.ErrNotFound) {
		return f, ErrFactorNotFound
	}
	return f, err
}

// nextSignInMethod is the first of methods, other than the one with id,
// that can sign in (recovery codes cannot be the default), or nil.
func nextSignInMethod(methods []store.Factor, id string) *store.Factor {
	for i, m := range methods {
		if m.ID != id && m.Kind != KindRecovery {
			return &methods[i]
		}
	}
	return nil
}

// MakeDefault chooses the method the challenge asks for first.
func (s *Service) MakeDefault(ctx context.Context, c Client, sess store.Session, u store.User, id string) error {
	f, err := s.db.FactorByID(ctx, u.ID, id, s.now())
	if err != nil || f.Status != factor.Active || f.Kind == KindRecovery {
		return ErrFactorNotFound
	}
	role := RolePrimary
	_, err = s.UpdateFactor(ctx, c, sess, u, id, nil, &role)
	return err
}

// RemoveFactor deletes a method. With 2SV on, the last method that can
// sign in (recovery codes alone do not count as a method to keep) cannot
// be removed: the user turns 2SV off instead. Removing the default hands
// its place on, in one transaction with the removal, its event and the
// notice.
func (s *Service) RemoveFactor(ctx context.Context, c Client, sess store.Session, u store.User, id string) (warnNoBackup bool, err error) {
	f, err := s.factorFor(ctx, sess, u, id)
	if err != nil {
		return false, err
	}
	if f.Status == factor.Pending { // abandoning an unconfirmed app needs no step-up
		return false, s.db.DeleteFactor(ctx, u.ID, f.ID)
	}
	if err := s.RequireStepUp(ctx, sess, u); err != nil {
		return false, err
	}
	methods, err := s.Methods(ctx, u.ID)
	if err != nil {
		return false, err
	}
	otherBackup := 0
	for _, m := range methods {
		if m.ID != f.ID && m.Role == RoleBackup {
			otherBackup++
		}
	}
	heir := nextSignInMethod(methods, f.ID)
	if u.TwoStepEnabled && f.Kind != KindRecovery && heir == nil {
		return false, ErrLastFactor
	}
	var notice []store.Mail
	if u.TwoStepEnabled {
		notice = append(notice, s.mailRow(u.ID, audit.MailKind, s.audit.Message(u, audit.MethodRemoved(u.Email, f.Label))))
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteFactor(ctx, u.ID, f.ID); err != nil {
			return err
		}
		if u.DefaultFactorID == f.ID {
			next := ""
			if heir != nil {
				next = heir.ID
				if err := tx.UpdateFactor(ctx, u.ID, heir.ID, heir.Label, RolePrimary); err != nil {
					return err
				}
			}
			if err := tx.SetDefaultFactor(ctx, u.ID, next); err != nil {
				return err
			}
		}
		if err := tx.AddEvent(ctx, s.event(c, u.ID, audit.FactorRemoved, audit.Success, f.Label)); err != nil {
			return err
		}
		for _, m := range notice {
			if err := tx.QueueMail(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return false, ErrFactorNotFound // removed meanwhile
	}
	if err != nil {
		return false, err
	}
	if len(notice) > 0 {
		s.pokeMail()
	}
	warn := u.TwoStepEnabled && s.cfg.TwoStep.Backup == "required" && f.Role == RoleBackup && otherBackup == 0
	return warn, nil
}

// defaultMethod is the user's chosen default if it is still among
// methods, else the first of them.
func defaultMethod(u store.User, methods []store.Factor) string {
	if labelOf(methods, u.DefaultFactorID) == "" && len(methods) > 0 {
		return methods[0].ID
	}
	return u.DefaultFactorID
}

func labelOf(fs []store.Factor, id string) string {
	for _, f := range fs {
		if f.ID == id {
			return f.Label
		}
	}
	return ""
}

// PolicyStatus says what the wizard still needs before 2SV can be on.
type PolicyStatus struct {
	HasPrimary, HasBackup, BackupRequired bool
}

// Ready reports whether 2SV may be turned on.
func (p PolicyStatus) Ready() bool { return p.HasPrimary && (p.HasBackup || !p.BackupRequired) }

// Policy evaluates the user's methods against the operator's policy.
func (s *Service) Policy(ctx context.Context, userID string) (PolicyStatus, error) {
	methods, err := s.Methods(ctx, userID)
	if err != nil {
		return PolicyStatus{}, err
	}
	p := PolicyStatus{BackupRequired: s.cfg.TwoStep.Backup == "required"}
	primaries := 0
	for _, m := range methods {
		if m.Kind != KindRecovery {
			primaries++
		}
		if m.Role == RolePrimary && m.Kind != KindRecovery {
			p.HasPrimary = true
		}
		if m.Role == RoleBackup {
			p.HasBackup = true
		}
	}
	return p, nil
}

// EnableTwoStep turns 2SV on, in one step, once the policy is met. The
// browser can be remembered at the same time (the wizard's checkbox).
func (s *Service) EnableTwoStep(ctx context.Context, c Client, sess store.Session, u store.User) error {
	if u.EmailVerifiedAt.IsZero() {
		return ErrEmailNotVerified
	}
	if u.TwoStepEnabled {
		return ErrAlreadyEnabled
	}
	p, err := s.Policy(ctx, u.ID)
	if err != nil {
		return err
	}
	if !p.HasPrimary {
		return ErrPrimaryRequired
	}
	if !p.Ready() {
		return ErrBackupRequired
	}
	methods, err := s.Methods(ctx, u.ID)
	if err != nil {
		return err
	}
	if err := s.db.SetTwoStep(ctx, u.ID, true, defaultMethod(u, methods)); err != nil {
		return err
	}
	// Sessions signed in with the password alone must not carry on as if
	// they had passed the new second step: every other one ends.
	n, err := s.db.RevokeSessions(ctx, u.ID, sess.ID, s.now())
	if err != nil {
		return err
	}
	s.record(ctx, c, u.ID, audit.TwoStepEnabled, audit.Success, sessionsEnded(n))
	s.notify(ctx, u, audit.TwoStepOn(u.Email))
	return nil
}

// DisableTwoStep turns 2SV off, removing every method and remembered
// device, after a fresh step-up.
func (s *Service) DisableTwoStep(ctx context.Context, c Client, sess store.Session, u store.User) error {
	if !s.cfg.TwoStep.AllowDisable {
		return ErrPolicyRequiresTwoStep
	}
	if err := s.RequireStepUp(ctx, sess, u); err != nil {
		return err
	}
	if err := s.db.SetTwoStep(ctx, u.ID, false, ""); err != nil {
		return err
	}
	s.record(ctx, c, u.ID, audit.TwoStepDisabled, audit.Success, "all methods and remembered devices removed")
	s.notify(ctx, u, audit.TwoStepOff(u.Email))
	return nil
}

// Second-factor rate-limit keys: counted across all of a user's methods,
// apart from password failures.
func codeAccountKey(userID string) string      { return "code:acct:" + userID }
func codeAccountDailyKey(userID string) string { return "code:acct:day:" + userID }
func codeAddressKey(ip string) string          { return "code:ip:" + ip }

// reserveCode spends, before a code is checked, one unit of every budget
// of wrong codes the check draws on — in one atomic step, so a burst of
// concurrent guesses, on any number of instances, gets no more checks
// than the budgets allow. While a budget is spent even a correct code is
// refused, so a lockout cannot be guessed through. The per-address budget
// does not bind a browser this account has signed in with before: many
// accounts behind one address (an office, a carrier's NAT) must not lock
// out each other's owners. It returns the keys to give back when the code
// turns out right.
func (s *Service) reserveCode(ctx context.Context, c Client, userID string, known bool) ([]string, error) {
	l := s.cfg.Limits
	wants := []ratelimit.Want{
		ratelimit.BudgetWant(codeAccountKey(userID), l.CodePerAccount),
		ratelimit.BudgetWant(codeAccountDailyKey(userID), l.CodePerAccountDaily),
	}
	if !known {
		wants = append(wants, ratelimit.BudgetWant(codeAddressKey(c.LimitAddr()), l.CodePerAddress))
	}
	if err := s.limiter.Reserve(ctx, wants...); err != nil {
		var lim *ratelimit.Limited
		if errors.As(err, &lim) {
			s.throttled(ctx, c, "", audit.SecondFactor, err)
			s.record(ctx, c, userID, audit.SecondFactor, audit.Locked, strings.Join(lim.Keys, ","))
		}
		return nil, err
	}
	keys := make([]string, len(wants))
	for i, w := range wants {
		keys[i] = w.Key
	}
	return keys, nil
}

// codeRight gives back the units reserved for a code that was right.
func (s *Service) codeRight(ctx context.Context, keys []string) {
	if err := s.limiter.Refund(context.WithoutCancel(ctx), keys...); err != nil {
		s.log.Error("refund code reservation", "err", err)
	}
}

// codeWrong records a wrong code (already counted by reserveCode), and a
// lockout when it spent the last unit of a budget.
func (s *Service) codeWrong(ctx context.Context, c Client, userID, detail string) {
	s.record(ctx, c, userID, audit.SecondFactor, audit.Failure, detail)
	l := s.cfg.Limits
	for _, b := range []struct {
		key    string
		budget ratelimitBudget
	}{{codeAccountKey(userID), l.CodePerAccount}, {codeAccountDailyKey(userID), l.CodePerAccountDaily}} {
		if err := s.limiter.Exhausted(ctx, b.key, b.budget); err != nil {
			var lim *ratelimit.Limited
			if errors.As(err, &lim) {
				s.log.Warn("second-factor budget spent: codes refused", "limit", audit.LimitKind(b.key), "retry_after_s", lim.Seconds())
				s.record(ctx, c, userID, audit.SecondFactor, audit.Lockout, "too many wrong codes")
			}
			return
		}
	}
}

// checkCode verifies a code against one of the user's methods, with every
// budget of wrong codes reserved first (reserveCode) and the replay guard.
// It returns nil or an *InvalidCodeError (or a limit error).
func (s *Service) checkCode(ctx context.Context, c Client, u store.User, f store.Factor, code string) error {
	known, err := s.knownBrowser(ctx, c, u.ID)
	if err != nil {
		return err
	}
	return s.checkCodeAs(ctx, c, u, f, code, known)
}

// knownBrowser reports whether the asking browser has signed in to the
// user's account before.
func (s *Service) knownBrowser(ctx context.Context, c Client, userID string) (bool, error) {
	if !secret.WellFormedToken(c.BrowserID) {
		return false, nil
	}
	return s.db.KnownBrowser(ctx, userID, secret.Hash(c.BrowserID), s.now())
}

// checkCodeAs is checkCode for a browser already known (or not) to the
// account.
func (s *Service) checkCodeAs(ctx context.Context, c Client, u store.User, f store.Factor, code string, known bool) error {
	keys, err := s.reserveCode(ctx, c, u.ID, known)
	if err != nil {
		return err
	}
	ok, bad, err := s.evaluateCode(ctx, c, u, f, code)
	if err != nil {
		s.codeRight(ctx, keys) // not evaluated: nothing was guessed
		return err
	}
	if ok {
		s.codeRight(ctx, keys)
		return nil
	}
	detail := f.Label
	if f.Status == factor.Pending {
		detail = "confirm " + f.Label
	}
	s.codeWrong(ctx, c, u.ID, detail)
	return bad
}

// evaluateCode checks code against factor f through its method: true
// when it is right and what it used is consumed, a pending f then
// activated (the one activation path for every kind); else the
// wrong-code error to show.
func (s *Service) evaluateCode(ctx context.Context, c Client, u store.User, f store.Factor, code string) (bool, *InvalidCodeError, error) {
	m, ok := s.methods.For(f.Kind)
	if !ok {
		return false, nil, ErrFactorNotFound
	}
	res, err := m.Verify(ctx, f, method.Response{Code: code})
	if err != nil {
		return false, nil, err
	}
	if !res.OK {
		return false, &InvalidCodeError{AttemptsLeft: -1, ClockOffset: res.ClockOffset}, nil
	}
	if f.Status == factor.Pending {
		if err := s.db.ActivateFactor(ctx, u.ID, f.ID, res.Step, res.Drift, s.now()); err != nil {
			return false, nil, err
		}
	}
	if f.Kind == KindRecovery {
		s.record(ctx, c, u.ID, audit.RecoveryCodeUsed, audit.Success, res.Detail)
	}
	return true, nil, nil
}

// factorFor finds one of the user's methods as the session may see it: a
// pending method belongs to the session that added it, and to no other
// (another session, even of the same person, never reads its key or
// confirms it).
func (s *Service) factorFor(ctx context.Context, sess store.Session, u store.User, id string) (store.Factor, error) {
	f, err := s.db.FactorByID(ctx, u.ID, id, s.now())
	if errors.Is(err, store.ErrNotFound) || (err == nil && f.Status == factor.Pending && f.SessionID != sess.ID) {
		return store.Factor{}, ErrFactorNotFound
	}
	return f, err
}

// PendingTOTP shows a pending authenticator app again (the wizard page is
// reloaded, or a code was wrong) to the session that added it.
func (s *Service) PendingTOTP(ctx context.Context, sess store.Session, u store.User, id string) (TOTPEnrollment, error) {
	f, err := s.factorFor(ctx, sess, u, id)
	if err == nil && (f.Status != factor.Pending || f.Kind != KindTOTP) {
		err = ErrFactorNotFound
	}
	if err != nil {
		return TOTPEnrollment{}, err
	}
	key, err := s.keys.Open(f.Secret, secret.TOTPKeyContext(f.ID))
	if err != nil {
		return TOTPEnrollment{}, fmt.Errorf("open totp secret: %w", err)
	}
	return s.enrollment(u, f, key)
}

// RememberThisBrowser trusts the asking browser for the user (the last
// step of the wizard offers it).
func (s *Service) RememberThisBrowser(ctx context.Context, c Client, u store.User) (string, error) {
	return s.rememberDevice(ctx, c, u)
}
