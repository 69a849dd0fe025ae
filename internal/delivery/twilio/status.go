package twilio

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// StatusPath is where Twilio posts message and call status callbacks.
const StatusPath = "/api/v1/delivery/twilio/status"

// StatusStore records a provider's report about one delivery attempt.
type StatusStore interface {
	UpdateDeliveryStatus(ctx context.Context, provider, providerID, status, errText string, at time.Time) (bool, error)
}

// StatusHandler receives Twilio's status callbacks (delivered, failed…)
// and records them against the delivery attempt. Requests must carry a
// valid X-Twilio-Signature for URL (the callback's public address).
type StatusHandler struct {
	Token string
	URL   string
	Store StatusStore
	Now   func() time.Time
	Log   *slog.Logger
}

// Routes registers the callback.
func (h *StatusHandler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+StatusPath, h.serve)
}

func (h *StatusHandler) serve(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "unreadable form", http.StatusBadRequest)
		return
	}
	if !VerifySignature(h.Token, h.URL, r.PostForm, r.Header.Get("X-Twilio-Signature")) {
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	id, status, failed, code := ParseStatus(r.PostForm)
	if id == "" {
		http.Error(w, "no MessageSid or CallSid", http.StatusBadRequest)
		return
	}
	errText := ""
	if failed && code != "" {
		errText = "twilio error " + code
	}
	if _, err := h.Store.UpdateDeliveryStatus(r.Context(), "twilio", id, status, errText, h.Now()); err != nil {
		h.Log.Error("record delivery status", "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
