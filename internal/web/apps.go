package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"twostep/internal/i18n"
	"twostep/internal/oidc"
	"twostep/internal/server"
	"twostep/internal/signin"
	"twostep/internal/store"
)

// Apps signing people in through twostep (package oidc): the page an
// authorization request continues at once the person has signed in, the
// consent page, sign-out asked for by an app, and the account page's
// "Apps with access".

// appContinue sends an app's sign-in request on to what it still needs:
// sign-in, a fresh password, the second step, consent — or back to the
// app with its code. With prompt=none nothing is shown: the app gets the
// error instead.
func (w *Web) appContinue(rw http.ResponseWriter, r *http.Request) {
	req, err := w.apps.Request(r.Context(), r.URL.Query().Get("id"))
	if err != nil {
		w.appRequestGone(rw, r, err)
		return
	}
	sess, u, signedIn := w.current(r)
	step, err := w.apps.Decide(r.Context(), req, sess, u, signedIn)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	here := oidc.ContinuePath + "?id=" + url.QueryEscape(req.ID)
	switch step {
	case oidc.StepSignIn, oidc.StepFreshSignIn:
		if req.PromptNone {
			w.apps.Refuse(rw, r, req, oidc.LoginRequired)
			return
		}
		w.cookies.SetReturn(rw, here)
		target := "/signin"
		if step == oidc.StepFreshSignIn {
			target = "/signin?prompt=login"
		}
		http.Redirect(rw, r, target, http.StatusSeeOther)
	case oidc.StepSecondStep:
		if req.PromptNone {
			w.apps.Refuse(rw, r, req, oidc.InteractionRequired)
			return
		}
		http.Redirect(rw, r, "/signin/second-step?rd="+url.QueryEscape(here), http.StatusSeeOther)
	case oidc.StepConsent:
		if req.PromptNone {
			w.apps.Refuse(rw, r, req, oidc.ConsentRequired)
			return
		}
		w.render(rw, http.StatusOK, "consent", consentData{Page: w.page(w.loc(r).T("consent.title", "App", req.ClientName), &u), App: req.ClientName, ID: req.ID, Email: u.Email, Scopes: scopeWords(w.loc(r), req.Scopes)})
	default:
		w.apps.Finish(rw, r, req, sess, w.client(r))
	}
}

// appRequestGone is the page for a sign-in request that expired or was
// used: the app has to start again.
func (w *Web) appRequestGone(rw http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, oidc.ErrUnknownRequest) {
		w.fail(rw, r, err)
		return
	}
	l := w.loc(r)
	w.render(rw, http.StatusBadRequest, "error", errorData{Page: w.page(l.T("consent.expired_title"), nil), Heading: l.T("consent.expired_heading"),
		Message: l.T("problem.app_request_expired.detail"), Back: "/account"})
}

type consentData struct {
	Page    page
	App, ID string
	Email   string
	Scopes  []string
}

// scopeWords says what each scope lets an app know or do.
func scopeWords(l *i18n.Localizer, scopes []string) []string {
	var out []string
	for _, s := range scopes {
		switch s {
		case "openid", "email", "offline_access":
			out = append(out, l.T("consent.scope_"+s))
		}
	}
	return out
}

// appConsent is the answer on the consent page.
func (w *Web) appConsent(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	req, err := w.apps.Request(r.Context(), r.PostFormValue("id"))
	if err != nil {
		w.appRequestGone(rw, r, err)
		return
	}
	if r.PostFormValue("answer") != "allow" {
		w.apps.Refuse(rw, r, req, oidc.AccessDenied)
		return
	}
	if err := w.apps.Allow(r.Context(), w.client(r), req, u); err != nil {
		w.fail(rw, r, err)
		return
	}
	http.Redirect(rw, r, oidc.ContinuePath+"?id="+url.QueryEscape(req.ID), http.StatusSeeOther)
}

// signoutPage asks before signing out, for an app's logout link that did
// not say whose session it ends (no id_token_hint): a link anyone can
// send must not sign people out by itself.
func (w *Web) signoutPage(rw http.ResponseWriter, r *http.Request) {
	_, u, ok := w.current(r)
	if !ok {
		http.Redirect(rw, r, "/signin?notice=signed_out", http.StatusSeeOther)
		return
	}
	w.render(rw, http.StatusOK, "signout", struct{ Page page }{w.page(w.loc(r).T("signout.title"), &u)})
}

type appRow struct {
	ClientID, Name, Scopes string
	Allowed                template.HTML
}

// appRows are the apps the person allowed, for the account page.
func (w *Web) appRows(r *http.Request, userID string) ([]appRow, error) {
	if w.apps == nil {
		return nil, nil
	}
	apps, err := w.apps.Apps(r.Context(), userID)
	if err != nil {
		return nil, err
	}
	rows := make([]appRow, 0, len(apps))
	for _, a := range apps {
		rows = append(rows, appRow{ClientID: a.ClientID, Name: a.Name, Allowed: w.loc(r).TimeHTML(a.AllowedAt), Scopes: strings.Join(scopeWords(w.loc(r), a.Scopes), " · ")})
	}
	return rows, nil
}

// revokeApp removes an app's access: what the person allowed it and every
// token it holds for them.
func (w *Web) revokeApp(rw http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	err := w.apps.RevokeApp(r.Context(), w.client(r), u.ID, r.PathValue("id"))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		w.fail(rw, r, err)
		return
	}
	http.Redirect(rw, r, "/account?notice=app_removed#apps-h", http.StatusSeeOther)
}

// formTargets gives the page's forms leave to end at the app the person
// is signing in for: browsers check every redirect of a form's
// navigation against the policy's form-action, so without it the last
// hop of a sign-in, from twostep to the app, is blocked. The targets are
// the validated return address (rd, "Confirm it's you"'s next, or the
// one kept) and, for an app's
// sign-in request, its registered redirect's origin.
func (w *Web) formTargets(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var origins []string
		add := func(o string) {
			if o != "" && !slices.Contains(origins, o) {
				origins = append(origins, o)
			}
		}
		for _, rd := range []string{r.URL.Query().Get("rd"), r.URL.Query().Get("next"), w.cookies.Return(r)} {
			if rd == "" || signin.ReturnTo(rd, w.opt.ReturnHosts) != rd {
				continue
			}
			u, err := url.Parse(rd)
			if err != nil {
				continue
			}
			if u.Host != "" {
				add(u.Scheme + "://" + u.Host)
			} else if u.Path == oidc.ContinuePath && w.apps != nil {
				add(w.apps.RedirectOrigin(r.Context(), u.Query().Get("id")))
			}
		}
		if r.URL.Path == oidc.ContinuePath && w.apps != nil {
			add(w.apps.RedirectOrigin(r.Context(), r.URL.Query().Get("id")))
		}
		if len(origins) > 0 {
			rw.Header().Set("Content-Security-Policy", server.ContentSecurityPolicy(origins...))
		}
		next.ServeHTTP(rw, r)
	})
}

// appAsking is the name of the app a sign-in page is for ("Sign in to
// continue to Shop Admin"), from the return address; "" for none.
func (w *Web) appAsking(r *http.Request) string {
	if w.apps == nil {
		return ""
	}
	rd := r.URL.Query().Get("rd")
	if rd == "" {
		rd = w.cookies.Return(r)
	}
	u, err := url.Parse(rd)
	if err != nil || u.Path != oidc.ContinuePath || u.Host != "" {
		return ""
	}
	return w.apps.AppName(r.Context(), u.Query().Get("id"))
}
