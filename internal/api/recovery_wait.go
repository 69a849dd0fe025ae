package api

import (
	"errors"
	"net/http"

	"twostep/internal/account"
)

// The recovery with a waiting period (lost every method): asked for from
// the challenge, started by the e-mailed link, stopped by a cancel link.
// It is finished by POST /api/v1/signin (recovered: true).

func (a *API) requestRecovery(w http.ResponseWriter, r *http.Request) {
	if _, err := a.acct.RequestRecovery(r.Context(), a.client(r), a.cookies.Pending(r)); err != nil {
		if errors.Is(err, account.ErrSignInExpired) {
			a.cookies.ClearPending(w)
		}
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{})
}

func (a *API) confirmRecovery(w http.ResponseWriter, r *http.Request) {
	var in tokenBody
	if err := decode(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	rec, browser, err := a.acct.ConfirmRecovery(r.Context(), a.client(r), in.Token)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if browser != "" {
		a.cookies.SetBrowser(w, browser)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ready_at": rec.ReadyAt})
}

func (a *API) cancelRecovery(w http.ResponseWriter, r *http.Request) {
	var in tokenBody
	if err := decode(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if _, err := a.acct.CancelRecovery(r.Context(), a.client(r), in.Token); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
