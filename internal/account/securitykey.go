package account

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"twostep/internal/audit"
	"twostep/internal/config"
	"twostep/internal/factor"
	"twostep/internal/method/securitykey"
	"twostep/internal/secret"
	"twostep/internal/signin"
	"twostep/internal/stepup"
	"twostep/internal/store"
)

// KindWebAuthn is a security key or passkey.
const KindWebAuthn = factor.WebAuthn

// Errors of security keys and passkeys.
var (
	// ErrInvalidCredential refuses a key's answer to a registration: it
	// does not prove the ceremony begun (wrong origin, challenge used or
	// expired, a key already registered on an account).
	ErrInvalidCredential = errors.New("account: the security key's answer was not accepted")
	// ErrKeyCloned refuses a key whose signature counter went backwards
	// (securitykey.ClonedError) until it is removed and added again.
	ErrKeyCloned = errors.New("account: this security key may have been copied and is turned off")
	// ErrPasskeysOff: the operator switched passkey sign-in off
	// (two_step.passkeys: false).
	ErrPasskeysOff = errors.New("account: signing in with a passkey is switched off here")
)

// passkeyBeginsPerAddress bounds the ceremonies a client address may
// begin signed out: each is a row kept for securitykey.CeremonyTTL. It is
// generous — an office behind one address signs in many people — and
// only there to stop a flood.
var passkeyBeginsPerAddress = config.Budget{Limit: 300, Window: config.Duration(10 * time.Minute)}

// KeyEnrollment is a security key being added: its pending factor and
// the creation options (PublicKeyCredentialCreationOptionsJSON) for
// navigator.credentials.create.
type KeyEnrollment struct {
	Factor    store.Factor
	PublicKey json.RawMessage
}

// registerOwner is what a registration ceremony is bound to: the session
// that added the pending key.
func registerOwner(sess store.Session) string { return "register:" + sess.ID }

// passkeyOwner is what a signed-out passkey ceremony is bound to: the
// browser's passkey cookie.
func passkeyOwner(token string) string { return "passkey:" + secret.Hash(token) }

// keysReady returns the security-key method, or ErrMethodNotAllowed when
// the relying party could not be set up from the configuration.
func (s *Service) keysReady() error {
	if s.webauthn == nil {
		return ErrMethodNotAllowed
	}
	return nil
}

// AddSecurityKey starts adding a security key (passkey false) or a passkey
// (a discoverable, user-verifying credential): a pending factor, and the
// options to create the credential with. Like every method it needs a
// fresh step-up, and is usable only once ConfirmSecurityKey checked the
// browser's answer.
func (s *Service) AddSecurityKey(ctx context.Context, c Client, sess store.Session, u store.User, label string, passkey bool) (KeyEnrollment, error) {
	if err := s.keysReady(); err != nil {
		return KeyEnrollment{}, err
	}
	if err := s.RequireStepUp(ctx, sess, u); err != nil {
		return KeyEnrollment{}, err
	}
	label = strings.TrimSpace(label)
	if label == "" {
		label = "Security key"
		if passkey {
			label = "Passkey"
		}
	}
	if !validLabel(label) {
		return KeyEnrollment{}, ErrInvalidLabel
	}
	methods, err := s.Methods(ctx, u.ID)
	if err != nil {
		return KeyEnrollment{}, err
	}
	role := RolePrimary
	for _, m := range methods {
		if m.Role == RolePrimary {
			role = RoleBackup
		}
	}
	now := s.now()
	f := store.Factor{ID: store.NewID(), UserID: u.ID, Kind: KindWebAuthn, Label: label, Role: role, Status: factor.Pending,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.TwoStep.PendingFactorTTL.D()), SessionID: sess.ID}
	if err := s.db.CreateFactor(ctx, f); err != nil {
		return KeyEnrollment{}, err
	}
	opts, err := s.webauthn.BeginRegistration(ctx, registerOwner(sess), u, f, passkey)
	if err != nil {
		return KeyEnrollment{}, err
	}
	s.record(ctx, c, u.ID, audit.FactorAdded, audit.Pending, "security key "+label)
	return KeyEnrollment{Factor: f, PublicKey: opts}, nil
}

// ConfirmSecurityKey activates pending key id with the browser's answer
// to its creation options (PublicKeyCredential JSON): the credential is
// stored, unique across accounts, with its flags. A wrong answer is
// ErrInvalidCredential; the options are single use, so the person adds
// the key again.
func (s *Service) ConfirmSecurityKey(ctx context.Context, c Client, sess store.Session, u store.User, id string, credential json.RawMessage) (store.Factor, error) {
	if err := s.keysReady(); err != nil {
		return store.Factor{}, err
	}
	f, err := s.factorFor(ctx, sess, u, id)
	if err != nil {
		return f, err
	}
	if f.Status == factor.Active {
		return f, ErrAlreadyConfirmed
	}
	if f.Kind != KindWebAuthn {
		return f, ErrFactorNotFound
	}
	reg, err := s.webauthn.FinishRegistration(ctx, registerOwner(sess), u, f, credential)
	if err == nil {
		err = s.db.ActivateWebAuthnFactor(ctx, f, reg.Credential, reg.AMR, s.now())
	}
	switch {
	case errors.Is(err, securitykey.ErrInvalid), errors.Is(err, store.ErrCredentialTaken):
		s.log.Info("security key not registered", "err", err)
		s.record(ctx, c, u.ID, audit.FactorAdded, audit.Failure, "security key "+f.Label)
		return f, ErrInvalidCredential
	case errors.Is(err, store.ErrNotFound):
		return f, ErrFactorNotFound
	case err != nil:
		return f, err
	}
	f.Status, f.ConfirmedAt, f.AMR = factor.Active, s.now(), reg.AMR
	if u.DefaultFactorID == "" && f.Role == RolePrimary {
		if err := s.db.SetDefaultFactor(ctx, u.ID, f.ID); err != nil {
			return f, err
		}
	}
	s.record(ctx, c, u.ID, audit.FactorAdded, audit.Success, "security key "+f.Label)
	if u.TwoStepEnabled {
		s.notify(ctx, u, audit.KeyAdded(u.Email, f.Label, reg.Credential.Discoverable))
	}
	return f, nil
}

// SecurityKeys are the credentials of the user's active keys, by factor
// id: whether each is a passkey, and backed up (synced).
func (s *Service) SecurityKeys(ctx context.Context, userID string) (map[string]store.WebAuthnCredential, error) {
	list, err := s.db.WebAuthnCredentials(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.WebAuthnCredential, len(list))
	for _, c := range list {
		out[c.FactorID] = c
	}
	return out, nil
}

// beginKey issues request options for the user's active key f, for a
// ceremony bound to owner.
func (s *Service) beginKey(ctx context.Context, owner string, u store.User, f store.Factor) (SendResult, error) {
	if err := s.keysReady(); err != nil {
		return SendResult{}, err
	}
	opts, err := s.webauthn.BeginAssertion(ctx, owner, u, f)
	if errors.Is(err, store.ErrNotFound) {
		return SendResult{}, ErrFactorNotFound
	}
	if err != nil {
		return SendResult{}, err
	}
	return SendResult{PublicKey: opts, ExpiresIn: securitykey.CeremonyTTL}, nil
}

// BeginSignInKey issues the request options for the security key
// methodID at the second step of the pending sign-in token.
func (s *Service) BeginSignInKey(ctx context.Context, token, methodID string) (SendResult, error) {
	ch, u, err := s.PendingChallenge(ctx, token)
	if err != nil {
		return SendResult{}, err
	}
	for _, m := range ch.Methods {
		if m.ID == methodID && m.Kind == KindWebAuthn {
			return s.beginKey(ctx, signin.PendingOwner(ch.ID), u, m)
		}
	}
	return SendResult{}, ErrFactorNotFound
}

// SendSignIn begins the second step with methodID: request options for a
// security key (BeginSignInKey), a code sent for the others
// (SendSignInCode).
func (s *Service) SendSignIn(ctx context.Context, c Client, token, methodID, channel string) (SendResult, error) {
	ch, _, err := s.PendingChallenge(ctx, token)
	if err != nil {
		return SendResult{}, err
	}
	for _, m := range ch.Methods {
		if m.ID == methodID && m.Kind == KindWebAuthn {
			return s.BeginSignInKey(ctx, token, methodID)
		}
	}
	return s.SendSignInCode(ctx, c, token, methodID, channel)
}

// VerifySignInKey finishes a pending sign-in with the browser's answer
// (PublicKeyCredential JSON) to the options of BeginSignInKey. A wrong
// answer counts against the budgets of wrong codes, like a wrong code.
func (s *Service) VerifySignInKey(ctx context.Context, c Client, token, methodID string, credential json.RawMessage, remember bool) (store.User, Issued, error) {
	if err := s.keysReady(); err != nil {
		return store.User{}, Issued{}, err
	}
	return s.signin.VerifySignInKey(ctx, c, token, methodID, credential, remember)
}

// SendStepUp begins a step-up with methodID: request options for a
// security key, bound to the session; a code sent for the others.
func (s *Service) SendStepUp(ctx context.Context, c Client, sess store.Session, u store.User, methodID, channel string) (SendResult, error) {
	f, err := s.activeFactor(ctx, u.ID, methodID)
	if err != nil {
		return SendResult{}, err
	}
	if f.Kind == KindWebAuthn {
		return s.beginKey(ctx, stepup.Owner(sess), u, f)
	}
	return s.SendStepUpCode(ctx, c, u, methodID, channel)
}

// StepUpKey re-verifies with a security key: the browser's answer to the
// options of SendStepUp.
func (s *Service) StepUpKey(ctx context.Context, c Client, sess store.Session, u store.User, methodID string, credential json.RawMessage) error {
	if err := s.keysReady(); err != nil {
		return err
	}
	return s.stepup.Key(ctx, c, sess, u, methodID, credential)
}

// keyRefused translates what a key's check refused: a key suspected of
// cloning is recorded, and its owner told, the first time.
func (s *Service) keyRefused(ctx context.Context, c Client, u store.User, f store.Factor, err error) error {
	var cl *securitykey.ClonedError
	if !errors.As(err, &cl) {
		return err
	}
	if cl.First {
		s.record(ctx, c, u.ID, audit.KeyCloned, audit.Failure, f.Label)
		s.notify(ctx, u, audit.KeyMayBeCloned(u.Email, f.Label, s.baseURL))
	}
	return ErrKeyCloned
}

// PasskeysAllowed reports whether passkeys may sign in alone here.
func (s *Service) PasskeysAllowed() bool { return s.cfg.TwoStep.Passkeys && s.webauthn != nil }

// BeginPasskeySignIn begins a passkey sign-in for a signed-out browser:
// request options with no allowed credentials (the browser offers the
// passkeys it holds for this site), and the token the browser keeps (in
// a cookie) to finish it: the ceremony is bound to that token.
func (s *Service) BeginPasskeySignIn(ctx context.Context, c Client) (token string, publicKey json.RawMessage, err error) {
	if !s.PasskeysAllowed() {
		return "", nil, ErrPasskeysOff
	}
	if err := s.limiter.Take(ctx, "passkey:ip:"+c.LimitAddr(), passkeyBeginsPerAddress); err != nil {
		s.throttled(ctx, c, "", audit.SignIn, err)
		return "", nil, err
	}
	token = secret.NewToken()
	opts, err := s.webauthn.BeginPasskey(ctx, passkeyOwner(token))
	if err != nil {
		return "", nil, err
	}
	return token, opts, nil
}

// FinishPasskeySignIn signs in with the browser's answer (PublicKeyCredential
// JSON) to the options of BeginPasskeySignIn, whose token the browser
// kept. A passkey that verified the person signs in with two steps; one
// that did not is a first step (signin.Service.SignInWithKey). An unknown
// passkey and a wrong answer are the same *InvalidCodeError, and count
// against the address's budget of wrong codes — a known key's wrong
// answer against its account's as well.
func (s *Service) FinishPasskeySignIn(ctx context.Context, c Client, token string, credential json.RawMessage, remember bool) (store.User, Issued, error) {
	if !s.PasskeysAllowed() {
		return store.User{}, Issued{}, ErrPasskeysOff
	}
	invalid := &InvalidCodeError{AttemptsLeft: -1, Credential: true}
	if !secret.WellFormedToken(token) {
		return store.User{}, Issued{}, invalid
	}
	use, err := s.webauthn.FinishPasskey(ctx, passkeyOwner(token), credential)
	var u store.User
	if use.UserID != "" {
		var uerr error
		if u, uerr = s.db.UserByID(ctx, use.UserID); uerr != nil {
			return u, Issued{}, uerr
		}
	}
	switch {
	case errors.Is(err, securitykey.ErrInvalid), errors.Is(err, securitykey.ErrUnknownCredential):
		s.passkeyWrong(ctx, c, u)
		return store.User{}, Issued{}, invalid
	case err != nil:
		if use.UserID != "" {
			f, ferr := s.db.FactorByID(ctx, u.ID, use.FactorID, s.now())
			if ferr == nil {
				err = s.keyRefused(ctx, c, u, f, err)
			}
		}
		return store.User{}, Issued{}, err
	}
	f, err := s.activeFactor(ctx, u.ID, use.FactorID)
	if err != nil {
		return u, Issued{}, err
	}
	known, err := s.knownBrowser(ctx, c, u.ID)
	if err != nil {
		return u, Issued{}, err
	}
	iss, err := s.signin.SignInWithKey(ctx, c, u, f, use.UserVerified, remember)
	if err != nil {
		return u, Issued{}, err
	}
	if use.UserVerified && !known {
		s.notify(ctx, u, audit.KeyUsedToSignIn(u.Email, f.Label, c.IP))
	}
	return u, iss, nil
}

// passkeyWrong counts a passkey answer that proved nothing: against the
// address's budget of wrong codes, and — when the key is known, u — its
// account's budgets as a wrong code would.
func (s *Service) passkeyWrong(ctx context.Context, c Client, u store.User) {
	if u.ID == "" {
		if err := s.limiter.Take(ctx, codeAddressKey(c.LimitAddr()), s.cfg.Limits.CodePerAddress); err != nil {
			s.throttled(ctx, c, "", audit.SecondFactor, err)
		}
		s.record(ctx, c, "", audit.SignIn, audit.Failure, "unknown passkey")
		return
	}
	known, err := s.knownBrowser(ctx, c, u.ID)
	if err != nil {
		s.log.Error("count a wrong passkey", "err", err)
		return
	}
	bs, err := s.reserveCode(ctx, c, u.ID, known)
	if err != nil {
		return // already spent: reserveCode recorded it
	}
	s.codeWrong(ctx, c, u, bs, "passkey")
}
