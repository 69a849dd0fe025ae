package api

import (
	"net/http"

	"twostep/internal/account"
	"twostep/internal/store"
)

type phoneBody struct {
	Phone   string `json:"phone"`
	Country string `json:"country"`
	Channel string `json:"channel"`
	Label   string `json:"label"`
}

func sentFactorJSON(f store.Factor) map[string]any {
	out := map[string]any{"id": f.ID, "kind": f.Kind, "label": f.Label, "role": f.Role, "status": f.Status}
	if f.Kind == account.KindEmail {
		out["email_masked"] = f.Masked
	} else {
		out["phone_masked"] = f.Masked
	}
	return out
}

func sendJSON(res account.SendResult) map[string]any {
	return map[string]any{
		"channel": res.Channel, "sent_to": res.Masked,
		"resend_after_s": int(res.ResendAfter.Seconds()), "expires_in_s": int(res.ExpiresIn.Seconds()),
	}
}

func (a *API) addPhone(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	var in phoneBody
	if err := decode(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	f, res, err := a.acct.AddPhone(r.Context(), a.client(r), sess, u, in.Phone, in.Country, in.Channel, in.Label)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := sendJSON(res)
	out["factor"] = sentFactorJSON(f)
	writeJSON(w, http.StatusCreated, out)
}

type emailFactorBody struct {
	Email string `json:"email"`
}

func (a *API) addEmailFactor(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	var in emailFactorBody
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	f, res, err := a.acct.AddEmailFactor(r.Context(), a.client(r), sess, u, in.Email)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := sendJSON(res)
	out["factor"] = sentFactorJSON(f)
	writeJSON(w, http.StatusCreated, out)
}

func (a *API) resendFactor(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	res, err := a.acct.Resend(r.Context(), a.client(r), sess, u, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, sendJSON(res))
}
