package account

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"twostep/internal/factor/recovery"
	"twostep/internal/factor/totp"
	"twostep/internal/ratelimit"
	"twostep/internal/store"
)

// Factor kinds and roles as the API names them.
const (
	KindTOTP     = "totp"
	KindRecovery = "recovery_code"
	RolePrimary  = "primary"
	RoleBackup   = "backup"
)

// Errors of two-step verification.
var (
	ErrFactorNotFound        = errors.New("account: no such method")
	ErrLastFactor            = errors.New("account: this is the last method; turn two-step verification off instead")
	ErrBackupRequired        = errors.New("account: add a backup method first")
	ErrPrimaryRequired       = errors.New("account: add and confirm a primary method first")
	ErrPolicyRequiresTwoStep = errors.New("account: two-step verification cannot be turned off here")
	ErrSignInExpired         = errors.New("account: the sign-in expired; enter your password again")
	ErrAlreadyConfirmed      = errors.New("account: this method is already confirmed")
	ErrInvalidLabel          = errors.New("account: a label is 1 to 64 characters of text")
	ErrInvalidRole           = errors.New("account: role must be primary or backup")
	ErrTwoStepOff            = errors.New("account: two-step verification is off")
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

// StepUpRequiredError asks the user to prove themselves again: with a
// second factor when 2SV is on (Methods), with the password otherwise.
type StepUpRequiredError struct {
	Methods []store.Factor
}

func (e *StepUpRequiredError) Error() string { return "account: re-verification required" }

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
		case f.Status != "active":
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

// AllFactors lists active and pending methods (the wizard shows both).
func (s *Service) AllFactors(ctx context.Context, userID string) ([]store.Factor, error) {
	return s.db.Factors(ctx, userID, s.now())
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
		ID: id, UserID: u.ID, Kind: KindTOTP, Label: label, Role: role, Status: "pending",
		Secret: s.keys.Seal(key, "totp:"+id), CreatedAt: now, ExpiresAt: now.Add(s.cfg.TwoStep.PendingFactorTTL.D()),
	}
	if err := s.db.CreateFactor(ctx, f); err != nil {
		return TOTPEnrollment{}, err
	}
	s.record(ctx, c, u.ID, "factor_added", "pending", "authenticator app "+label)
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

// ConfirmFactor activates a pending authenticator app with a code from it.
func (s *Service) ConfirmFactor(ctx context.Context, c Client, sess store.Session, u store.User, id, code string) (store.Factor, error) {
	f, err := s.db.FactorByID(ctx, u.ID, id, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return f, ErrFactorNotFound
	}
	if err != nil {
		return f, err
	}
	if f.Status == "active" {
		return f, ErrAlreadyConfirmed
	}
	if Sendable(f.Kind) {
		return s.confirmSent(ctx, c, sess, u, f, code)
	}
	if f.Kind != KindTOTP {
		return f, ErrFactorNotFound
	}
	if err := s.codeLimitsOpen(ctx, c, u.ID); err != nil {
		return f, err
	}
	key, err := s.keys.Open(f.Secret, "totp:"+f.ID)
	if err != nil {
		return f, fmt.Errorf("open totp secret: %w", err)
	}
	now := s.now()
	res := totp.Verify(key, code, now, s.totpParams(), 0)
	if !res.OK {
		s.codeFailed(ctx, c, u.ID, "confirm "+f.Label)
		e := &InvalidCodeError{AttemptsLeft: -1}
		if res.ClockOff {
			e.ClockOffset = res.Offset
		}
		return f, e
	}
	drift := res.Step - totp.Step(now, s.totpParams())
	if err := s.db.ActivateFactor(ctx, u.ID, f.ID, res.Step, drift, now); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return f, ErrFactorNotFound
		}
		return f, err
	}
	f.Status, f.ConfirmedAt, f.LastStep = "active", now, res.Step
	// A code from the app was just verified: this session holds it. (When
	// 2SV is on, adding the app needed a fresh step-up already.)
	if err := s.db.MarkStepUp(ctx, sess.ID, "second_factor", sess.AAL, now); err != nil {
		return f, err
	}
	if u.DefaultFactorID == "" && f.Role == RolePrimary {
		s.db.SetDefaultFactor(ctx, u.ID, f.ID)
	}
	s.record(ctx, c, u.ID, "factor_added", "success", "authenticator app "+f.Label)
	if u.TwoStepEnabled {
		s.notify(u, "A sign-in method was added", "An authenticator app ("+f.Label+") was added to the two-step verification of "+u.Email+".")
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
		Status: "active", CreatedAt: now, ConfirmedAt: now}
	if err := s.db.ReplaceRecoveryCodes(ctx, f, hashes); err != nil {
		return store.Factor{}, nil, err
	}
	s.record(ctx, c, u.ID, "recovery_codes", "success", "new set of recovery codes")
	if u.TwoStepEnabled {
		s.notify(u, "New recovery codes", "A new set of recovery codes was made for "+u.Email+". The earlier codes no longer work.")
	}
	return f, codes, nil
}

// UpdateFactor renames a method or changes its role.
func (s *Service) UpdateFactor(ctx context.Context, c Client, sess store.Session, u store.User, id string, label, role *string) (store.Factor, error) {
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
	if role != nil {
		if *role != RolePrimary && *role != RoleBackup {
			return f, ErrInvalidRole
		}
		if f.Kind == KindRecovery && *role == RolePrimary {
			return f, ErrInvalidRole
		}
		if *role == RoleBackup && f.Role == RolePrimary && f.Status == "active" {
			// Demoting the default hands its place to another method that
			// can sign in; with none, there is nothing to demote it for.
			methods, err := s.Methods(ctx, u.ID)
			if err != nil {
				return f, err
			}
			next := ""
			for _, m := range methods {
				if m.ID != f.ID && m.Kind != KindRecovery {
					next = m.ID
					break
				}
			}
			if next == "" {
				return f, ErrInvalidRole
			}
			if err := s.db.UpdateFactor(ctx, u.ID, next, labelOf(methods, next), RolePrimary); err != nil {
				return f, err
			}
			if err := s.db.SetDefaultFactor(ctx, u.ID, next); err != nil {
				return f, err
			}
		}
		f.Role = *role
	}
	if err := s.db.UpdateFactor(ctx, u.ID, f.ID, f.Label, f.Role); err != nil {
		return f, err
	}
	if role != nil && *role == RolePrimary && f.Status == "active" {
		s.db.SetDefaultFactor(ctx, u.ID, f.ID)
	}
	s.record(ctx, c, u.ID, "factor_changed", "success", f.Label)
	return f, nil
}

// MakeDefault chooses the method the challenge asks for first.
func (s *Service) MakeDefault(ctx context.Context, c Client, sess store.Session, u store.User, id string) error {
	f, err := s.db.FactorByID(ctx, u.ID, id, s.now())
	if err != nil || f.Status != "active" || f.Kind == KindRecovery {
		return ErrFactorNotFound
	}
	role := RolePrimary
	_, err = s.UpdateFactor(ctx, c, sess, u, id, nil, &role)
	return err
}

// RemoveFactor deletes a method. With 2SV on, the last method that can
// sign in (recovery codes alone do not count as a method to keep) cannot
// be removed: the user turns 2SV off instead.
func (s *Service) RemoveFactor(ctx context.Context, c Client, sess store.Session, u store.User, id string) (warnNoBackup bool, err error) {
	f, err := s.db.FactorByID(ctx, u.ID, id, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return false, ErrFactorNotFound
	}
	if err != nil {
		return false, err
	}
	if f.Status == "pending" { // abandoning an unconfirmed app needs no step-up
		return false, s.db.DeleteFactor(ctx, u.ID, f.ID)
	}
	if err := s.RequireStepUp(ctx, sess, u); err != nil {
		return false, err
	}
	methods, err := s.Methods(ctx, u.ID)
	if err != nil {
		return false, err
	}
	var otherSignIn, otherBackup int
	for _, m := range methods {
		if m.ID == f.ID {
			continue
		}
		if m.Kind != KindRecovery {
			otherSignIn++
		}
		if m.Role == RoleBackup {
			otherBackup++
		}
	}
	if u.TwoStepEnabled && f.Kind != KindRecovery && otherSignIn == 0 {
		return false, ErrLastFactor
	}
	if err := s.db.DeleteFactor(ctx, u.ID, f.ID); err != nil {
		return false, err
	}
	if u.DefaultFactorID == f.ID {
		next := ""
		for _, m := range methods {
			if m.ID != f.ID && m.Kind != KindRecovery {
				next = m.ID
				break
			}
		}
		s.db.SetDefaultFactor(ctx, u.ID, next)
		if next != "" {
			s.db.UpdateFactor(ctx, u.ID, next, labelOf(methods, next), RolePrimary)
		}
	}
	s.record(ctx, c, u.ID, "factor_removed", "success", f.Label)
	if u.TwoStepEnabled {
		s.notify(u, "A sign-in method was removed", f.Label+" was removed from the two-step verification of "+u.Email+".")
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
	s.record(ctx, c, u.ID, "two_step_enabled", "success", "")
	s.notify(u, "Two-step verification is on", "Two-step verification was turned on for "+u.Email+". Signing in from a new browser now needs a code as well as the password.")
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
	s.record(ctx, c, u.ID, "two_step_disabled", "success", "all methods and remembered devices removed")
	s.notify(u, "Two-step verification is off", "Two-step verification was turned off for "+u.Email+". All its methods and remembered browsers were removed.")
	return nil
}

// Second-factor rate-limit keys: counted across all of a user's methods,
// apart from password failures.
func codeAccountKey(userID string) string      { return "code:acct:" + userID }
func codeAccountDailyKey(userID string) string { return "code:acct:day:" + userID }
func codeAddressKey(ip string) string          { return "code:ip:" + ip }

// codeLimitsOpen refuses while the account or address has spent its
// budget of wrong codes — even a correct code, so a lockout cannot be
// guessed through.
func (s *Service) codeLimitsOpen(ctx context.Context, c Client, userID string) error {
	for _, b := range s.codeBudgets(c, userID) {
		if err := s.limiter.Exhausted(ctx, b.key, b.budget); err != nil {
			var lim *ratelimit.Limited
			if errors.As(err, &lim) {
				s.record(ctx, c, userID, "second_factor", "locked", "")
			}
			return err
		}
	}
	return nil
}

// codeBudgets are the budgets of wrong codes a check draws on.
func (s *Service) codeBudgets(c Client, userID string) []sendBudget {
	l := s.cfg.Limits
	return []sendBudget{
		{key: codeAccountKey(userID), budget: l.CodePerAccount},
		{key: codeAccountDailyKey(userID), budget: l.CodePerAccountDaily},
		{key: codeAddressKey(c.IP), budget: l.CodePerAddress},
	}
}

// codeFailed counts a wrong code everywhere it counts.
func (s *Service) codeFailed(ctx context.Context, c Client, userID, detail string) {
	locked := false
	for _, b := range s.codeBudgets(c, userID) {
		if err := s.limiter.Spend(ctx, b.key, b.budget); err != nil {
			var lim *ratelimit.Limited
			if errors.As(err, &lim) {
				locked = true
			} else {
				s.log.Error("count code failure", "err", err)
			}
		}
	}
	s.record(ctx, c, userID, "second_factor", "failure", detail)
	if locked {
		s.record(ctx, c, userID, "second_factor", "lockout", "too many wrong codes")
	}
}

// checkCode verifies a code against one of the user's active methods,
// after the lockout check and with the replay guard. It returns nil or an
// *InvalidCodeError (or a limit error).
func (s *Service) checkCode(ctx context.Context, c Client, u store.User, f store.Factor, code string) error {
	if err := s.codeLimitsOpen(ctx, c, u.ID); err != nil {
		return err
	}
	now := s.now()
	switch f.Kind {
	case KindTOTP:
		key, err := s.keys.Open(f.Secret, "totp:"+f.ID)
		if err != nil {
			return fmt.Errorf("open totp secret: %w", err)
		}
		res := totp.Verify(key, code, now, s.totpParams(), f.LastStep)
		if res.OK {
			drift := res.Step - totp.Step(now, s.totpParams())
			fresh, err := s.db.AcceptStep(ctx, f.ID, res.Step, drift, now)
			if err != nil {
				return err
			}
			if fresh {
				return nil
			}
		}
		s.codeFailed(ctx, c, u.ID, f.Label)
		e := &InvalidCodeError{AttemptsLeft: -1}
		if res.ClockOff {
			e.ClockOffset = res.Offset
		}
		return e
	case KindSMS, KindVoice, KindEmail:
		ok, err := s.checkSentCode(ctx, f, code)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		s.codeFailed(ctx, c, u.ID, f.Label)
		return &InvalidCodeError{AttemptsLeft: -1}
	case KindRecovery:
		if n, ok := recovery.Normalize(code); ok {
			used, err := s.db.ConsumeRecoveryCode(ctx, f.ID, recovery.Hash(s.pepper, u.ID, n), now)
			if err != nil {
				return err
			}
			if used {
				left, _ := s.db.RecoveryCodesLeft(ctx, f.ID)
				s.record(ctx, c, u.ID, "recovery_code_used", "success", fmt.Sprintf("%d left", left))
				return nil
			}
		}
		s.codeFailed(ctx, c, u.ID, f.Label)
		return &InvalidCodeError{AttemptsLeft: -1}
	}
	return ErrFactorNotFound
}

// PendingTOTP shows a pending authenticator app again (the wizard page is
// reloaded, or a code was wrong).
func (s *Service) PendingTOTP(ctx context.Context, u store.User, id string) (TOTPEnrollment, error) {
	f, err := s.db.FactorByID(ctx, u.ID, id, s.now())
	if errors.Is(err, store.ErrNotFound) || (err == nil && (f.Status != "pending" || f.Kind != KindTOTP)) {
		return TOTPEnrollment{}, ErrFactorNotFound
	}
	if err != nil {
		return TOTPEnrollment{}, err
	}
	key, err := s.keys.Open(f.Secret, "totp:"+f.ID)
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

// confirmSent activates a pending phone or e-mail method with the code
// sent to it.
func (s *Service) confirmSent(ctx context.Context, c Client, sess store.Session, u store.User, f store.Factor, code string) (store.Factor, error) {
	if err := s.checkCode(ctx, c, u, f, code); err != nil {
		return f, err
	}
	now := s.now()
	if err := s.db.ActivateFactor(ctx, u.ID, f.ID, 0, 0, now); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return f, ErrFactorNotFound
		}
		return f, err
	}
	f.Status, f.ConfirmedAt = "active", now
	if err := s.db.MarkStepUp(ctx, sess.ID, "second_factor", sess.AAL, now); err != nil {
		return f, err
	}
	if u.DefaultFactorID == "" && f.Role == RolePrimary {
		s.db.SetDefaultFactor(ctx, u.ID, f.ID)
	}
	s.record(ctx, c, u.ID, "factor_added", "success", f.Label)
	if u.TwoStepEnabled {
		s.notify(u, "A sign-in method was added", f.Label+" was added to the two-step verification of "+u.Email+".")
	}
	return f, nil
}
