package web

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"twostep/internal/account"
	"twostep/internal/factor"
	"twostep/internal/store"
)

// The set-up wizard: a main method (1), a backup (2), turning two-step
// verification on (3). Nothing turns on until the last step. Adding an
// app or a phone from the two-step page confirms here too.

type setupData struct {
	Page       page
	FormError  string
	Step       int
	Enrollment *account.TOTPEnrollment
	// QR is the server-made data: URI of the QR code; html/template would
	// otherwise replace a data: URI in src with #ZgotmplZ.
	QR template.URL
	// Sent is set while a phone or e-mail method waits for its code.
	Sent                                   *store.Factor
	Wait                                   int
	PhoneOK                                bool
	CodeField                              field
	BackupRequired, HasBackup, HasRecovery bool
	BackupName                             string
	// Wizard: two-step verification is off and this is the wizard;
	// adding a method later shows no steps and no "Not now".
	Wizard bool
	// Replacing is the app a new one replaces once confirmed.
	Replacing *store.Factor
	// KeyChunks is the set-up key in groups; KeySpoken the same key one
	// character at a time, for screen readers.
	KeyChunks []string
	KeySpoken string
	// CodeTTL is how long a sent code works, in words.
	CodeTTL string
	// Key is a security key or passkey being added: the page runs its
	// ceremony.
	Key *keyEnrollment
	// PasskeysSignIn: passkeys also sign in alone here.
	PasskeysSignIn bool
}

func (w *Web) setupPage(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	w.keepReturn(rw, r)
	step, _ := strconv.Atoi(r.URL.Query().Get("step"))
	w.renderSetup(rw, r, http.StatusOK, sess, u, step, r.URL.Query().Get("factor"), r.URL.Query().Get("replace"), "")
}

func (w *Web) renderSetup(rw http.ResponseWriter, r *http.Request, status int, sess store.Session, u store.User, step int, factorID, replace, errMsg string) {
	w.renderSetupWith(rw, r, status, sess, u, step, factorID, replace, errMsg, nil)
}

// renderSetupWith is renderSetup, showing the ceremony of key when set.
func (w *Web) renderSetupWith(rw http.ResponseWriter, r *http.Request, status int, sess store.Session, u store.User, step int, factorID, replace, errMsg string, key *keyEnrollment) {
	if u.TwoStepEnabled && factorID == "" && key == nil {
		http.Redirect(rw, r, "/account/two-step", http.StatusSeeOther)
		return
	}
	pol, err := w.acct.Policy(r.Context(), u.ID)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	// The wizard never runs ahead of what is done.
	switch {
	case step < 1 || step > 3:
		step = 1
		if pol.HasPrimary {
			step = 2
		}
	case step >= 2 && !pol.HasPrimary && factorID == "" && key == nil:
		step = 1
	case step == 3 && !pol.Ready():
		step = 2
	}
	l := w.loc(r)
	d := setupData{Page: w.page(l.T("twostep.heading"), &u), Step: step, FormError: errMsg, BackupRequired: pol.BackupRequired, HasBackup: pol.HasBackup,
		Wizard: !u.TwoStepEnabled, CodeTTL: l.Duration(w.acct.Config().Codes.TTL.D())}
	d.PhoneOK = w.opt.PhoneMethods
	d.PasskeysSignIn = w.acct.PasskeysAllowed()
	d.Page.Notice = w.notice(r, r.URL.Query().Get("notice"))
	if key != nil {
		d.Key, d.Page.WebAuthn = key, true
	}
	if f, ok := w.pendingFactor(r, sess, u, factorID); ok && account.Sendable(f.Kind) {
		d.Sent = &f
		d.Wait = w.waitFor(r, f)
		d.CodeField = field{Name: "code", Label: l.T("setup.code"), Type: "text", Autocomplete: "one-time-code", Required: true, Autofocus: true, Error: errMsg, Inputmode: "numeric"}
		d.FormError = ""
		factorID = ""
	}
	if factorID != "" {
		e, err := w.acct.PendingTOTP(r.Context(), sess, u, factorID)
		if err != nil {
			if !errors.Is(err, account.ErrFactorNotFound) {
				w.fail(rw, r, err)
				return
			}
			d.FormError = l.T("setup.expired")
		} else {
			d.Enrollment = &e
			d.QR = template.URL(e.QR)
			d.KeyChunks = strings.Fields(e.GroupedKey)
			d.KeySpoken = spell(e.GroupedKey)
			d.CodeField = field{Name: "code", Label: l.T("setup.code_app"), Type: "text", Autocomplete: "one-time-code", Required: true, Autofocus: true, Error: errMsg, Inputmode: "numeric"}
			d.FormError = ""
		}
	}
	methods, err := w.acct.Methods(r.Context(), u.ID)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	for _, m := range methods {
		if m.ID == replace && m.Kind == account.KindTOTP && d.Enrollment != nil {
			d.Replacing = &m
		}
		if m.Role == account.RoleBackup && d.BackupName == "" {
			d.BackupName = m.Label
		}
		if m.Kind == account.KindRecovery {
			d.HasRecovery = true
		}
	}
	w.render(rw, status, "setup", d)
}

func (w *Web) setupApp(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	step, _ := strconv.Atoi(r.PostFormValue("step"))
	w.perform(rw, r, sess, u, pending{Action: actAddApp, Step: step, Replace: r.PostFormValue("replace")})
}

// addApp starts adding an authenticator app named so that no two of the
// user's methods share a name ("Authenticator app 2"), perhaps to
// replace one, and returns the page that shows its QR code.
func (w *Web) addApp(r *http.Request, sess store.Session, u store.User, p pending) (string, error) {
	methods, err := w.acct.Methods(r.Context(), u.ID)
	if err != nil {
		return "", err
	}
	if p.Replace != "" {
		found := false
		for _, m := range methods {
			found = found || (m.ID == p.Replace && m.Kind == account.KindTOTP)
		}
		if !found {
			return "", account.ErrFactorNotFound
		}
	}
	e, err := w.acct.AddTOTP(r.Context(), w.client(r), sess, u, uniqueLabel(methods, w.loc(r).T("method.app")))
	if err != nil {
		return "", err
	}
	to := "/account/two-step/setup?step=" + strconv.Itoa(max(p.Step, 1)) + "&factor=" + e.Factor.ID
	if p.Replace != "" {
		to += "&replace=" + p.Replace
	}
	return to, nil
}

// spell says a key one character at a time, group by group, as a screen
// reader should read it out.
func spell(grouped string) string {
	var groups []string
	for _, g := range strings.Fields(grouped) {
		groups = append(groups, strings.Join(strings.Split(g, ""), " "))
	}
	return strings.Join(groups, ", ")
}

func (w *Web) setupConfirm(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	id, replace := r.PostFormValue("factor"), r.PostFormValue("replace")
	step, _ := strconv.Atoi(r.PostFormValue("step"))
	f, err := w.acct.ConfirmFactor(r.Context(), w.client(r), sess, u, id, r.PostFormValue("code"))
	if err != nil {
		status, msg := w.why(r, err)
		if status >= 500 {
			w.fail(rw, r, err)
			return
		}
		w.renderSetup(rw, r, status, sess, u, step, id, replace, msg)
		return
	}
	if replace != "" && f.Kind == account.KindTOTP {
		w.replaceApp(rw, r, sess, u, f, replace)
		return
	}
	if u.TwoStepEnabled {
		http.Redirect(rw, r, "/account/two-step?notice=method_added", http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, "/account/two-step/setup?step="+strconv.Itoa(min(step+1, 3)), http.StatusSeeOther)
}

func (w *Web) setupResend(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	id := r.PostFormValue("factor")
	step, _ := strconv.Atoi(r.PostFormValue("step"))
	if _, err := w.acct.Resend(r.Context(), w.client(r), sess, u, id); err != nil {
		status, msg := w.why(r, err)
		if status >= 500 && status != http.StatusServiceUnavailable {
			w.fail(rw, r, err)
			return
		}
		w.renderSetup(rw, r, status, sess, u, step, id, "", msg)
		return
	}
	http.Redirect(rw, r, "/account/two-step/setup?step="+strconv.Itoa(max(step, 1))+"&factor="+id+"&sent=1", http.StatusSeeOther)
}

func (w *Web) enable(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	if err := w.acct.EnableTwoStep(r.Context(), w.client(r), sess, u); err != nil {
		status, msg := w.why(r, err)
		if status >= 500 {
			w.fail(rw, r, err)
			return
		}
		w.renderSetup(rw, r, status, sess, u, 2, "", "", msg)
		return
	}
	if r.PostFormValue("remember") == "1" {
		tok, err := w.acct.RememberThisBrowser(r.Context(), w.client(r), u)
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		w.cookies.AddDevice(rw, r, tok)
	}
	if w.cookies.Return(r) != "" { // the wizard was a step of a sign-in to an app
		http.Redirect(rw, r, w.landing(rw, r), http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, "/account/two-step?notice=two_step_on", http.StatusSeeOther)
}

// replaceApp removes the app that the confirmed app f replaces, and
// gives f its name. A stale step-up asks to confirm the removal; the new
// app works meanwhile.
func (w *Web) replaceApp(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User, f store.Factor, oldID string) {
	methods, err := w.acct.Methods(r.Context(), u.ID)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	var old store.Factor
	for _, m := range methods {
		if m.ID == oldID && m.Kind == account.KindTOTP && m.ID != f.ID {
			old = m
		}
	}
	if old.ID == "" {
		http.Redirect(rw, r, "/account/two-step?notice=method_added", http.StatusSeeOther)
		return
	}
	if _, err := w.acct.RemoveFactor(r.Context(), w.client(r), sess, u, old.ID); err != nil {
		var su *account.StepUpRequiredError
		if errors.As(err, &su) {
			w.stepUpFor(rw, r, pending{Action: actRemove, ID: old.ID})
			return
		}
		w.fail(rw, r, err)
		return
	}
	label := old.Label
	if _, err := w.acct.UpdateFactor(r.Context(), w.client(r), sess, u, f.ID, &label, nil); err != nil {
		w.log.Warn("name the new app as the old", "err", err)
	}
	http.Redirect(rw, r, "/account/two-step?notice=app_replaced", http.StatusSeeOther)
}

// pendingFactor finds one of the user's pending methods.
func (w *Web) pendingFactor(r *http.Request, sess store.Session, u store.User, id string) (store.Factor, bool) {
	if id == "" {
		return store.Factor{}, false
	}
	all, err := w.acct.AllFactors(r.Context(), sess, u.ID)
	if err != nil {
		return store.Factor{}, false
	}
	for _, f := range all {
		if f.ID == id && f.Status == factor.Pending {
			return f, true
		}
	}
	return store.Factor{}, false
}

// waitFor returns the seconds left of a method's resend cooldown.
func (w *Web) waitFor(r *http.Request, f store.Factor) int {
	left, err := w.acct.ResendWait(r.Context(), f.ID, string(f.Kind))
	if err != nil {
		return 0
	}
	return int(left.Seconds() + 0.999)
}
