// Package securitykey is the method of security keys and passkeys
// (WebAuthn, through github.com/go-webauthn/webauthn): registering a key
// as a pending factor is confirmed, and signing in or stepping up
// answered, with a ceremony — options begun here and kept server-side,
// the browser's signed answer checked against them once.
//
// A ceremony is found by its challenge, which the client's signed
// clientDataJSON carries, and is bound to its owner (the pending sign-in,
// the session or the signed-out browser it was begun for): a replayed
// answer, or one for another owner's ceremony, finds nothing to consume.
// The library checks the origin, the relying-party id, the signature,
// user presence and — where the ceremony asked for it — user
// verification; this package adds the stored credential, its counter and
// the clone mark.
package securitykey

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"twostep/internal/config"
	"twostep/internal/factor"
	"twostep/internal/method"
	"twostep/internal/store"
)

// The purposes of ceremonies.
const (
	Register = "register" // adding a key: an attestation
	Assert   = "assert"   // a known user's key: sign-in second step, step-up
	Passkey  = "passkey"  // a passkey sign-in, user unknown until the answer
)

// CeremonyTTL is how long a ceremony may be finished after it began.
const CeremonyTTL = 5 * time.Minute

// Errors of the method.
var (
	// ErrInvalid is an answer that does not prove what was asked: it
	// does not parse, its challenge is unknown, used, expired or another
	// owner's, or its origin, relying party, signature or flags are
	// wrong.
	ErrInvalid = errors.New("securitykey: the security key's answer is not valid")
	// ErrUnknownCredential is a passkey no account has.
	ErrUnknownCredential = errors.New("securitykey: unknown credential")
)

// ClonedError refuses a key suspected of having been copied: its
// signature counter went backwards. First is set for the answer that
// revealed it (the one to record and tell the owner about).
type ClonedError struct {
	FactorID, UserID string
	First            bool
}

func (e *ClonedError) Error() string { return "securitykey: the key may have been cloned" }

// Store is what the method needs from the database.
type Store interface {
	CreateCeremony(ctx context.Context, c store.Ceremony) error
	ConsumeCeremony(ctx context.Context, challengeHash, purpose, owner string, now time.Time) (store.Ceremony, error)
	WebAuthnCredentials(ctx context.Context, userID string) ([]store.WebAuthnCredential, error)
	WebAuthnCredentialByID(ctx context.Context, credentialID string) (store.WebAuthnCredential, error)
	UseWebAuthnCredential(ctx context.Context, factorID string, signCount uint32, userVerified, backupState bool, now time.Time) error
	MarkWebAuthnCloned(ctx context.Context, factorID string) (bool, error)
}

// RP is the relying party: its id (a host name), its name as shown by
// the browser, and the origins answers may come from.
type RP struct {
	ID      string
	Name    string
	Origins []string
}

// RelyingParty is the relying party of a configuration: the host of
// server.public_url (localhost when that is unset or an address, which
// browsers refuse as an id), its origin, and the origin of every exact
// access-control domain under that host (apps on subdomains may run the
// ceremony themselves).
func RelyingParty(cfg config.Config) RP {
	base := cfg.BaseURL()
	u, err := url.Parse(base)
	host := ""
	if err == nil {
		host = u.Hostname()
	}
	origins := []string{}
	if host == "" || net.ParseIP(host) != nil {
		port := ""
		if u != nil {
			port = u.Port()
		}
		host = "localhost"
		o := "http://localhost"
		if port != "" {
			o += ":" + port
		}
		origins = append(origins, o)
	} else {
		origins = append(origins, u.Scheme+"://"+u.Host)
	}
	for _, r := range cfg.AccessControl.Rules {
		for _, d := range r.Domain {
			d = strings.ToLower(strings.TrimSpace(d))
			if d == "" || strings.Contains(d, "*") || d == host || !strings.HasSuffix(d, "."+host) {
				continue
			}
			if o := "https://" + d; !contains(origins, o) {
				origins = append(origins, o)
			}
		}
	}
	return RP{ID: host, Name: cfg.Server.SiteName, Origins: origins}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Method registers and verifies security keys and passkeys.
type Method struct {
	method.NothingToSend // nothing is sent: BeginAssertion issues options
	st                   Store
	wa                   *webauthn.WebAuthn
	now                  func() time.Time
}

var _ method.Method = (*Method)(nil)

// New returns the method for the relying party rp.
func New(st Store, rp RP, now func() time.Time) (*Method, error) {
	wa, err := webauthn.New(&webauthn.Config{
		RPID: rp.ID, RPDisplayName: rp.Name, RPOrigins: rp.Origins,
		// No attestation: which make of key someone uses is theirs to
		// know, and nothing here depends on it.
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: CeremonyTTL, TimeoutUVD: CeremonyTTL},
			Registration: webauthn.TimeoutConfig{Timeout: CeremonyTTL, TimeoutUVD: CeremonyTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("securitykey: %w", err)
	}
	return &Method{st: st, wa: wa, now: now}, nil
}

// user is a person as the library sees them: an opaque handle (the user
// id, never the address) and their credentials.
type user struct {
	id, name string
	creds    []webauthn.Credential
}

func (u user) WebAuthnID() []byte                         { return []byte(u.id) }
func (u user) WebAuthnName() string                       { return u.name }
func (u user) WebAuthnDisplayName() string                { return u.name }
func (u user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(s string) []byte {
	b, _ := base64.RawURLEncoding.DecodeString(s)
	return b
}

// libraryCredential is a stored credential as the library takes it.
func libraryCredential(c store.WebAuthnCredential) webauthn.Credential {
	var transports []protocol.AuthenticatorTransport
	for _, t := range strings.Split(c.Transports, ",") {
		if t != "" {
			transports = append(transports, protocol.AuthenticatorTransport(t))
		}
	}
	return webauthn.Credential{
		ID: unb64(c.CredentialID), PublicKey: unb64(c.PublicKey), AttestationType: c.AttestationType, Transport: transports,
		Flags: webauthn.CredentialFlags{UserPresent: c.UserPresent, UserVerified: c.UserVerified, BackupEligible: c.BackupEligible, BackupState: c.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: unb64(c.AAGUID), SignCount: c.SignCount,
			Attachment: protocol.AuthenticatorAttachment(c.Attachment)},
	}
}

// challengeHash is how a ceremony is found: the SHA-256 of its challenge
// as the client data carries it (base64url).
func challengeHash(challenge string) string {
	h := sha256.Sum256([]byte("webauthn-challenge\x00" + challenge))
	return hex.EncodeToString(h[:])
}

// begin stores the ceremony of session data sd and returns options as
// JSON.
func (m *Method) begin(ctx context.Context, purpose, owner, userID, factorID string, sd *webauthn.SessionData, options any) (json.RawMessage, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("securitykey: %w", err)
	}
	now := m.now()
	err = m.st.CreateCeremony(ctx, store.Ceremony{ID: store.NewID(), ChallengeHash: challengeHash(sd.Challenge), Purpose: purpose, Owner: owner,
		UserID: userID, FactorID: factorID, SessionData: string(data), CreatedAt: now, ExpiresAt: now.Add(CeremonyTTL)})
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(options)
	if err != nil {
		return nil, fmt.Errorf("securitykey: %w", err)
	}
	return out, nil
}

// consume finds and uses up the ceremony the answer's challenge names.
func (m *Method) consume(ctx context.Context, challenge, purpose, owner string) (store.Ceremony, webauthn.SessionData, error) {
	var sd webauthn.SessionData
	c, err := m.st.ConsumeCeremony(ctx, challengeHash(challenge), purpose, owner, m.now())
	if errors.Is(err, store.ErrNotFound) {
		return c, sd, ErrInvalid
	}
	if err != nil {
		return c, sd, err
	}
	if err := json.Unmarshal([]byte(c.SessionData), &sd); err != nil {
		return c, sd, fmt.Errorf("securitykey: stored ceremony: %w", err)
	}
	// Expiry is the stored ceremony's, on the injected clock.
	sd.Expires = time.Time{}
	return c, sd, nil
}

// BeginRegistration begins adding pending factor f of u: creation options
// (PublicKeyCredentialCreationOptionsJSON) for the ceremony, bound to
// owner. A passkey must be discoverable and verify the person; a security
// key need only show they are present. The keys u has already are
// excluded, so a browser does not register one twice.
func (m *Method) BeginRegistration(ctx context.Context, owner string, u store.User, f store.Factor, passkey bool) (json.RawMessage, error) {
	have, err := m.st.WebAuthnCredentials(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range have {
		lc := libraryCredential(c)
		exclude = append(exclude, lc.Descriptor())
	}
	sel := protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementDiscouraged, UserVerification: protocol.VerificationDiscouraged}
	if passkey {
		yes := true
		sel = protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: &yes, UserVerification: protocol.VerificationRequired}
	}
	creation, sd, err := m.wa.BeginRegistration(user{id: u.ID, name: u.Email}, webauthn.WithAuthenticatorSelection(sel), webauthn.WithExclusions(exclude),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
	if err != nil {
		return nil, fmt.Errorf("securitykey: begin registration: %w", err)
	}
	return m.begin(ctx, Register, owner, u.ID, f.ID, sd, creation.Response)
}

// Registered is a key's credential proved by its attestation, not yet
// stored, and what a success with it proves (AMR).
type Registered struct {
	Credential store.WebAuthnCredential
	AMR        string
}

// FinishRegistration checks the attestation raw (PublicKeyCredential
// JSON) against the registration ceremony of owner for pending factor f.
func (m *Method) FinishRegistration(ctx context.Context, owner string, u store.User, f store.Factor, raw json.RawMessage) (Registered, error) {
	parsed, err := ParseAttestation(raw)
	if err != nil {
		return Registered{}, ErrInvalid
	}
	c, sd, err := m.consume(ctx, parsed.Response.CollectedClientData.Challenge, Register, owner)
	if err != nil {
		return Registered{}, err
	}
	if c.FactorID != f.ID || c.UserID != u.ID {
		return Registered{}, ErrInvalid
	}
	cred, err := m.wa.CreateCredential(user{id: u.ID, name: u.Email}, sd, parsed)
	if err != nil {
		return Registered{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var transports []string
	for _, t := range cred.Transport {
		transports = append(transports, string(t))
	}
	r := Registered{Credential: store.WebAuthnCredential{
		FactorID: f.ID, UserID: u.ID, CredentialID: b64(cred.ID), PublicKey: b64(cred.PublicKey), SignCount: cred.Authenticator.SignCount,
		UserPresent: cred.Flags.UserPresent, UserVerified: cred.Flags.UserVerified, BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
		Discoverable: sd.UserVerification == protocol.VerificationRequired, Transports: strings.Join(transports, ","), AAGUID: b64(cred.Authenticator.AAGUID),
		AttestationType: cred.AttestationType, Attachment: string(cred.Authenticator.Attachment),
	}, AMR: AMRHardware}
	if cred.Flags.BackupEligible {
		r.AMR = AMRSoftware
	}
	return r, nil
}

// The amr values (RFC 8176) of keys. A key that may be synced to other
// devices (backup eligible: a passkey in a cloud keychain) is a
// software-secured key; one that never leaves its device is a hardware
// key.
const (
	AMRHardware = "hwk"
	AMRSoftware = "swk"
	// AMRUser is a person verified by the key itself (PIN, biometrics).
	AMRUser = "user"
)

// BeginAssertion begins a known user's ceremony with active factor f
// (a sign-in's second step, a step-up), bound to owner: request options
// (PublicKeyCredentialRequestOptionsJSON) allowing f's key only.
func (m *Method) BeginAssertion(ctx context.Context, owner string, u store.User, f store.Factor) (json.RawMessage, error) {
	c, err := m.credentialOf(ctx, f)
	if err != nil {
		return nil, err
	}
	lu := user{id: u.ID, name: u.Email, creds: []webauthn.Credential{libraryCredential(c)}}
	assertion, sd, err := m.wa.BeginLogin(lu, webauthn.WithUserVerification(protocol.VerificationDiscouraged))
	if err != nil {
		return nil, fmt.Errorf("securitykey: begin assertion: %w", err)
	}
	return m.begin(ctx, Assert, owner, u.ID, f.ID, sd, assertion.Response)
}

// credentialOf is the stored credential of active factor f.
func (m *Method) credentialOf(ctx context.Context, f store.Factor) (store.WebAuthnCredential, error) {
	all, err := m.st.WebAuthnCredentials(ctx, f.UserID)
	if err != nil {
		return store.WebAuthnCredential{}, err
	}
	for _, c := range all {
		if c.FactorID == f.ID {
			return c, nil
		}
	}
	return store.WebAuthnCredential{}, store.ErrNotFound
}

// Verify checks the assertion resp.Credential against the ceremony begun
// for resp.Owner with f. A wrong answer is a Result that is not OK, like
// a wrong code; a key suspected of cloning is a *ClonedError.
func (m *Method) Verify(ctx context.Context, f store.Factor, resp method.Response) (method.Result, error) {
	if f.Kind != factor.WebAuthn || f.Status != factor.Active {
		return method.Result{}, nil
	}
	parsed, err := ParseAssertion(resp.Credential)
	if err != nil {
		return method.Result{}, nil
	}
	c, sd, err := m.consume(ctx, parsed.Response.CollectedClientData.Challenge, Assert, resp.Owner)
	if errors.Is(err, ErrInvalid) {
		return method.Result{}, nil
	}
	if err != nil {
		return method.Result{}, err
	}
	if c.FactorID != f.ID || c.UserID != f.UserID {
		return method.Result{}, nil
	}
	stored, err := m.credentialOf(ctx, f)
	if errors.Is(err, store.ErrNotFound) {
		return method.Result{}, nil
	}
	if err != nil {
		return method.Result{}, err
	}
	uv, err := m.check(ctx, stored, sd, parsed, func(h webauthn.DiscoverableUserHandler) (webauthn.Credential, error) {
		cred, err := m.wa.ValidateLogin(user{id: stored.UserID, creds: []webauthn.Credential{libraryCredential(stored)}}, sd, parsed)
		if err != nil {
			return webauthn.Credential{}, err
		}
		return *cred, nil
	})
	if errors.Is(err, ErrInvalid) {
		return method.Result{}, nil
	}
	if err != nil {
		return method.Result{}, err
	}
	return method.Result{OK: true, UserVerified: uv}, nil
}

// check runs validate and keeps what it found: the new counter and
// backup state, or the clone mark when the counter went backwards. It
// reports whether the person was verified.
func (m *Method) check(ctx context.Context, stored store.WebAuthnCredential, sd webauthn.SessionData, parsed *protocol.ParsedCredentialAssertionData,
	validate func(webauthn.DiscoverableUserHandler) (webauthn.Credential, error)) (bool, error) {
	if stored.CloneSuspected {
		return false, &ClonedError{FactorID: stored.FactorID, UserID: stored.UserID}
	}
	cred, err := validate(nil)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if cred.Authenticator.CloneWarning {
		first, err := m.st.MarkWebAuthnCloned(ctx, stored.FactorID)
		if err != nil {
			return false, err
		}
		return false, &ClonedError{FactorID: stored.FactorID, UserID: stored.UserID, First: first}
	}
	flags := parsed.Response.AuthenticatorData.Flags
	err = m.st.UseWebAuthnCredential(ctx, stored.FactorID, cred.Authenticator.SignCount, flags.HasUserVerified(), flags.HasBackupState(), m.now())
	if errors.Is(err, store.ErrNotFound) { // marked cloned meanwhile
		return false, &ClonedError{FactorID: stored.FactorID, UserID: stored.UserID}
	}
	if err != nil {
		return false, err
	}
	return flags.HasUserVerified(), nil
}

// AMR: the key's own ("hwk" or "swk", fixed when it was confirmed).
func (m *Method) AMR(f store.Factor) []string {
	if f.AMR == "" {
		return []string{AMRHardware}
	}
	return []string{f.AMR}
}

// BeginPasskey begins a passkey sign-in for a browser not yet known to be
// anyone's (owner): request options with no allowed credentials, so the
// browser offers the passkeys it holds for this site. User verification
// is preferred: with it, the passkey alone is two steps.
func (m *Method) BeginPasskey(ctx context.Context, owner string) (json.RawMessage, error) {
	assertion, sd, err := m.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, fmt.Errorf("securitykey: begin passkey: %w", err)
	}
	opts := assertion.Response
	out, err := m.begin(ctx, Passkey, owner, "", "", sd, struct {
		protocol.PublicKeyCredentialRequestOptions
		AllowCredentials []protocol.CredentialDescriptor `json:"allowCredentials"`
	}{opts, []protocol.CredentialDescriptor{}})
	return out, err
}

// PasskeyUse is a passkey sign-in's proof: whose key, and whether it
// verified the person.
type PasskeyUse struct {
	UserID, FactorID string
	UserVerified     bool
}

// FinishPasskey checks a passkey assertion against the ceremony of owner.
// An unknown credential is ErrUnknownCredential, anything else wrong
// ErrInvalid (or a *ClonedError), with the key's user and factor when the
// credential is known (for the budgets; callers answer all alike).
func (m *Method) FinishPasskey(ctx context.Context, owner string, raw json.RawMessage) (PasskeyUse, error) {
	parsed, err := ParseAssertion(raw)
	if err != nil {
		return PasskeyUse{}, ErrInvalid
	}
	_, sd, err := m.consume(ctx, parsed.Response.CollectedClientData.Challenge, Passkey, owner)
	if err != nil {
		return PasskeyUse{}, err
	}
	stored, err := m.st.WebAuthnCredentialByID(ctx, b64(parsed.RawID))
	if errors.Is(err, store.ErrNotFound) {
		return PasskeyUse{}, ErrUnknownCredential
	}
	if err != nil {
		return PasskeyUse{}, err
	}
	known := PasskeyUse{UserID: stored.UserID, FactorID: stored.FactorID}
	uv, err := m.check(ctx, stored, sd, parsed, func(webauthn.DiscoverableUserHandler) (webauthn.Credential, error) {
		_, cred, err := m.wa.ValidatePasskeyLogin(func(rawID, handle []byte) (webauthn.User, error) {
			if string(handle) != stored.UserID {
				return nil, ErrUnknownCredential
			}
			return user{id: stored.UserID, creds: []webauthn.Credential{libraryCredential(stored)}}, nil
		}, sd, parsed)
		if err != nil {
			return webauthn.Credential{}, err
		}
		return *cred, nil
	})
	if err != nil {
		return known, err
	}
	known.UserVerified = uv
	return known, nil
}

// maxCredential bounds the client's credential JSON: a real one is a few
// hundred bytes (the API's body limit is 64 KiB).
const maxCredential = 16 << 10

// ParseAssertion parses the browser's answer to a request
// (PublicKeyCredential JSON of navigator.credentials.get, as toJSON()
// writes it).
func ParseAssertion(raw []byte) (*protocol.ParsedCredentialAssertionData, error) {
	if len(raw) == 0 || len(raw) > maxCredential {
		return nil, ErrInvalid
	}
	p, err := protocol.ParseCredentialRequestResponseBytes(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return p, nil
}

// ParseAttestation parses the browser's answer to a creation
// (PublicKeyCredential JSON of navigator.credentials.create).
func ParseAttestation(raw []byte) (*protocol.ParsedCredentialCreationData, error) {
	if len(raw) == 0 || len(raw) > maxCredential {
		return nil, ErrInvalid
	}
	p, err := protocol.ParseCredentialCreationResponseBytes(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return p, nil
}
