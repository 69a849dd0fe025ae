package web

import (
	"net/http"
	"net/url"

	"twostep/internal/account"
	"twostep/internal/server"
	"twostep/internal/signin"
	"twostep/internal/store"
	"twostep/internal/text"
)

// Confirming it's the user (step-up) before a sensitive change: a code
// when two-step verification is on, else the password; then back to the
// page that asked.

type methodOption struct {
	ID, Text string
	Selected bool
}

type confirmData struct {
	Page          page
	FormError     string
	Notice        string
	Sendable      []methodOption
	Next, Window  string
	Methods       []methodOption
	CodeField     field
	PasswordField field
}

func (w *Web) confirmPage(rw http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	w.renderConfirm(rw, r, http.StatusOK, u, signin.ReturnTo(r.URL.Query().Get("next"), w.opt.ReturnHosts), r.URL.Query().Get("method"), "")
}

func (w *Web) renderConfirm(rw http.ResponseWriter, r *http.Request, status int, u store.User, next, methodID, errMsg string) {
	d := confirmData{Page: w.page("Confirm it's you", &u), Next: next, Window: text.Duration(w.opt.StepUpWindow)}
	// The answer returns to next, perhaps an app: this page's form may
	// end there (also when shown again after a wrong code).
	if u, err := url.Parse(next); err == nil && u.Host != "" {
		rw.Header().Set("Content-Security-Policy", server.ContentSecurityPolicy(u.Scheme+"://"+u.Host))
	}
	if u.TwoStepEnabled {
		methods, err := w.acct.Methods(r.Context(), u.ID)
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		for i, m := range methods {
			d.Methods = append(d.Methods, methodOption{ID: m.ID, Text: m.Label + " (" + kindText(m.Kind) + ")", Selected: m.ID == methodID || (methodID == "" && i == 0)})
			if account.Sendable(m.Kind) {
				d.Sendable = append(d.Sendable, methodOption{ID: m.ID, Text: m.Label})
			}
		}
		if sent := r.URL.Query().Get("sent"); sent != "" {
			d.Notice = "We sent a code. It works for 10 minutes."
		}
		d.CodeField = field{Name: "code", Label: "Code", Type: "text", Autocomplete: "one-time-code", Required: true, Autofocus: true, Error: errMsg}
	} else {
		d.PasswordField = field{Name: "password", Label: "Your password", Type: "password", Autocomplete: "current-password", Required: true, Autofocus: true, Error: errMsg}
	}
	w.render(rw, status, "confirm", d)
}

func (w *Web) confirm(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	next := signin.ReturnTo(r.PostFormValue("next"), w.opt.ReturnHosts)
	var err error
	methodID := r.PostFormValue("method_id")
	if u.TwoStepEnabled {
		err = w.acct.StepUpCode(r.Context(), w.client(r), sess, u, methodID, r.PostFormValue("code"))
	} else {
		err = w.acct.StepUpPassword(r.Context(), w.client(r), sess, u, r.PostFormValue("password"))
	}
	if err != nil {
		status, msg := w.explain(err)
		if status >= 500 {
			w.fail(rw, r, err)
			return
		}
		w.renderConfirm(rw, r, status, u, next, methodID, msg)
		return
	}
	http.Redirect(rw, r, next, http.StatusSeeOther)
}

// confirmSend sends a step-up code to a phone or e-mail method.
func (w *Web) confirmSend(rw http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	next, methodID := signin.ReturnTo(r.PostFormValue("next"), w.opt.ReturnHosts), r.PostFormValue("method_id")
	if _, err := w.acct.SendStepUpCode(r.Context(), w.client(r), u, methodID, r.PostFormValue("channel")); err != nil {
		status, msg := w.explain(err)
		if status >= 500 && status != http.StatusServiceUnavailable {
			w.fail(rw, r, err)
			return
		}
		w.renderConfirm(rw, r, status, u, next, methodID, msg)
		return
	}
	http.Redirect(rw, r, "/account/confirm?next="+url.QueryEscape(next)+"&method="+url.QueryEscape(methodID)+"&sent=1", http.StatusSeeOther)
}

// stepUp sends the browser to confirm it's the user, then back to next.
func (w *Web) stepUp(rw http.ResponseWriter, r *http.Request, next string) {
	http.Redirect(rw, r, "/account/confirm?next="+url.QueryEscape(next), http.StatusSeeOther)
}
