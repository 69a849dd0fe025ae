package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"twostep/internal/account"
	"twostep/internal/factor"
	"twostep/internal/method/securitykey"
	"twostep/internal/store"
)

// hasCredential reports whether a body carried a security key's answer
// (a JSON null is none).
func hasCredential(c json.RawMessage) bool {
	return len(c) > 0 && !bytes.Equal(bytes.TrimSpace(c), []byte("null"))
}

// withKeys adds the passkey and backed-up flags of the user's security
// keys to a method list.
func (a *API) withKeys(r *http.Request, userID string, ms []methodJSON) []methodJSON {
	has := false
	for _, m := range ms {
		has = has || m.Kind == factor.WebAuthn
	}
	if !has {
		return ms
	}
	keys, err := a.acct.SecurityKeys(r.Context(), userID)
	if err != nil {
		a.log.Error("list security keys", "err", err)
		return ms
	}
	for i, m := range ms {
		if k, ok := keys[m.ID]; ok {
			ms[i].Passkey, ms[i].BackedUp = &k.Discoverable, &k.BackupState
		}
	}
	return ms
}

type addKeyBody struct {
	Label   string `json:"label"`
	Passkey bool   `json:"passkey"`
}

// addSecurityKey starts adding a security key or passkey: a pending
// factor and the creation options for navigator.credentials.create.
func (a *API) addSecurityKey(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	var in addKeyBody
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	e, err := a.acct.AddSecurityKey(r.Context(), a.client(r), sess, u, in.Label, in.Passkey)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"factor": a.factorOf(r, e.Factor), "publicKey": e.PublicKey})
}

// passkeyBegin starts a signed-out passkey sign-in: request options with
// no allowed credentials, and a short-lived cookie the ceremony is bound
// to (finish needs it).
func (a *API) passkeyBegin(w http.ResponseWriter, r *http.Request) {
	token, opts, err := a.acct.BeginPasskeySignIn(r.Context(), a.client(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.cookies.SetPasskey(w, token, securitykey.CeremonyTTL)
	writeJSON(w, http.StatusOK, map[string]any{"publicKey": opts})
}

type passkeyFinishBody struct {
	Credential     json.RawMessage `json:"credential"`
	RememberDevice bool            `json:"remember_device"`
}

// passkeyFinish signs in with a passkey: signed in (two steps when the
// passkey verified the person), or — for a two-step account whose
// passkey did not — the second step as after a password.
func (a *API) passkeyFinish(w http.ResponseWriter, r *http.Request) {
	var in passkeyFinishBody
	if err := decode(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	_, iss, err := a.acct.FinishPasskeySignIn(r.Context(), a.client(r), a.cookies.Passkey(r), in.Credential, in.RememberDevice)
	a.cookies.ClearPasskey(w) // the ceremony is used up either way
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.answerSignIn(w, r, iss)
}

// answerSignIn answers a first step that was right: signed in, or the
// second step to take.
func (a *API) answerSignIn(w http.ResponseWriter, r *http.Request, iss account.Issued) {
	if ch := iss.Challenge; ch != nil {
		a.cookies.SetPending(w, ch.Token, ch.ExpiresAt.Sub(a.acct.Now()))
		writeJSON(w, http.StatusOK, map[string]any{
			"status": "second_factor_required", "methods": challengeMethods(ch.Methods), "default_method_id": ch.DefaultID,
			"expires_at": ch.ExpiresAt,
		})
		return
	}
	a.issue(w, r, iss)
	writeJSON(w, http.StatusOK, map[string]any{"status": "signed_in"})
}
