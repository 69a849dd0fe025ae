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
	w.render(rw, http.StatusOK, "verify", verifyData{Page: w.verifyHeader(r), Token: r.URL.Query().Get("token")})
}

// verifyHeader is the page's header: the link is often opened in the
// browser that is signed in, and the page then looks like the rest of
// the account, with its address and Sign out.
func (w *Web) verifyHeader(r *http.Request) page {
	if _, u, ok := w.current(r); ok {
		return w.page(w.loc(r).T("verify.heading"), &u)
	}
	return w.page(w.loc(r).T("verify.heading"), nil)
}

func (w *Web) verify(rw http.ResponseWriter, r *http.Request) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	u, err := w.acct.VerifyEmail(r.Context(), w.client(r), r.PostFormValue("token"))
	d := verifyData{Page: w.verifyHeader(r)}
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
