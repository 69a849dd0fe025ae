package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"twostep/internal/account"
	"twostep/internal/password"
	"twostep/internal/store"
)

func (w *Web) home(rw http.ResponseWriter, r *http.Request) {
	if _, _, ok := w.current(r); ok {
		http.Redirect(rw, r, "/account", http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, "/signin", http.StatusSeeOther)
}

// credentialsData is the sign-in and sign-up form.
type credentialsData struct {
	Page          page
	FormError     string
	EmailField    field
	PasswordField field
}

func emailField(value, err string) field {
	return field{Name: "email", Label: "E-mail address", Type: "email", Value: value, Autocomplete: "username", Required: true, Autofocus: value == "", Error: err}
}

func (w *Web) signinPage(rw http.ResponseWriter, r *http.Request) {
	if _, _, ok := w.current(r); ok {
		http.Redirect(rw, r, "/account", http.StatusSeeOther)
		return
	}
	d := credentialsData{Page: w.page("Sign in", nil), EmailField: emailField("", ""),
		PasswordField: field{Name: "password", Label: "Password", Type: "password", Autocomplete: "current-password", Required: true}}
	d.Page.Notice = notices[r.URL.Query().Get("notice")]
	w.render(rw, http.StatusOK, "signin", d)
}

func (w *Web) signin(rw http.ResponseWriter, r *http.Request) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	email := r.PostFormValue("email")
	_, iss, err := w.acct.SignIn(r.Context(), w.client(r), email, r.PostFormValue("password"))
	if err == nil && iss.Challenge != nil {
		w.cookies.SetPending(rw, iss.Challenge.Token, iss.Challenge.ExpiresAt.Sub(w.acct.Now()))
		http.Redirect(rw, r, "/signin/verify", http.StatusSeeOther)
		return
	}
	if err != nil {
		status, msg := w.explain(err)
		if status >= 500 {
			w.fail(rw, r, err)
			return
		}
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			rw.Header().Set("Retry-After", "1")
		}
		d := credentialsData{Page: w.page("Sign in", nil), FormError: msg, EmailField: emailField(email, ""),
			PasswordField: field{Name: "password", Label: "Password", Type: "password", Autocomplete: "current-password", Required: true, Autofocus: true}}
		w.render(rw, status, "signin", d)
		return
	}
	w.issue(rw, iss)
	http.Redirect(rw, r, "/account", http.StatusSeeOther)
}

func (w *Web) issue(rw http.ResponseWriter, iss account.Issued) {
	cfg := w.acct.Config()
	w.cookies.SetSession(rw, iss.Token, cfg.Session.MaxLifetime.D())
	if iss.BrowserID != "" {
		w.cookies.SetBrowser(rw, iss.BrowserID, cfg.Session.KnownBrowserLifetime.D())
	}
}

func newPasswordField(name, label, value, err string) field {
	cfg := password.DefaultPolicy()
	return field{Name: name, Label: label, Type: "password", Autocomplete: "new-password", Required: true, Error: err,
		Hint: "At least " + strconv.Itoa(cfg.MinLen) + " characters. Any characters work, spaces and accents too. Very common passwords are refused."}
}

func (w *Web) signupPage(rw http.ResponseWriter, r *http.Request) {
	d := credentialsData{Page: w.page("Create account", nil), EmailField: emailField("", ""), PasswordField: newPasswordField("password", "Password", "", "")}
	w.render(rw, http.StatusOK, "signup", d)
}

func (w *Web) signup(rw http.ResponseWriter, r *http.Request) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	email := r.PostFormValue("email")
	_, iss, err := w.acct.SignUp(r.Context(), w.client(r), email, r.PostFormValue("password"))
	if err != nil {
		var weak *password.WeakError
		var bad *account.InvalidEmailError
		d := credentialsData{Page: w.page("Create account", nil), EmailField: emailField(email, ""), PasswordField: newPasswordField("password", "Password", "", "")}
		status, msg := w.explain(err)
		switch {
		case errors.As(err, &weak):
			d.PasswordField.Error = msg
			d.PasswordField.Autofocus = true
		case errors.As(err, &bad), errors.Is(err, account.ErrEmailTaken):
			d.EmailField.Error = msg
		case status >= 500:
			w.fail(rw, r, err)
			return
		default:
			d.FormError = msg
		}
		w.render(rw, status, "signup", d)
		return
	}
	w.issue(rw, iss)
	http.Redirect(rw, r, "/account?notice=welcome", http.StatusSeeOther)
}

func (w *Web) signout(rw http.ResponseWriter, r *http.Request) {
	if sess, _, ok := w.current(r); ok {
		if err := w.acct.SignOut(r.Context(), w.client(r), sess); err != nil {
			w.fail(rw, r, err)
			return
		}
	}
	w.cookies.ClearSession(rw)
	http.Redirect(rw, r, "/signin?notice=signed_out", http.StatusSeeOther)
}

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
	d.Sent, d.Email, d.TTL = true, email, w.acct.Config().Tokens.ResetTTL.D().String()
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

// requireUser returns the signed-in user, or sends the browser to sign in.
func (w *Web) requireUser(rw http.ResponseWriter, r *http.Request) (store.Session, store.User, bool) {
	sess, u, ok := w.current(r)
	if !ok {
		http.Redirect(rw, r, "/signin", http.StatusSeeOther)
	}
	return sess, u, ok
}
