package api

import (
	"net/http"
	"time"

	"twostep/internal/account"
	"twostep/internal/factor"
	"twostep/internal/session"
	"twostep/internal/store"
)

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type userJSON struct {
	ID            string `json:"id"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
}

func userOf(u store.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, EmailVerified: !u.EmailVerifiedAt.IsZero()}
}

// issue sets the cookies for a new session.
func (a *API) issue(w http.ResponseWriter, r *http.Request, iss account.Issued) {
	a.cookies.Issue(w, r, session.Grant{Token: iss.Token, BrowserID: iss.BrowserID, DeviceToken: iss.DeviceToken})
}

func (a *API) signup(w http.ResponseWriter, r *http.Request) {
	var in credentials
	if err := decode(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	u, iss, err := a.acct.SignUp(r.Context(), a.client(r), in.Email, in.Password)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.issue(w, r, iss)
	writeJSON(w, http.StatusCreated, map[string]any{"user": userOf(u)})
}

func (a *API) signin(w http.ResponseWriter, r *http.Request) {
	var in credentials
	if err := decode(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	_, iss, err := a.acct.SignIn(r.Context(), a.client(r), in.Email, in.Password)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if ch := iss.Challenge; ch != nil {
		a.cookies.SetPending(w, ch.Token, ch.ExpiresAt.Sub(a.acct.Now()))
		writeJSON(w, http.StatusOK, map[string]any{
			"status": "second_factor_required", "methods": challengeMethods(ch.Methods), "default_method_id": ch.DefaultID,
			"expires_at": ch.ExpiresAt,
		})
		return
	}
	a.issue(w, r, iss)
	if iss.Recovered {
		writeJSON(w, http.StatusOK, map[string]any{"status": "signed_in", "recovered": true})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "signed_in"})
}

func (a *API) signout(w http.ResponseWriter, r *http.Request, sess store.Session, _ store.User) {
	if err := a.acct.SignOut(r.Context(), a.client(r), sess); err != nil {
		a.fail(w, r, err)
		return
	}
	a.cookies.ClearSession(w)
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) signoutEverywhere(w http.ResponseWriter, r *http.Request, sess store.Session, _ store.User) {
	if _, err := a.acct.SignOutEverywhere(r.Context(), a.client(r), sess); err != nil {
		a.fail(w, r, err)
		return
	}
	a.cookies.ClearSession(w)
	w.WriteHeader(http.StatusNoContent)
}

type methodJSON struct {
	ID         string      `json:"id"`
	Kind       factor.Kind `json:"kind"`
	Label      string      `json:"label"`
	Role       factor.Role `json:"role"`
	CreatedAt  time.Time   `json:"created_at"`
	LastUsedAt *time.Time  `json:"last_used_at"`
	// Passkey and BackedUp are a security key's (kind webauthn): a
	// discoverable credential, and one synced beyond its device.
	Passkey  *bool `json:"passkey,omitempty"`
	BackedUp *bool `json:"backed_up,omitempty"`
}

func (a *API) me(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	methods, err := a.acct.Methods(r.Context(), u.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"user":     userOf(u),
		"two_step": map[string]any{"enabled": u.TwoStepEnabled, "methods": a.withKeys(r, u.ID, methodsJSON(methods)), "default_method_id": u.DefaultFactorID},
		"session":  map[string]any{"id": sess.ID, "aal": sess.AAL, "authenticated_at": sess.AuthenticatedAt},
	})
}

type tokenBody struct {
	Token string `json:"token"`
}

func (a *API) verifyEmail(w http.ResponseWriter, r *http.Request) {
	var in tokenBody
	if err := decode(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.acct.VerifyEmail(r.Context(), a.client(r), in.Token)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": userOf(u)})
}

func (a *API) resendVerification(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	if err := a.acct.ResendVerification(r.Context(), a.client(r), u); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

type changePasswordBody struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (a *API) changePassword(w http.ResponseWriter, r *http.Request, sess store.Session, _ store.User) {
	var in changePasswordBody
	if err := decode(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.acct.ChangePassword(r.Context(), a.client(r), sess, in.CurrentPassword, in.NewPassword); err != nil {
		p := a.problemFor(r, err)
		if p.Code == "weak_password" {
			p.Field = "new_password"
		}
		WriteProblem(w, p)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "password_changed"})
}

type resetRequestBody struct {
	Email string `json:"email"`
}

func (a *API) requestReset(w http.ResponseWriter, r *http.Request) {
	var in resetRequestBody
	if err := decode(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.acct.RequestReset(r.Context(), a.client(r), in.Email); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{
		"status":  "reset_requested",
		"message": "If an account uses this address, we sent it a link to reset the password.",
	})
}

type resetConfirmBody struct {
	Token       string `json:"token"`
	NewPassword string `json:"new_password"`
}

func (a *API) confirmReset(w http.ResponseWriter, r *http.Request) {
	var in resetConfirmBody
	if err := decode(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.acct.ResetPassword(r.Context(), a.client(r), in.Token, in.NewPassword); err != nil {
		p := a.problemFor(r, err)
		if p.Code == "weak_password" {
			p.Field = "new_password"
		}
		WriteProblem(w, p)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "password_reset"})
}
