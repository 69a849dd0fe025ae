package web

import (
	"errors"
	"net/http"

	"twostep/internal/account"
)

// The link that confirms an e-mail address.

type verifyData struct {
	Page          page
	Token, Email  string
	Done, Invalid bool
}

func (w *Web) verifyPage(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Referrer-Policy", "no-referrer")
	w.render(rw, http.StatusOK, "verify", verifyData{Page: w.page("Confirm your e-mail address", nil), Token: r.URL.Query().Get("token")})
}

func (w *Web) verify(rw http.ResponseWriter, r *http.Request) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	u, err := w.acct.VerifyEmail(r.Context(), w.client(r), r.PostFormValue("token"))
	d := verifyData{Page: w.page("Confirm your e-mail address", nil)}
	if err != nil {
		if !errors.Is(err, account.ErrInvalidToken) {
			w.fail(rw, r, err)
			return
		}
		d.Invalid = true
		w.render(rw, http.StatusBadRequest, "verify", d)
		return
	}
	d.Done, d.Email = true, u.Email
	w.render(rw, http.StatusOK, "verify", d)
}
