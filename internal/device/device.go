// Package device is remembered devices: browsers a user trusted to skip
// the second step, each holding a random token of its own (stored hashed,
// one per account, so people sharing a browser each keep their own), and
// how they are listed, used and forgotten.
package device

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"twostep/internal/audit"
	"twostep/internal/secret"
	"twostep/internal/store"
	"twostep/internal/text"
)

// ErrNotFound is returned for a device the user does not have.
var ErrNotFound = errors.New("device: no such remembered browser")

// Store keeps the remembered devices.
type Store interface {
	CreateDevice(ctx context.Context, d store.Device) error
	DeviceByTokenHash(ctx context.Context, userID, hash string, now time.Time) (store.Device, error)
	UseDevice(ctx context.Context, id, ip string, now, expires time.Time) error
	Devices(ctx context.Context, userID string, now time.Time) ([]store.Device, error)
	DeleteDevice(ctx context.Context, userID, id string) error
	DeleteDevices(ctx context.Context, userID string) (int64, error)
}

// Options wires a Service.
type Options struct {
	DB Store
	// Lifetime is how long a device stays remembered after its last use;
	// MaxLifetime how long after it was first remembered at most.
	Lifetime, MaxLifetime time.Duration
	// Audit records the events and queues the notices.
	Audit *audit.Recorder
	Now   func() time.Time
	Log   *slog.Logger
}

// Service remembers, finds and forgets devices.
type Service struct {
	db                    Store
	lifetime, maxLifetime time.Duration
	audit                 *audit.Recorder
	now                   func() time.Time
	log                   *slog.Logger
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Service{db: o.DB, lifetime: o.Lifetime, maxLifetime: o.MaxLifetime, audit: o.Audit, now: o.Now, log: o.Log}
}

// maxUserAgent is the most of a User-Agent header a device keeps.
const maxUserAgent = 512

// New is a remembered device for the browser c and the user, not yet
// stored: a new random token, stored hashed. It returns the token for the
// browser's cookie.
func (s *Service) New(c audit.Client, userID string) (store.Device, string) {
	now := s.now()
	token := secret.NewToken()
	return store.Device{
		ID: store.NewID(), UserID: userID, TokenHash: secret.Hash(token), Label: DescribeAgent(c.UserAgent),
		UserAgent: text.Truncate(c.UserAgent, maxUserAgent), CreatedAt: now, LastUsedAt: now, LastIP: c.IP,
		ExpiresAt: now.Add(s.lifetime), MaxExpiresAt: now.Add(s.maxLifetime),
	}, token
}

// Remember trusts the browser c for u outside a sign-in (the wizard's last
// step offers it), and tells u. It returns the token for the cookie.
func (s *Service) Remember(ctx context.Context, c audit.Client, u store.User) (string, error) {
	d, token := s.New(c, u.ID)
	if err := s.db.CreateDevice(ctx, d); err != nil {
		return "", err
	}
	s.audit.Record(ctx, c, u.ID, audit.DeviceRemembered, audit.Success, d.Label)
	s.audit.Notify(ctx, u, audit.BrowserRemembered(u.Email, d.Label, c.IP))
	return token, nil
}

// Remembered finds, among the device tokens a browser holds, one of this
// user's remembered devices. A failed lookup is logged and counts as none:
// the user is asked for a code.
func (s *Service) Remembered(ctx context.Context, tokens []string, userID string) (store.Device, bool) {
	for _, t := range tokens {
		if !secret.WellFormedToken(t) {
			continue
		}
		d, err := s.db.DeviceByTokenHash(ctx, userID, secret.Hash(t), s.now())
		if err == nil {
			return d, true
		}
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("look up device", "err", err)
		}
	}
	return store.Device{}, false
}

// Use records that d just skipped a second step from ip, and extends its
// life, never past its longest.
func (s *Service) Use(ctx context.Context, d store.Device, ip string) error {
	now := s.now()
	expires := now.Add(s.lifetime)
	if expires.After(d.MaxExpiresAt) {
		expires = d.MaxExpiresAt
	}
	return s.db.UseDevice(ctx, d.ID, ip, now, expires)
}

// View is a remembered device as the user sees it.
type View struct {
	store.Device
	// Current marks the browser asking.
	Current bool
}

// List is the user's remembered browsers, marking the one that holds
// tokens.
func (s *Service) List(ctx context.Context, tokens []string, userID string) ([]View, error) {
	list, err := s.db.Devices(ctx, userID, s.now())
	if err != nil {
		return nil, err
	}
	mine := map[string]bool{}
	for _, t := range tokens {
		if secret.WellFormedToken(t) {
			mine[secret.Hash(t)] = true
		}
	}
	out := make([]View, 0, len(list))
	for _, d := range list {
		out = append(out, View{Device: d, Current: mine[d.TokenHash]})
	}
	return out, nil
}

// Forget makes one browser ask for a code again.
func (s *Service) Forget(ctx context.Context, c audit.Client, userID, id string) error {
	if err := s.db.DeleteDevice(ctx, userID, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		return err
	}
	s.audit.Record(ctx, c, userID, audit.DeviceForgotten, audit.Success, "")
	return nil
}

// ForgetAll makes every browser ask for a code again.
func (s *Service) ForgetAll(ctx context.Context, c audit.Client, userID string) error {
	n, err := s.db.DeleteDevices(ctx, userID)
	if err != nil {
		return err
	}
	s.audit.Record(ctx, c, userID, audit.DeviceForgotten, audit.Success, fmt.Sprintf("all (%d)", n))
	return nil
}
