package account

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"twostep/internal/audit"
	"twostep/internal/secret"
	"twostep/internal/store"
)

// DeviceView is a remembered device as the user sees it.
type DeviceView struct {
	store.Device
	Current bool
}

// Devices lists the user's remembered browsers, marking the one asking.
func (s *Service) Devices(ctx context.Context, c Client, userID string) ([]DeviceView, error) {
	list, err := s.db.Devices(ctx, userID, s.now())
	if err != nil {
		return nil, err
	}
	mine := map[string]bool{}
	for _, t := range c.DeviceTokens {
		if secret.WellFormedToken(t) {
			mine[secret.Hash(t)] = true
		}
	}
	out := make([]DeviceView, 0, len(list))
	for _, d := range list {
		out = append(out, DeviceView{Device: d, Current: mine[d.TokenHash]})
	}
	return out, nil
}

// ErrDeviceNotFound is returned for a device the user does not have.
var ErrDeviceNotFound = errors.New("account: no such remembered browser")

// ForgetDevice makes one browser ask for a code again.
func (s *Service) ForgetDevice(ctx context.Context, c Client, sess store.Session, u store.User, id string) error {
	if err := s.RequireStepUp(ctx, sess, u); err != nil {
		return err
	}
	if err := s.db.DeleteDevice(ctx, u.ID, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrDeviceNotFound
		}
		return err
	}
	s.record(ctx, c, u.ID, audit.DeviceForgotten, audit.Success, "")
	return nil
}

// ForgetDevices makes every browser ask for a code again.
func (s *Service) ForgetDevices(ctx context.Context, c Client, sess store.Session, u store.User) error {
	if err := s.RequireStepUp(ctx, sess, u); err != nil {
		return err
	}
	n, err := s.db.DeleteDevices(ctx, u.ID)
	if err != nil {
		return err
	}
	s.record(ctx, c, u.ID, audit.DeviceForgotten, audit.Success, fmt.Sprintf("all (%d)", n))
	return nil
}

// DescribeAgent turns a user agent into "Firefox on Windows".
func DescribeAgent(ua string) string {
	if ua == "" {
		return "Unknown browser"
	}
	browser := "Unknown browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "Chrome (headless)"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client", "Go program"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, o := range []struct{ token, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			return browser + " on " + o.name
		}
	}
	return browser
}
