package account

import (
	"context"

	"twostep/internal/audit"
)

// RecordEvent stores a security event for another part of twostep (the
// OpenID Connect provider); a failure to record is logged.
func (s *Service) RecordEvent(ctx context.Context, c audit.Client, userID string, k audit.Kind, o audit.Outcome, detail string) {
	s.audit.Record(ctx, c, userID, k, o, detail)
}
