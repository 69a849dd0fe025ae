package admin

import (
	"context"
	"time"

	"twostep/internal/account"
	"twostep/internal/audit"
	"twostep/internal/store"
)

// List pages through accounts (store.ListUsers).
func (s *Users) List(ctx context.Context, f store.UserFilter) ([]store.UserSummary, error) {
	return s.db.ListUsers(ctx, f)
}

// Profile is what `twostep users show` prints: the account's state and
// recent activity — never a secret, code or hash.
type Profile struct {
	User        store.User
	Hold        store.Hold
	Requirement account.Requirement
	Methods     []store.Factor
	Sessions    []store.Session
	Devices     []store.Device
	// Browsers counts the browsers known to the account (signed in
	// before), remembered or not.
	Browsers int
	Events   []store.Event
}

// Show reads the account of email.
func (s *Users) Show(ctx context.Context, email string, events int) (Profile, error) {
	u, err := s.find(ctx, email)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{User: u}
	now := s.now()
	if p.Hold, err = s.db.UserHold(ctx, u.ID); err != nil {
		return p, err
	}
	if p.Requirement, err = s.acct.TwoStepRequirement(ctx, u); err != nil {
		return p, err
	}
	if p.Methods, err = s.db.Factors(ctx, u.ID, now); err != nil {
		return p, err
	}
	if p.Sessions, err = s.acct.Sessions(ctx, u.ID); err != nil {
		return p, err
	}
	if p.Devices, err = s.db.Devices(ctx, u.ID, now); err != nil {
		return p, err
	}
	browsers, err := s.db.KnownBrowsers(ctx, u.ID)
	if err != nil {
		return p, err
	}
	p.Browsers = len(browsers)
	p.Events, err = s.db.Events(ctx, u.ID, events)
	return p, err
}

// Export is everything twostep keeps about one person, for a GDPR access
// request. It leaves out, on purpose, what is a secret or only a means
// to check one (NotIncluded says so in the document itself).
type Export struct {
	ExportedAt  time.Time        `json:"exported_at"`
	NotIncluded []string         `json:"not_included"`
	Account     exportUser       `json:"account"`
	Methods     []exportFac      `json:"two_step_methods"`
	Sessions    []exportSess     `json:"sessions"`
	Devices     []exportDev      `json:"remembered_browsers"`
	Browsers    []exportBrowser  `json:"known_browsers"`
	Consents    []exportConsent  `json:"apps_allowed"`
	AppTokens   []exportAppToken `json:"app_tokens"`
	Events      []store.Event    `json:"security_events"`
	Mail        []exportMail     `json:"messages"`
	Deliveries  []exportDelivery `json:"code_deliveries"`
}

// notIncluded lists what an export leaves out and why.
var notIncluded = []string{
	"password hash (a means to check the password, not the password)",
	"authenticator-app keys and security-key public keys (secrets or credentials, sealed or bound to the device)",
	"recovery codes and codes sent by text, call or e-mail (only hashes are kept, and only until used or expired)",
	"session, remembered-browser, link and app-token values (only hashes are kept)",
	"the texts of queued e-mails (they hold sign-in and reset links); their kinds, recipients and times are included",
	"the full phone numbers and addresses of two-step methods (kept encrypted; shown masked as on the account page)",
}

type exportUser struct {
	ID                      string    `json:"id"`
	Email                   string    `json:"email"`
	EmailVerifiedAt         time.Time `json:"email_verified_at,omitzero"`
	CreatedAt               time.Time `json:"created_at"`
	PasswordChangedAt       time.Time `json:"password_changed_at"`
	TwoStepEnabled          bool      `json:"two_step_enabled"`
	DisabledAt              time.Time `json:"disabled_at,omitzero"`
	DisabledReason          string    `json:"disabled_reason,omitempty"`
	PasswordResetRequired   bool      `json:"password_reset_required"`
	PasswordResetDemandedAt time.Time `json:"password_reset_demanded_at,omitzero"`
}

type exportFac struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Label       string    `json:"label"`
	Role        string    `json:"role"`
	Status      string    `json:"status"`
	Recipient   string    `json:"recipient_masked,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ConfirmedAt time.Time `json:"confirmed_at,omitzero"`
	LastUsedAt  time.Time `json:"last_used_at,omitzero"`
}

type exportSess struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	RevokedAt  time.Time `json:"ended_at,omitzero"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	AAL        int       `json:"aal"`
	AMR        []string  `json:"amr"`
}

type exportDev struct {
	ID         string    `json:"id"`
	Label      string    `json:"label"`
	UserAgent  string    `json:"user_agent"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	LastIP     string    `json:"last_ip"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// exportBrowser is a browser that signed in to the account before (its
// password and code budgets are its own).
type exportBrowser struct {
	CreatedAt  time.Time `json:"first_seen_at"`
	LastUsedAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"forgotten_after"`
}

type exportConsent struct {
	ClientID  string    `json:"client_id"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type exportAppToken struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	ClientID  string    `json:"client_id"`
	Scopes    string    `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

type exportMail struct {
	Kind      string    `json:"kind"`
	Channel   string    `json:"channel"`
	To        string    `json:"to"`
	CreatedAt time.Time `json:"created_at"`
	SentAt    time.Time `json:"sent_at,omitzero"`
	FailedAt  time.Time `json:"failed_at,omitzero"`
}

type exportDelivery struct {
	Channel   string    `json:"channel"`
	Provider  string    `json:"provider"`
	Recipient string    `json:"recipient_masked"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

// maxExportEvents bounds the events of one export: years of activity.
const maxExportEvents = 100_000

// Export gathers everything kept about the person, and records that it
// was exported (kind admin_export; the record is part of the export).
func (s *Users) Export(ctx context.Context, email, reason string) (Export, error) {
	u, err := s.find(ctx, email)
	if err != nil {
		return Export{}, err
	}
	if err := s.db.AddEvent(ctx, s.event(u.ID, audit.AdminExport, reason)); err != nil {
		return Export{}, err
	}
	now := s.now()
	x := Export{ExportedAt: now, NotIncluded: notIncluded}
	h, err := s.db.UserHold(ctx, u.ID)
	if err != nil {
		return x, err
	}
	x.Account = exportUser{ID: u.ID, Email: u.Email, EmailVerifiedAt: u.EmailVerifiedAt, CreatedAt: u.CreatedAt, PasswordChangedAt: u.PasswordChangedAt,
		TwoStepEnabled: u.TwoStepEnabled, DisabledAt: h.DisabledAt, DisabledReason: h.DisabledReason,
		PasswordResetRequired: h.ResetRequired(), PasswordResetDemandedAt: h.ResetRequiredAt}
	methods, err := s.db.Factors(ctx, u.ID, now)
	if err != nil {
		return x, err
	}
	x.Methods = []exportFac{}
	for _, f := range methods {
		x.Methods = append(x.Methods, exportFac{ID: f.ID, Kind: string(f.Kind), Label: f.Label, Role: string(f.Role), Status: string(f.Status),
			Recipient: f.Masked, CreatedAt: f.CreatedAt, ConfirmedAt: f.ConfirmedAt, LastUsedAt: f.LastUsedAt})
	}
	sessions, err := s.db.UserSessions(ctx, u.ID)
	if err != nil {
		return x, err
	}
	x.Sessions = []exportSess{}
	for _, se := range sessions {
		x.Sessions = append(x.Sessions, exportSess{ID: se.ID, CreatedAt: se.CreatedAt, LastSeenAt: se.LastSeenAt, ExpiresAt: se.ExpiresAt,
			RevokedAt: se.RevokedAt, IP: se.IP, UserAgent: se.UserAgent, AAL: se.AAL, AMR: nonNilStrings(se.AMR)})
	}
	devices, err := s.db.Devices(ctx, u.ID, now)
	if err != nil {
		return x, err
	}
	x.Devices = []exportDev{}
	for _, d := range devices {
		x.Devices = append(x.Devices, exportDev{ID: d.ID, Label: d.Label, UserAgent: d.UserAgent, CreatedAt: d.CreatedAt, LastUsedAt: d.LastUsedAt, LastIP: d.LastIP, ExpiresAt: d.ExpiresAt})
	}
	browsers, err := s.db.KnownBrowsers(ctx, u.ID)
	if err != nil {
		return x, err
	}
	x.Browsers = []exportBrowser{}
	for _, b := range browsers {
		x.Browsers = append(x.Browsers, exportBrowser(b))
	}
	consents, err := s.db.Consents(ctx, u.ID)
	if err != nil {
		return x, err
	}
	x.Consents = []exportConsent{}
	for _, c := range consents {
		x.Consents = append(x.Consents, exportConsent{ClientID: c.ClientID, Scopes: nonNilStrings(c.Scopes), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt})
	}
	tokens, err := s.db.UserAppTokens(ctx, u.ID)
	if err != nil {
		return x, err
	}
	x.AppTokens = []exportAppToken{}
	for _, t := range tokens {
		x.AppTokens = append(x.AppTokens, exportAppToken{ID: t.ID, Kind: t.Kind, ClientID: t.ClientID, Scopes: t.Scopes, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt})
	}
	if x.Events, err = s.db.Events(ctx, u.ID, maxExportEvents); err != nil {
		return x, err
	}
	mail, err := s.db.UserMail(ctx, u.ID)
	if err != nil {
		return x, err
	}
	x.Mail = []exportMail{}
	for _, m := range mail {
		x.Mail = append(x.Mail, exportMail{Kind: m.Kind, Channel: m.Channel, To: m.To, CreatedAt: m.CreatedAt, SentAt: m.SentAt, FailedAt: m.FailedAt})
	}
	deliveries, err := s.db.UserDeliveries(ctx, u.ID)
	if err != nil {
		return x, err
	}
	x.Deliveries = []exportDelivery{}
	for _, d := range deliveries {
		x.Deliveries = append(x.Deliveries, exportDelivery{Channel: d.Channel, Provider: d.Provider, Recipient: d.Recipient, Status: d.Status, CreatedAt: d.CreatedAt})
	}
	return x, nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
