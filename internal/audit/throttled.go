package audit

import (
	"context"
	"errors"
	"strings"

	"twostep/internal/ratelimit"
)

// Throttled records and logs a request of flow refused by a limit (err is
// a *ratelimit.Limited; anything else is left alone). The log line names
// the flow and the limits, never the address or account typed; the event
// is recorded only when the account is known.
func (r *Recorder) Throttled(ctx context.Context, c Client, userID string, flow Kind, err error) {
	var lim *ratelimit.Limited
	if !errors.As(err, &lim) {
		return
	}
	kinds := make([]string, 0, len(lim.Keys))
	for _, k := range lim.Keys {
		kinds = append(kinds, LimitKind(k))
	}
	r.log.Warn("request throttled", "flow", flow, "limits", strings.Join(kinds, ","), "retry_after_s", lim.Seconds())
	if userID != "" {
		r.Record(ctx, c, userID, flow, Throttled, strings.Join(kinds, ","))
	}
}

// LimitKind is a rate-limit key without its identifying part: "pw:acct",
// "code:ip".
func LimitKind(key string) string {
	parts := strings.SplitN(key, ":", 3)
	if len(parts) < 2 {
		return parts[0]
	}
	kind := parts[0] + ":" + parts[1]
	if parts[1] == "acct" && strings.HasPrefix(key, kind+":day:") {
		kind += ":day"
	}
	return kind
}
