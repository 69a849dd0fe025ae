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
	l := w.loc(r)
	w.render(rw, http.StatusOK, "forgot", forgotData{Page: w.page(l.T("forgot.heading"), nil), EmailField: emailField(l, "", "")})
}

func (w *Web) forgot(rw http.ResponseWriter, r *http.Request) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	l := w.loc(r)
	d := forgotData{Page: w.page(l.T("forgot.heading"), nil), EmailField: emailField(l, email, "")}
	if err := w.acct.RequestReset(r.Context(), w.client(r), email); err != nil {
		var bad *account.InvalidEmailError
		status, msg := w.why(r, err)
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
	d.Sent, d.Email, d.TTL = true, email, l.Duration(w.opt.ResetTTL)
	w.render(rw, http.StatusOK, "forgot", d)
}

type resetData struct {
	Page          page
	FormError     string
	Token         string
	Invalid       bool
	PasswordField field
	// Email is the account's address, in a hidden username field for
	// password managers.
	Email string
	// ForgetBrowsers is the "Also forget my remembered browsers" box.
	ForgetBrowsers bool
}

// resetForm is the reset page's form for the link token, the new password
// field focused.
func (w *Web) resetForm(r *http.Request, token string) (resetData, error) {
	l := w.loc(r)
	pw := w.newPasswordField(l, "password", l.T("reset.new_password"), "", "")
	pw.Autofocus = true
	d := resetData{Page: w.page(l.T("reset.heading"), nil), Token: token, PasswordField: pw}
	email, err := w.acct.ResetEmail(r.Context(), token)
	if errors.Is(err, account.ErrInvalidToken) {
		d.Invalid, d.Token = true, ""
		return d, nil
	}
	d.Email = email
	return d, err
}

func (w *Web) resetPage(rw http.ResponseWriter, r *http.Request) {
	d, err := w.resetForm(r, r.URL.Query().Get("token"))
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	status := http.StatusOK
	if d.Invalid {
		status = http.StatusBadRequest
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
	forget := r.PostFormValue("forget_browsers") == "1"
	err := w.acct.ResetPasswordWith(r.Context(), w.client(r), token, r.PostFormValue("password"), account.ResetOptions{ForgetBrowsers: forget})
	if err != nil {
		d, ferr := w.resetForm(r, token)
		if ferr != nil {
			w.fail(rw, r, ferr)
			return
		}
		d.ForgetBrowsers = forget
		status, msg := w.why(r, err)
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
