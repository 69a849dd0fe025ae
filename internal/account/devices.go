package account

import (
	"context"

	"twostep/internal/device"
	"twostep/internal/store"
)

// DeviceView is a remembered device as the user sees it.
type DeviceView = device.View

// ErrDeviceNotFound is returned for a device the user does not have.
var ErrDeviceNotFound = device.ErrNotFound

// Devices lists the user's remembered browsers, marking the one asking.
func (s *Service) Devices(ctx context.Context, c Client, userID string) ([]DeviceView, error) {
	return s.devices.List(ctx, c.DeviceTokens, userID)
}

// ForgetDevice makes one browser ask for a code again, after a step-up.
func (s *Service) ForgetDevice(ctx context.Context, c Client, sess store.Session, u store.User, id string) error {
	if err := s.RequireStepUp(ctx, sess, u); err != nil {
		return err
	}
	return s.devices.Forget(ctx, c.Audit(), u.ID, id)
}

// ForgetDevices makes every browser ask for a code again, after a step-up.
func (s *Service) ForgetDevices(ctx context.Context, c Client, sess store.Session, u store.User) error {
	if err := s.RequireStepUp(ctx, sess, u); err != nil {
		return err
	}
	return s.devices.ForgetAll(ctx, c.Audit(), u.ID)
}

// rememberDevice trusts this browser for the user outside a sign-in (the
// wizard's last step offers it).
func (s *Service) rememberDevice(ctx context.Context, c Client, u store.User) (string, error) {
	return s.devices.Remember(ctx, c.Audit(), u)
}
