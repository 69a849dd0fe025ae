package account

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"twostep/internal/audit"
	"twostep/internal/factor"
	"twostep/internal/factor/totp"
	"twostep/internal/secret"
	"twostep/internal/store"
)

func (s *Service) totpParams() totp.Params {
	t := s.cfg.TwoStep
	return totp.Params{Digits: t.TOTPDigits, Period: t.TOTPPeriod, Algorithm: totp.Algorithm(t.TOTPAlgorithm), Skew: t.TOTPSkew}
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
