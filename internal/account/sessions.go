package account

import (
	"context"

	"twostep/internal/store"
)

// The sessions themselves are package session's; these are the calls the
// pages and the API make through the account service.

// Authenticate returns the live session and user for a session cookie.
func (s *Service) Authenticate(ctx context.Context, token string) (store.Session, store.User, error) {
	return s.sessions.Authenticate(ctx, token)
}

// SignOut ends the current session.
func (s *Service) SignOut(ctx context.Context, c Client, sess store.Session) error {
	return s.sessions.SignOut(ctx, c.Audit(), sess)
}

// SignOutEverywhere ends every session of the user, this one included.
func (s *Service) SignOutEverywhere(ctx context.Context, c Client, sess store.Session) (int64, error) {
	return s.sessions.SignOutEverywhere(ctx, c.Audit(), sess)
}

// RevokeOthers ends every session of the user but this one.
func (s *Service) RevokeOthers(ctx context.Context, c Client, sess store.Session) (int64, error) {
	return s.sessions.RevokeOthers(ctx, c.Audit(), sess)
}

// RevokeSession ends one of the user's sessions by id.
func (s *Service) RevokeSession(ctx context.Context, c Client, sess store.Session, id string) error {
	return s.sessions.Revoke(ctx, c.Audit(), sess, id)
}

// Sessions lists the user's live sessions, most recently used first.
func (s *Service) Sessions(ctx context.Context, userID string) ([]store.Session, error) {
	return s.sessions.List(ctx, userID)
}
