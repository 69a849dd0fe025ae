package web

import (
	"errors"
	"html/template"
	"net/http"

	"twostep/internal/account"
	"twostep/internal/audit"
	"twostep/internal/device"
	"twostep/internal/i18n"
	"twostep/internal/store"
)

// The account page: sessions, recent security events, the password and
// the e-mail confirmation link.

type sessionRow struct {
	ID, Browser, IP   string
	Created, LastSeen template.HTML // <time> elements (i18n.Localizer.TimeHTML)
	Current           bool
}

type eventRow struct {
	What, Outcome, IP, Browser string
	When                       template.HTML
	Failed, Note               bool
}

type accountData struct {
	Page         page
	FormError    string
	User         struct{ Email string }
	Since        template.HTML
	Verified     bool
	TwoStep      bool
	Sessions     []sessionRow
	Events       []eventRow
	Apps         []appRow
	CurrentField field
	NewField     field
	// TurnOn: the "Turn on" button starts the wizard at its app step (the
	// address is confirmed); else it leads to the two-step page.
	TurnOn bool
	// Devices counts the remembered browsers, listed on the two-step
	// page.
	Devices string
	// Confirmed: a step-up for the password change just succeeded; the
	// passwords are asked for again.
	Confirmed bool
}

func (w *Web) accountPage(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	w.showAccount(rw, r, sess, u, http.StatusOK, "", field{}, field{})
}

// showAccount renders the account page, with form errors when a change
// was refused.
func (w *Web) showAccount(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User, status int, formError string, cur, next field) {
	sessions, err := w.acct.Sessions(r.Context(), u.ID)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	events, err := w.acct.Events(r.Context(), u.ID, 20)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	apps, err := w.appRows(r, u.ID)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	l := w.loc(r)
	d := accountData{Apps: apps, Page: w.page(l.T("account.title"), &u), FormError: formError, Since: l.TimeHTML(u.CreatedAt), Verified: !u.EmailVerifiedAt.IsZero(), TwoStep: u.TwoStepEnabled}
	notice := r.URL.Query().Get("notice")
	d.Confirmed = notice == "confirmed_password"
	if !d.Confirmed {
		d.Page.Notice = w.notice(r, notice)
	}
	d.TurnOn = !u.TwoStepEnabled && d.Verified
	if u.TwoStepEnabled {
		devices, err := w.acct.Devices(r.Context(), w.client(r), u.ID)
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		d.Devices = l.N("account.remembered_browsers", len(devices))
	}
	d.User.Email = u.Email
	for _, s := range sessions {
		d.Sessions = append(d.Sessions, sessionRow{ID: s.ID, Browser: device.DescribeAgent(s.UserAgent), IP: s.IP,
			Created: l.TimeHTML(s.CreatedAt), LastSeen: l.TimeHTML(s.LastSeenAt), Current: s.ID == sess.ID})
	}
	for _, e := range events {
		outcome := audit.Outcome(e.Outcome)
		d.Events = append(d.Events, eventRow{What: eventWords(l, audit.Kind(e.Kind)), Outcome: outcomeWords(l, outcome), When: l.TimeHTML(e.CreatedAt),
			IP: e.IP, Browser: device.DescribeAgent(e.UserAgent), Failed: outcome.Failed(), Note: outcome != audit.Success && !outcome.Failed()})
	}
	d.CurrentField = field{Name: "current_password", Label: l.T("account.current_password"), Type: "password", Autocomplete: "current-password", Required: true, Autofocus: d.Confirmed}
	d.NewField = w.newPasswordField(l, "new_password", l.T("account.new_password"), "", "")
	if cur.Error != "" {
		d.CurrentField.Error = cur.Error
	}
	if next.Error != "" {
		d.NewField.Error = next.Error
	}
	w.render(rw, status, "account", d)
}

func (w *Web) changePassword(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	err := w.acct.ChangePassword(r.Context(), w.client(r), sess, r.PostFormValue("current_password"), r.PostFormValue("new_password"))
	if err != nil {
		p := w.problemIn(r, err)
		// The message goes beside the field at fault; a weak password is
		// the new one.
		switch {
		case p.Code == "step_up_required":
			// The typed passwords are not kept: after confirming, the
			// page asks for them again and says so.
			w.stepUpFor(rw, r, pending{Action: actPassword})
		case p.Status >= 500:
			w.fail(rw, r, err)
		case p.Field == "current_password":
			w.showAccount(rw, r, sess, u, p.Status, "", field{Error: p.Message()}, field{})
		case p.Field == "password":
			w.showAccount(rw, r, sess, u, p.Status, "", field{}, field{Error: p.Message()})
		default:
			w.showAccount(rw, r, sess, u, p.Status, p.Message(), field{}, field{})
		}
		return
	}
	http.Redirect(rw, r, "/account?notice=password_changed", http.StatusSeeOther)
}

func (w *Web) revokeSession(rw http.ResponseWriter, r *http.Request, sess store.Session, _ store.User) {
	id := r.PathValue("id")
	if err := w.acct.RevokeSession(r.Context(), w.client(r), sess, id); err != nil && !errors.Is(err, account.ErrSessionNotFound) {
		w.fail(rw, r, err)
		return
	}
	if id == sess.ID {
		w.cookies.ClearSession(rw)
		http.Redirect(rw, r, "/signin?notice=signed_out", http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, "/account?notice=session_ended", http.StatusSeeOther)
}

func (w *Web) revokeOthers(rw http.ResponseWriter, r *http.Request, sess store.Session, _ store.User) {
	if _, err := w.acct.RevokeOthers(r.Context(), w.client(r), sess); err != nil {
		w.fail(rw, r, err)
		return
	}
	http.Redirect(rw, r, "/account?notice=others_ended", http.StatusSeeOther)
}

func (w *Web) signoutEverywhere(rw http.ResponseWriter, r *http.Request, sess store.Session, _ store.User) {
	if _, err := w.acct.SignOutEverywhere(r.Context(), w.client(r), sess); err != nil {
		w.fail(rw, r, err)
		return
	}
	w.cookies.ClearSession(rw)
	http.Redirect(rw, r, "/signin?notice=signed_out_all", http.StatusSeeOther)
}

func (w *Web) resendVerification(rw http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	if err := w.acct.ResendVerification(r.Context(), w.client(r), u); err != nil {
		w.fail(rw, r, err)
		return
	}
	http.Redirect(rw, r, "/account?notice=verification_sent", http.StatusSeeOther)
}

// eventWords is kind in the activity list's words (event.<kind>); a kind
// no longer recorded (an old row) shows as stored.
func eventWords(l *i18n.Localizer, k audit.Kind) string {
	if s := l.T("event." + string(k)); s != "event."+string(k) {
		return s
	}
	return k.Label()
}

// outcomeWords is an outcome in words (outcome.<name>): "second factor
// required".
func outcomeWords(l *i18n.Localizer, o audit.Outcome) string {
	if s := l.T("outcome." + string(o)); s != "outcome."+string(o) {
		return s
	}
	return o.Label()
}
