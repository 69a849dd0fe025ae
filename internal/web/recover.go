package web

import (
	"errors"
	"html/template"
	"net/http"
	"time"

	"twostep/internal/account"
	"twostep/internal/i18n"
)

// Lost every method: the recovery with a waiting period. From the
// challenge's "I can't use any of these", a page asks for the e-mailed
// link; the link's page starts the wait (on a button: mail scanners open
// links); a cancel link's page stops it; after the wait, signing in from
// the browser that opened the link lands on the completion page.

// recoverState is which step recover.html shows.
type recoverState string

const (
	recoverAsk       recoverState = "ask"       // the request form
	recoverSent      recoverState = "sent"      // check your e-mail
	recoverConfirm   recoverState = "confirm"   // the link's page: start the wait
	recoverWaiting   recoverState = "waiting"   // the wait started: ready at …
	recoverCancelAsk recoverState = "cancelask" // a cancel link's page
	recoverCancelled recoverState = "cancelled" // the recovery is cancelled
	recoverEnded     recoverState = "ended"     // the link's recovery already ended
	recoverInvalid   recoverState = "invalid"   // no such link
	recoverDone      recoverState = "done"      // finished: two-step is off
)

type recoverData struct {
	Page      page
	State     recoverState
	FormError string
	Email     string
	Token     string
	// Delay is the waiting period in words, TTL the link's lifetime.
	Delay, TTL string
	// ReadyAt is when the recovery can be finished: a <time> element.
	ReadyAt template.HTML
	// Required: the site requires two-step verification (set it up next).
	Required bool
}

// recoverData is the page of state st titled with the message titleID,
// in l's language.
func (w *Web) recoverData(l *i18n.Localizer, titleID string, st recoverState) recoverData {
	return recoverData{Page: w.page(l.T(titleID), nil), State: st,
		Delay: l.Duration(w.acct.RecoveryDelay()), TTL: l.Duration(w.acct.Config().Recovery.LinkTTL.D())}
}

// readyHTML is the moment a recovery is ready, for a page: "14:05 UTC on
// Thursday 3 December" in a <time> element (static/time.js says it in the
// reader's own zone).
func (w *Web) readyHTML(l *i18n.Localizer, t time.Time) template.HTML {
	u := t.UTC()
	return template.HTML(`<time datetime="` + u.Format(time.RFC3339) + `">` + template.HTMLEscapeString(l.At(u, w.acct.Now())) + `</time>`)
}

// recoverPage asks for the link, for the pending sign-in's account.
func (w *Web) recoverPage(rw http.ResponseWriter, r *http.Request) {
	l := w.loc(r)
	_, u, err := w.acct.PendingChallenge(r.Context(), w.cookies.Pending(r))
	if errors.Is(err, account.ErrSignInExpired) {
		w.cookies.ClearPending(rw)
		http.Redirect(rw, r, "/signin?notice=signin_expired", http.StatusSeeOther)
		return
	}
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	d := w.recoverData(l, "recover.title", recoverAsk)
	d.Email = u.Email
	w.render(rw, http.StatusOK, "recover", d)
}

func (w *Web) recoverRequest(rw http.ResponseWriter, r *http.Request) {
	l := w.loc(r)
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	u, err := w.acct.RequestRecovery(r.Context(), w.client(r), w.cookies.Pending(r))
	if errors.Is(err, account.ErrSignInExpired) {
		w.cookies.ClearPending(rw)
		http.Redirect(rw, r, "/signin?notice=signin_expired", http.StatusSeeOther)
		return
	}
	d := w.recoverData(l, "recover.sent_title", recoverSent)
	d.Email = u.Email
	if err != nil {
		status, msg := w.why(r, err)
		if status >= 500 {
			w.fail(rw, r, err)
			return
		}
		d.State, d.Page.Title, d.FormError = recoverAsk, l.T("recover.title"), msg
		w.render(rw, status, "recover", d)
		return
	}
	w.render(rw, http.StatusOK, "recover", d)
}

// recoverLink is the page of the e-mailed link: it names the account and
// offers to start the wait, which a POST does.
func (w *Web) recoverLink(rw http.ResponseWriter, r *http.Request) {
	l := w.loc(r)
	rw.Header().Set("Referrer-Policy", "no-referrer") // the token is in the URL
	token := r.URL.Query().Get("token")
	rec, u, err := w.acct.RecoveryByConfirmLink(r.Context(), token)
	d := w.recoverData(l, "recover.title", recoverConfirm)
	switch {
	case errors.Is(err, account.ErrInvalidToken):
		d.State = recoverInvalid
		w.render(rw, http.StatusBadRequest, "recover", d)
		return
	case err != nil:
		w.fail(rw, r, err)
		return
	case !rec.Open() || !rec.ConfirmedAt.IsZero():
		d.State = recoverEnded
		w.render(rw, http.StatusConflict, "recover", d)
		return
	}
	d.Email, d.Token = u.Email, token
	w.render(rw, http.StatusOK, "recover", d)
}

func (w *Web) recoverStart(rw http.ResponseWriter, r *http.Request) {
	l := w.loc(r)
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	rw.Header().Set("Referrer-Policy", "no-referrer")
	rec, browser, err := w.acct.ConfirmRecovery(r.Context(), w.client(r), r.PostFormValue("token"))
	d := w.recoverData(l, "recover.started_title", recoverWaiting)
	if err != nil {
		status, _ := w.why(r, err)
		switch {
		case errors.Is(err, account.ErrInvalidToken):
			d.State = recoverInvalid
		case errors.Is(err, account.ErrRecoveryEnded):
			d.State = recoverEnded
		default:
			w.fail(rw, r, err)
			return
		}
		d.Page.Title = l.T("recover.title")
		w.render(rw, status, "recover", d)
		return
	}
	if browser != "" {
		w.cookies.SetBrowser(rw, browser)
	}
	d.ReadyAt = w.readyHTML(l, rec.ReadyAt)
	w.render(rw, http.StatusOK, "recover", d)
}

// cancelLink is the page of a notice's cancel link: one button stops the
// recovery.
func (w *Web) cancelLink(rw http.ResponseWriter, r *http.Request) {
	l := w.loc(r)
	rw.Header().Set("Referrer-Policy", "no-referrer")
	token := r.URL.Query().Get("token")
	rec, u, err := w.acct.RecoveryByCancelLink(r.Context(), token)
	d := w.recoverData(l, "recover.cancel_title", recoverCancelAsk)
	switch {
	case errors.Is(err, account.ErrInvalidToken):
		d.State = recoverInvalid
		w.render(rw, http.StatusBadRequest, "recover", d)
		return
	case err != nil:
		w.fail(rw, r, err)
		return
	case !rec.Open():
		d.State = recoverEnded
		w.render(rw, http.StatusConflict, "recover", d)
		return
	}
	d.Email, d.Token, d.ReadyAt = u.Email, token, w.readyHTML(l, rec.ReadyAt)
	w.render(rw, http.StatusOK, "recover", d)
}

func (w *Web) cancelRecovery(rw http.ResponseWriter, r *http.Request) {
	l := w.loc(r)
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	rw.Header().Set("Referrer-Policy", "no-referrer")
	_, err := w.acct.CancelRecovery(r.Context(), w.client(r), r.PostFormValue("token"))
	d := w.recoverData(l, "recover.cancelled_title", recoverCancelled)
	if err != nil {
		status, _ := w.why(r, err)
		switch {
		case errors.Is(err, account.ErrInvalidToken):
			d.State = recoverInvalid
		case errors.Is(err, account.ErrRecoveryEnded):
			d.State = recoverEnded
		default:
			w.fail(rw, r, err)
			return
		}
		d.Page.Title = l.T("recover.cancel_title")
		w.render(rw, status, "recover", d)
		return
	}
	w.render(rw, http.StatusOK, "recover", d)
}

// recoveredPage is where a sign-in that finished a recovery lands: what
// happened, and the wizard next.
func (w *Web) recoveredPage(rw http.ResponseWriter, r *http.Request) {
	l := w.loc(r)
	_, u, ok := w.current(r)
	if !ok {
		http.Redirect(rw, r, "/signin", http.StatusSeeOther)
		return
	}
	d := w.recoverData(l, "recover.done_title", recoverDone)
	d.Page.Email, d.Email = u.Email, u.Email
	req, err := w.acct.TwoStepRequirement(r.Context(), u)
	if err != nil {
		w.log.Error("two-step requirement", "err", err)
	}
	d.Required = req.Required
	w.render(rw, http.StatusOK, "recover", d)
}
