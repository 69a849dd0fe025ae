package web

import (
	"errors"
	"net/http"
	"strings"

	"twostep/internal/account"
	"twostep/internal/password"
)

// The forgotten password: asking for a reset link, and choosing a new
// password with it.

type forgotData struct {
	Page       page
	FormError  string
	EmailField field
	Sent       bool
	Email, TTL string
}

func (w *Web) forgotPage(rw http.ResponseWriter, r *http.Request) {
	w.render(rw, http.StatusOK, "forgot", forgotData{Page: w.page("Reset your password", nil), EmailField: emailField("", "")})
}

func (w *Web) forgot(rw http.ResponseWriter, r *http.Request) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	d := forgotData{Page: w.page("Reset your password", nil), EmailField: emailField(email, "")}
	if err := w.acct.RequestReset(r.Context(), w.client(r), email); err != nil {
		var bad *account.InvalidEmailError
		status, msg := w.explain(err)
		if status >= 500 {
			w.fail(rw, r, err)
			return
		}
		if errors.As(err, &bad) {
			d.EmailField.Error = msg
		} else {
			d.FormError = msg
		}
		w.render(rw, status, "forgot", d)
		return
	}
	d.Sent, d.Email, d.TTL = true, email, w.opt.ResetTTL.String()
	w.render(rw, http.StatusOK, "forgot", d)
}

type resetData struct {
	Page          page
	FormError     string
	Token         string
	Invalid       bool
	PasswordField field
}

func (w *Web) resetPage(rw http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	d := resetData{Page: w.page("Choose a new password", nil), Token: token, PasswordField: newPasswordField("password", "New password", "", "")}
	status := http.StatusOK
	if err := w.acct.CheckResetToken(r.Context(), token); err != nil {
		if !errors.Is(err, account.ErrInvalidToken) {
			w.fail(rw, r, err)
			return
		}
		d.Invalid, d.Token, status = true, "", http.StatusBadRequest
	}
	// The token is in the URL: keep it out of other sites' Referer headers.
	rw.Header().Set("Referrer-Policy", "no-referrer")
	w.render(rw, status, "reset", d)
}

func (w *Web) reset(rw http.ResponseWriter, r *http.Request) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	token := r.PostFormValue("token")
	err := w.acct.ResetPassword(r.Context(), w.client(r), token, r.PostFormValue("password"))
	if err != nil {
		d := resetData{Page: w.page("Choose a new password", nil), Token: token, PasswordField: newPasswordField("password", "New password", "", "")}
		status, msg := w.explain(err)
		var weak *password.WeakError
		switch {
		case errors.Is(err, account.ErrInvalidToken):
			d.Invalid, d.Token = true, ""
		case errors.As(err, &weak):
			d.PasswordField.Error = msg
		case status >= 500:
			w.fail(rw, r, err)
			return
		default:
			d.FormError = msg
		}
		w.render(rw, status, "reset", d)
		return
	}
	w.cookies.ClearSession(rw)
	http.Redirect(rw, r, "/signin?notice=password_reset", http.StatusSeeOther)
}
