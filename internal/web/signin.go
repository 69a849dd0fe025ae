package web

import (
	"errors"
	"net/http"

	"twostep/internal/account"
	"twostep/internal/i18n"
	"twostep/internal/password"
	"twostep/internal/signin"
)

// Signing in with a password, signing up and signing out. A sign-in that
// needs a second factor goes on in challenge.go.

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
	App           string // the app the sign-in is for, if any
	EmailField    field
	PasswordField field
	// Passkeys offers "Sign in with a passkey" and passkey autofill: the
	// operator allows passkey sign-in (the script shows the button only
	// where the browser can use one).
	Passkeys bool
}

func emailField(l *i18n.Localizer, value, err string) field {
	return field{Name: "email", Label: l.T("signin.email"), Type: "email", Value: value, Autocomplete: "username", Required: true, Autofocus: value == "", Error: err}
}

func (w *Web) signinPage(rw http.ResponseWriter, r *http.Request) {
	// prompt=login: an app asked for a fresh password from whoever is
	// signed in; the new sign-in replaces the session.
	if _, _, ok := w.current(r); ok && r.URL.Query().Get("prompt") != "login" {
		http.Redirect(rw, r, w.landing(rw, r), http.StatusSeeOther)
		return
	}
	w.keepReturn(rw, r)
	d := w.signInData(r, "", "")
	d.App = w.appAsking(r)
	d.PasswordField.Autofocus = false
	d.Page.Notice = w.notice(r, r.URL.Query().Get("notice"))
	w.render(rw, http.StatusOK, "signin", d)
}

// signInData is the sign-in form with email typed and the error msg;
// where passkeys sign in, the e-mail field offers them too (autofill).
func (w *Web) signInData(r *http.Request, email, msg string) credentialsData {
	l := w.loc(r)
	d := credentialsData{Page: w.page(l.T("signin.title"), nil), FormError: msg, EmailField: emailField(l, email, ""),
		PasswordField: field{Name: "password", Label: l.T("signin.password"), Type: "password", Autocomplete: "current-password", Required: true, Autofocus: true}}
	if w.acct.PasskeysAllowed() {
		d.Passkeys, d.Page.WebAuthn = true, true
		d.EmailField.Autocomplete = "username webauthn"
	}
	return d
}

// renderSignIn shows the sign-in form again with an error.
func (w *Web) renderSignIn(rw http.ResponseWriter, r *http.Request, status int, email, msg string) {
	w.render(rw, status, "signin", w.signInData(r, email, msg))
}

func (w *Web) signin(rw http.ResponseWriter, r *http.Request) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	email := r.PostFormValue("email")
	u, iss, err := w.acct.SignIn(r.Context(), w.client(r), email, r.PostFormValue("password"))
	if err == nil && iss.Challenge != nil {
		w.cookies.SetPending(rw, iss.Challenge.Token, iss.Challenge.ExpiresAt.Sub(w.acct.Now()))
		http.Redirect(rw, r, "/signin/verify", http.StatusSeeOther)
		return
	}
	if err != nil {
		status, msg := w.why(r, err)
		if status >= 500 {
			w.fail(rw, r, err)
			return
		}
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			rw.Header().Set("Retry-After", "1")
		}
		w.renderSignIn(rw, r, status, email, msg)
		return
	}
	w.issue(rw, r, iss)
	if iss.Recovered { // a recovery with a waiting period just finished
		http.Redirect(rw, r, "/recover/done", http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, w.landingFor(rw, r, u), http.StatusSeeOther)
}

// keepReturn keeps the request's rd, when signin.ReturnTo keeps it, for
// the end of the sign-in (landing): through the password, the second
// step, the set-up wizard. An rd it drops clears any kept before.
func (w *Web) keepReturn(rw http.ResponseWriter, r *http.Request) {
	rd := r.URL.Query().Get("rd")
	if rd == "" {
		return
	}
	if target := signin.ReturnTo(rd, w.opt.ReturnHosts); target == rd {
		w.cookies.SetReturn(rw, target)
		return
	}
	w.cookies.ClearReturn(rw)
}

// landing is where a finished sign-in goes: the request's own rd, else
// the return address keepReturn kept, checked again either way, else the
// account page. A kept address is used once.
func (w *Web) landing(rw http.ResponseWriter, r *http.Request) string {
	next := r.URL.Query().Get("rd")
	if kept := w.cookies.Return(r); kept != "" {
		w.cookies.ClearReturn(rw)
		if next == "" {
			next = kept
		}
	}
	if next == "" {
		return "/account"
	}
	return signin.ReturnTo(next, w.opt.ReturnHosts)
}

// secondStep is where forward-auth sends a session of one step that a
// two_factor rule refuses, and back to rd after: the set-up wizard when
// the person has no second method yet, else "Confirm it's you" with a
// code, which raises the session to two steps (stepup.Code).
func (w *Web) secondStep(rw http.ResponseWriter, r *http.Request) {
	sess, u, ok := w.current(r)
	switch {
	case ok && sess.AAL >= 2:
		http.Redirect(rw, r, w.landing(rw, r), http.StatusSeeOther)
	case !ok:
		w.keepReturn(rw, r)
		http.Redirect(rw, r, "/signin", http.StatusSeeOther)
	case !u.TwoStepEnabled:
		w.keepReturn(rw, r)
		http.Redirect(rw, r, "/account/two-step/setup", http.StatusSeeOther)
	default:
		w.stepUp(rw, r, w.landing(rw, r))
	}
}

// newPasswordField is a new-password field whose hint follows the
// configured password.min_length, as the check does.
func (w *Web) newPasswordField(l *i18n.Localizer, name, label, value, err string) field {
	n := w.acct.Config().Password.MinLength
	if n <= 0 {
		n = password.DefaultPolicy().MinLen
	}
	return field{Name: name, Label: label, Type: "password", Autocomplete: "new-password", Required: true, Error: err, Value: value,
		Hint: l.N("signup.password_hint", n)}
}

func (w *Web) signupPage(rw http.ResponseWriter, r *http.Request) {
	w.keepReturn(rw, r)
	l := w.loc(r)
	d := credentialsData{Page: w.page(l.T("signup.title"), nil), EmailField: emailField(l, "", ""), PasswordField: w.newPasswordField(l, "password", l.T("signin.password"), "", "")}
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
		l := w.loc(r)
		d := credentialsData{Page: w.page(l.T("signup.title"), nil), EmailField: emailField(l, email, ""), PasswordField: w.newPasswordField(l, "password", l.T("signin.password"), "", "")}
		status, msg := w.why(r, err)
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
	w.issue(rw, r, iss)
	if w.cookies.Return(r) != "" { // signing up on the way to an app
		http.Redirect(rw, r, w.landing(rw, r), http.StatusSeeOther)
		return
	}
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
