package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"twostep/internal/i18n"
)

// langCookie keeps the language chosen from the menu by someone not signed
// in (a signed-in person's choice is saved with the account too).
const langCookie = "twostep_lang"

// langWriter is the response writer of a page request, carrying the
// language the page is said in: render reads it, so the pages keep their
// render(rw, status, name, data) shape.
type langWriter struct {
	http.ResponseWriter
	loc *i18n.Localizer
}

// Unwrap lets http.ResponseController reach the writer underneath.
func (lw *langWriter) Unwrap() http.ResponseWriter { return lw.ResponseWriter }

// language picks each request's language — the cookie of a choice made
// here, else the browser's Accept-Language, else the site's default —
// and hands it to the handler in the request's context (for its own
// words and the problem vocabulary's) and in the writer (for the page).
// authed then prefers the signed-in person's saved choice.
func (w *Web) language(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var saved string
		if c, err := r.Cookie(langCookie); err == nil {
			saved = c.Value
		}
		loc := w.msgs.Negotiate(saved, r.Header.Get("Accept-Language"))
		lw := &langWriter{ResponseWriter: rw, loc: loc}
		rw.Header().Add("Vary", "Accept-Language, Cookie")
		next.ServeHTTP(lw, r.WithContext(i18n.With(r.Context(), loc)))
	})
}

// speak makes u's saved language the request's, when u saved one: the
// pages of the signed-in follow the account, not the browser.
func (w *Web) speak(rw http.ResponseWriter, r *http.Request, lang string) *http.Request {
	if lang == "" {
		return r
	}
	loc := w.msgs.Saved(lang)
	if lw, ok := rw.(*langWriter); ok {
		lw.loc = loc
	}
	return r.WithContext(i18n.With(r.Context(), loc))
}

// loc is the request's language.
func (w *Web) loc(r *http.Request) *i18n.Localizer {
	if l := i18n.From(r.Context()); l != nil {
		return l
	}
	var saved string
	if c, err := r.Cookie(langCookie); err == nil {
		saved = c.Value
	}
	return w.msgs.Negotiate(saved, r.Header.Get("Accept-Language"))
}

// locOf is the language a page written to rw is said in.
func (w *Web) locOf(rw http.ResponseWriter) *i18n.Localizer {
	if lw, ok := rw.(*langWriter); ok && lw.loc != nil {
		return lw.loc
	}
	return w.msgs.Default()
}

// chooseLanguage is the footer menu's form: the choice goes in a cookie,
// and with the account of someone signed in; back to the page it was made
// on. A value the site does not have clears the choice, quietly.
func (w *Web) chooseLanguage(rw http.ResponseWriter, r *http.Request) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	lang := ""
	if t, ok := w.msgs.Exact(r.PostFormValue("lang")); ok {
		lang = t.String()
	}
	ck := &http.Cookie{Name: langCookie, Value: lang, Path: "/", HttpOnly: true, Secure: w.cookies.Secure(), SameSite: http.SameSiteLaxMode,
		MaxAge: int((365 * 24 * time.Hour).Seconds())}
	if lang == "" {
		ck.MaxAge = -1
	}
	http.SetCookie(rw, ck)
	if _, u, ok := w.current(r); ok {
		if err := w.acct.SetLanguage(r.Context(), u.ID, lang); err != nil {
			w.fail(rw, r, err)
			return
		}
	}
	http.Redirect(rw, r, backTo(r), http.StatusSeeOther)
}

// backTo is the page the menu was used on, from the Referer the pages'
// same-origin policy sends; "/" when there is none or it is another
// site's.
func backTo(r *http.Request) string {
	u, err := url.Parse(r.Referer())
	if err != nil || u.Host != r.Host || u.Path == "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	if u.RawQuery != "" {
		return u.Path + "?" + u.RawQuery
	}
	return u.Path
}

// scriptMessages are the words static/*.js say (script.<key>), handed to
// them in the page's JSON block #script-messages; a script without the
// block says its English.
var scriptMessages = []string{"copied", "copy_failed", "can_use_now", "no_security_keys", "cancelled_create", "cancelled_get", "already_added", "failed", "unreachable"}

// menuEntry is one language of the footer's menu.
type menuEntry struct {
	Tag, Name string
	Current   bool
}

// funcs are the templates' words in loc's language: {{t "id"}} and
// {{t "id" "Name" .Value}}, {{tn "id" .N}} for a count, {{th "id" …}}
// (the same as t, named so where the message holds markup). The
// catalogue's text is trusted as HTML and the data escaped (i18n's HTML),
// so an apostrophe reads as typed. Then the language's tag, direction
// and menu.
func (w *Web) funcs(loc *i18n.Localizer) template.FuncMap {
	var menu []menuEntry
	for _, t := range w.msgs.Languages() {
		menu = append(menu, menuEntry{Tag: t.String(), Name: w.msgs.In(t).T("language.name"), Current: t == loc.Tag()})
	}
	return template.FuncMap{
		"t":         loc.HTML,
		"tn":        loc.HTMLN,
		"th":        loc.HTML,
		"lang":      loc.Lang,
		"dir":       loc.Dir,
		"languages": func() []menuEntry { return menu },
		"when":      loc.TimeHTML,
		"scriptMessages": func() map[string]string {
			out := map[string]string{}
			for _, k := range scriptMessages {
				out[k] = loc.T("script."+k, "Label", "{label}")
			}
			return out
		},
	}
}
