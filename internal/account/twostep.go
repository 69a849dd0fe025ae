package account

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"unicode/utf8"

	"twostep/internal/audit"
	"twostep/internal/factor"
	"twostep/internal/factor/recovery"
	"twostep/internal/method"
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
	if err := s.checkCode(ctx, c, u, f, method.Response{Code: code}); err != nil {
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

// RememberThisBrowser trusts the asking browser for the user (the last
// step of the wizard offers it).
func (s *Service) RememberThisBrowser(ctx context.Context, c Client, u store.User) (string, error) {
	return s.rememberDevice(ctx, c, u)
}
