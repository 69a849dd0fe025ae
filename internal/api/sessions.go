package api

import (
	"net/http"
	"time"

	"twostep/internal/store"
)

type sessionJSON struct {
	ID              string    `json:"id"`
	AAL             int       `json:"aal"`
	CreatedAt       time.Time `json:"created_at"`
	AuthenticatedAt time.Time `json:"authenticated_at"`
	LastSeenAt      time.Time `json:"last_seen_at"`
	ExpiresAt       time.Time `json:"expires_at"`
	IP              string    `json:"ip"`
	UserAgent       string    `json:"user_agent"`
	Current         bool      `json:"current"`
}

func (a *API) sessions(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	list, err := a.acct.Sessions(r.Context(), u.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]sessionJSON, 0, len(list))
	for _, s := range list {
		out = append(out, sessionJSON{
			ID: s.ID, AAL: s.AAL, CreatedAt: s.CreatedAt, AuthenticatedAt: s.AuthenticatedAt,
			LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt, IP: s.IP, UserAgent: s.UserAgent,
			Current: s.ID == sess.ID,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) deleteSession(w http.ResponseWriter, r *http.Request, sess store.Session, _ store.User) {
	id := r.PathValue("id")
	if err := a.acct.RevokeSession(r.Context(), a.client(r), sess, id); err != nil {
		a.fail(w, r, err)
		return
	}
	if id == sess.ID {
		a.cookies.ClearSession(w)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) revokeOthers(w http.ResponseWriter, r *http.Request, sess store.Session, _ store.User) {
	n, err := a.acct.RevokeOthers(r.Context(), a.client(r), sess)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked": n})
}

func (a *API) events(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	list, err := a.acct.Events(r.Context(), u.ID, 100)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}
