package web

import (
	"errors"
	"net/http"
	"strings"

	"twostep/internal/account"
	"twostep/internal/password"
)

type sessionRow struct {
	ID, Browser, IP, Created, LastSeen string
	Current                            bool
}

type eventRow struct {
	What, Outcome, When, IP, Browser string
	Failed, Note                     bool
}

// failedOutcomes are shown as failures in the activity list.
var failedOutcomes = map[string]bool{"failure": true, "throttled": true, "locked": true, "lockout": true, "unknown_email": true}

type accountData struct {
	Page         page
	FormError    string
	User         struct{ Email string }
	Since        string
	Verified     bool
	TwoStep      bool
	Sessions     []sessionRow
	Events       []eventRow
	CurrentField field
	NewField     field
}

// eventNames are the activity list's words for event kinds.
var eventNames = map[string]string{
	"signup": "Account created", "signin": "Sign-in", "signout": "Signed out",
	"signout_everywhere": "Signed out everywhere", "sessions_revoked": "Other sessions signed out",
	"session_revoked": "A session was signed out", "password_change": "Password change",
	"password_reset_request": "Password reset requested", "password_reset": "Password reset",
	"email_verified":   "E-mail address confirmed",
	"two_step_enabled": "Two-step verification turned on", "two_step_disabled": "Two-step verification turned off",
	"factor_added": "Method added", "factor_removed": "Method removed", "factor_changed": "Method changed",
	"recovery_codes": "New recovery codes", "recovery_code_used": "Recovery code used",
	"second_factor": "Second-step code", "step_up": "Identity confirmed",
	"device_remembered": "Browser remembered", "device_forgotten": "Browser forgotten",
}

func (w *Web) accountPage(rw http.ResponseWriter, r *http.Request) {
	w.showAccount(rw, r, http.StatusOK, "", field{}, field{})
}

// showAccount renders the account page, with form errors when a change
// was refused.
func (w *Web) showAccount(rw http.ResponseWriter, r *http.Request, status int, formError string, cur, next field) {
	sess, u, ok := w.requireUser(rw, r)
	if !ok {
		return
	}
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
	d := accountData{Page: w.page("Your account", &u), FormError: formError, Since: when(u.CreatedAt), Verified: !u.EmailVerifiedAt.IsZero(), TwoStep: u.TwoStepEnabled}
	d.Page.Notice = notices[r.URL.Query().Get("notice")]
	d.User.Email = u.Email
	for _, s := range sessions {
		d.Sessions = append(d.Sessions, sessionRow{ID: s.ID, Browser: account.DescribeAgent(s.UserAgent), IP: s.IP,
			Created: when(s.CreatedAt), LastSeen: when(s.LastSeenAt), Current: s.ID == sess.ID})
	}
	for _, e := range events {
		name := eventNames[e.Kind]
		if name == "" {
			name = e.Kind
		}
		d.Events = append(d.Events, eventRow{What: name, Outcome: strings.ReplaceAll(e.Outcome, "_", " "), When: when(e.CreatedAt),
			IP: e.IP, Browser: account.DescribeAgent(e.UserAgent), Failed: failedOutcomes[e.Outcome], Note: e.Outcome != "success" && !failedOutcomes[e.Outcome]})
	}
	d.CurrentField = field{Name: "current_password", Label: "Current password", Type: "password", Autocomplete: "current-password", Required: true}
	d.NewField = newPasswordField("new_password", "New password", "", "")
	if cur.Error != "" {
		d.CurrentField.Error = cur.Error
	}
	if next.Error != "" {
		d.NewField.Error = next.Error
	}
	w.render(rw, status, "account", d)
}

func (w *Web) changePassword(rw http.ResponseWriter, r *http.Request) {
	sess, _, ok := w.requireUser(rw, r)
	if !ok {
		return
	}
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	err := w.acct.ChangePassword(r.Context(), w.client(r), sess, r.PostFormValue("current_password"), r.PostFormValue("new_password"))
	if err != nil {
		status, msg := w.explain(err)
		var weak *password.WeakError
		var su *account.StepUpRequiredError
		switch {
		case errors.As(err, &su):
			w.stepUp(rw, r, "/account")
		case errors.Is(err, account.ErrWrongPassword):
			w.showAccount(rw, r, status, "", field{Error: msg}, field{})
		case errors.As(err, &weak):
			w.showAccount(rw, r, status, "", field{}, field{Error: msg})
		case status >= 500:
			w.fail(rw, r, err)
		default:
			w.showAccount(rw, r, status, msg, field{}, field{})
		}
		return
	}
	http.Redirect(rw, r, "/account?notice=password_changed", http.StatusSeeOther)
}

func (w *Web) revokeSession(rw http.ResponseWriter, r *http.Request) {
	sess, _, ok := w.requireUser(rw, r)
	if !ok {
		return
	}
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

func (w *Web) revokeOthers(rw http.ResponseWriter, r *http.Request) {
	sess, _, ok := w.requireUser(rw, r)
	if !ok {
		return
	}
	if _, err := w.acct.RevokeOthers(r.Context(), w.client(r), sess); err != nil {
		w.fail(rw, r, err)
		return
	}
	http.Redirect(rw, r, "/account?notice=others_ended", http.StatusSeeOther)
}

func (w *Web) signoutEverywhere(rw http.ResponseWriter, r *http.Request) {
	sess, _, ok := w.requireUser(rw, r)
	if !ok {
		return
	}
	if _, err := w.acct.SignOutEverywhere(r.Context(), w.client(r), sess); err != nil {
		w.fail(rw, r, err)
		return
	}
	w.cookies.ClearSession(rw)
	http.Redirect(rw, r, "/signin?notice=signed_out_all", http.StatusSeeOther)
}

func (w *Web) resendVerification(rw http.ResponseWriter, r *http.Request) {
	_, u, ok := w.requireUser(rw, r)
	if !ok {
		return
	}
	if err := w.acct.ResendVerification(r.Context(), w.client(r), u); err != nil {
		w.fail(rw, r, err)
		return
	}
	http.Redirect(rw, r, "/account?notice=verification_sent", http.StatusSeeOther)
}

type outboxRow struct {
	Channel, To, Subject, Body, When string
}

type outboxData struct {
	Page     page
	Messages []outboxRow
}

func (w *Web) outboxPage(rw http.ResponseWriter, r *http.Request) {
	msgs, err := w.outbox.List(r.Context(), r.URL.Query().Get("to"), 100)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	d := outboxData{Page: w.page("Developer outbox", nil)}
	if _, u, ok := w.current(r); ok {
		d.Page.Email = u.Email
	}
	for _, m := range msgs {
		d.Messages = append(d.Messages, outboxRow{Channel: string(m.Channel), To: m.To, Subject: m.Subject, Body: m.Body, When: when(m.SentAt)})
	}
	w.render(rw, http.StatusOK, "outbox", d)
}
