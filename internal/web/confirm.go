package web

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"twostep/internal/i18n"
	"twostep/internal/phone"

	"twostep/internal/account"
	"twostep/internal/server"
	"twostep/internal/signin"
	"twostep/internal/store"
)

// Confirming it's the user (step-up) before a sensitive change: a code
// when two-step verification is on, else the password. The change waits
// in the page's address and form (a pending action, never a typed
// password) and is carried out by the confirming POST, so the person
// lands on the page that says what happened. The same page asks once
// before a destructive change when no step-up is due.

type methodOption struct {
	ID, Text string
	Selected bool
}

type confirmData struct {
	Page      page
	FormError string
	Notice    string
	// Heading names the change ("Confirm it's you to remove Phone •••456");
	// Consequence says what follows, Warning what is lost.
	Heading, Consequence, Warning string
	// Fresh: no step-up is due; the page only asks once.
	Fresh bool
	// Button is the submit button's text; Danger paints it red.
	Button string
	Danger bool
	// Pending is the change, carried in hidden fields.
	Pending       []hiddenField
	Sendable      []methodOption
	Next, Window  string
	Method        methodOption
	Others        []methodOption
	CodeField     field
	PasswordField field
	// Key is the ceremony when Method is a security key: the page asks
	// the key instead of a code; KeyPrompt says how.
	Key       *keyCeremony
	KeyPrompt string
}

type hiddenField struct{ Name, Value string }

func (w *Web) confirmPage(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	q := r.URL.Query()
	w.renderConfirm(rw, r, http.StatusOK, sess, u, pendingFrom(q), signin.ReturnTo(q.Get("next"), w.opt.ReturnHosts), q.Get("method"), "")
}

func (w *Web) renderConfirm(rw http.ResponseWriter, r *http.Request, status int, sess store.Session, u store.User, p pending, next, methodID, errMsg string) {
	l := w.loc(r)
	d := confirmData{Page: w.page(l.T("confirm.title"), &u), Next: next, Window: l.Duration(w.opt.StepUpWindow), Heading: l.T("confirm.title"), Button: l.T("confirm.button")}
	if p.Action != "" {
		desc, err := w.describe(r, u, p)
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		if desc.what == "" { // the method or browser is gone: nothing waits
			p = pending{}
		} else {
			d.Heading, d.Consequence, d.Warning, d.Button, d.Danger = desc.what, desc.consequence, desc.warning, desc.button, desc.danger
			d.Page.Title = d.Heading
			d.Fresh = w.acct.RequireStepUp(r.Context(), sess, u) == nil
			if d.Fresh {
				d.Heading = desc.question
				d.Page.Title = desc.question
			}
			v := p.values()
			for _, k := range slices.Sorted(maps.Keys(v)) {
				d.Pending = append(d.Pending, hiddenField{k, v.Get(k)})
			}
		}
	}
	// The answer returns to next, perhaps an app: this page's form may
	// end there (also when shown again after a wrong code).
	if u, err := url.Parse(next); err == nil && u.Host != "" {
		rw.Header().Set("Content-Security-Policy", server.ContentSecurityPolicy(u.Scheme+"://"+u.Host))
	}
	if d.Fresh {
		w.render(rw, status, "confirm", d)
		return
	}
	if u.TwoStepEnabled {
		methods, err := w.acct.Methods(r.Context(), u.ID)
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		for i, m := range methods {
			opt := methodOption{ID: m.ID, Text: m.Label}
			if m.ID == methodID || (i == 0 && !hasMethod(methods, methodID)) {
				d.Method = opt
				d.CodeField = stepUpCodeField(l, m, errMsg)
				if account.Sendable(m.Kind) {
					d.Sendable = append(d.Sendable, opt)
				}
				if m.Kind == account.KindWebAuthn {
					d.FormError = errMsg // no code field to show it beside
					if err := w.stepUpKey(r, &d, sess, u, m); err != nil {
						w.fail(rw, r, err)
						return
					}
				}
				continue
			}
			d.Others = append(d.Others, opt)
		}
		if sent := r.URL.Query().Get("sent"); sent != "" {
			d.Notice = l.T("confirm.sent", "TTL", l.Duration(w.acct.Config().Codes.TTL.D()))
		}
	} else {
		d.PasswordField = field{Name: "password", Label: l.T("confirm.password"), Type: "password", Autocomplete: "current-password", Required: true, Autofocus: true, Error: errMsg}
	}
	w.render(rw, status, "confirm", d)
}

func hasMethod(methods []store.Factor, id string) bool {
	for _, m := range methods {
		if m.ID == id {
			return true
		}
	}
	return false
}

// stepUpCodeField is the step-up's code field for method m: digits get the
// phone's number pad, recovery codes the full keyboard.
func stepUpCodeField(l *i18n.Localizer, m store.Factor, errMsg string) field {
	f := field{Name: "code", Label: l.T("confirm.code_from", "Label", m.Label), Type: "text", Autocomplete: "one-time-code", Required: true, Autofocus: true, Error: errMsg, Inputmode: "numeric"}
	if account.Sendable(m.Kind) {
		f.Label = l.T("confirm.code_sent", "Label", m.Label)
	}
	if m.Kind == account.KindRecovery {
		f.Label, f.Inputmode, f.Autocomplete = l.T("challenge.recovery_code"), "", "off"
	}
	return f
}

func (w *Web) confirm(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	next := signin.ReturnTo(r.PostFormValue("next"), w.opt.ReturnHosts)
	p := pendingFrom(r.PostForm)
	methodID := r.PostFormValue("method_id")
	code, pw := r.PostFormValue("code"), r.PostFormValue("password")
	cred, withKey := r.PostForm["credential"]
	fresh := p.Action != "" && w.acct.RequireStepUp(r.Context(), sess, u) == nil
	if !fresh {
		if code == "" && pw == "" && !withKey && p.Action != "" {
			// The page asked only once, and the confirmation lapsed
			// meanwhile: ask for the code now.
			w.renderConfirm(rw, r, http.StatusOK, sess, u, p, next, methodID, "")
			return
		}
		var err error
		switch {
		case withKey && strings.TrimSpace(cred[0]) == "":
			w.renderConfirm(rw, r, http.StatusBadRequest, sess, u, p, next, methodID, noAnswer)
			return
		case withKey:
			err = w.acct.StepUpKey(r.Context(), w.client(r), sess, u, methodID, json.RawMessage(cred[0]))
		case u.TwoStepEnabled:
			err = w.acct.StepUpCode(r.Context(), w.client(r), sess, u, methodID, code)
		default:
			err = w.acct.StepUpPassword(r.Context(), w.client(r), sess, u, pw)
		}
		if err != nil {
			status, msg := w.why(r, err)
			if status >= 500 {
				w.fail(rw, r, err)
				return
			}
			w.renderConfirm(rw, r, status, sess, u, p, next, methodID, msg)
			return
		}
		// The session now carries the step-up: read it again.
		var ok bool
		if sess, u, ok = w.current(r); !ok {
			http.Redirect(rw, r, "/signin", http.StatusSeeOther)
			return
		}
	}
	if p.Action == "" {
		http.Redirect(rw, r, next, http.StatusSeeOther)
		return
	}
	w.perform(rw, r, sess, u, p)
}

// confirmSend sends a step-up code to a phone or e-mail method.
func (w *Web) confirmSend(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	next, methodID := signin.ReturnTo(r.PostFormValue("next"), w.opt.ReturnHosts), r.PostFormValue("method_id")
	p := pendingFrom(r.PostForm)
	if _, err := w.acct.SendStepUpCode(r.Context(), w.client(r), u, methodID, r.PostFormValue("channel")); err != nil {
		status, msg := w.why(r, err)
		if status >= 500 && status != http.StatusServiceUnavailable {
			w.fail(rw, r, err)
			return
		}
		w.renderConfirm(rw, r, status, sess, u, p, next, methodID, msg)
		return
	}
	q := p.values()
	q.Set("method", methodID)
	q.Set("sent", "1")
	http.Redirect(rw, r, confirmURL(next, q), http.StatusSeeOther)
}

// stepUp sends the browser to confirm it's the user, then back to next.
func (w *Web) stepUp(rw http.ResponseWriter, r *http.Request, next string) {
	http.Redirect(rw, r, "/account/confirm?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// stepUpFor sends the browser to confirm it's the user, with the change p
// waiting to be carried out once they have.
func (w *Web) stepUpFor(rw http.ResponseWriter, r *http.Request, p pending) {
	http.Redirect(rw, r, p.link(), http.StatusSeeOther)
}

// confirmURL is the confirm page's address: next first, then the rest.
func confirmURL(next string, rest url.Values) string {
	u := "/account/confirm?next=" + url.QueryEscape(next)
	if len(rest) > 0 {
		u += "&" + rest.Encode()
	}
	return u
}

// The changes that may wait for a step-up.
const (
	actRemove    = "remove"       // a method (ID)
	actCodes     = "new_codes"    // a new set of recovery codes
	actDisable   = "two_step_off" // turning two-step verification off
	actForget    = "forget"       // a remembered browser (ID)
	actForgetAll = "forget_all"   // every remembered browser
	actRename    = "rename"       // a method (ID) to Label
	actDefault   = "default"      // a method (ID) made the default
	actAddApp    = "add_app"      // an authenticator app, at wizard Step, replacing Replace
	actAddPhone  = "add_phone"    // the phone Phone by Via, at wizard Step
	actAddKey    = "add_key"      // a security key (a passkey when Via says so), at wizard Step
	actPassword  = "password"     // a new password: asked for again, never kept
)

// pending is a change waiting for "Confirm it's you". It travels in the
// confirm page's address and form; the server's cross-origin protection
// guards the POST that carries it out, and a GET only shows it.
type pending struct {
	Action, ID, Label, Phone, Via, Replace string
	Step                                   int
}

func pendingFrom(v url.Values) pending {
	p := pending{Action: v.Get("action"), ID: v.Get("id"), Label: v.Get("label"), Phone: v.Get("phone"), Via: v.Get("via"), Replace: v.Get("replace")}
	p.Step, _ = strconv.Atoi(v.Get("step"))
	switch p.Action {
	case actRemove, actCodes, actDisable, actForget, actForgetAll, actRename, actDefault, actAddApp, actAddPhone, actAddKey, actPassword:
		return p
	}
	return pending{}
}

func (p pending) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"action": p.Action, "id": p.ID, "label": p.Label, "phone": p.Phone, "via": p.Via, "replace": p.Replace} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if p.Step > 0 {
		v.Set("step", strconv.Itoa(p.Step))
	}
	return v
}

// back is where the change started, where Cancel leads.
func (p pending) back() string {
	switch {
	case p.Action == actPassword:
		return "/account"
	case p.Step > 0:
		return "/account/two-step/setup?step=" + strconv.Itoa(p.Step)
	}
	return "/account/two-step"
}

// link is the address of the page that confirms p.
func (p pending) link() string { return confirmURL(p.back(), p.values()) }

// description is a pending change in words.
type description struct {
	what, question, consequence, warning, button string
	danger                                       bool
}

// describe puts p into words; what is empty when the method or browser
// it names is gone.
func (w *Web) describe(r *http.Request, u store.User, p pending) (description, error) {
	methods, err := w.acct.Methods(r.Context(), u.ID)
	if err != nil {
		return description{}, err
	}
	var f store.Factor
	for _, m := range methods {
		if m.ID == p.ID || (p.Action == actAddApp && m.ID == p.Replace) {
			f = m
		}
	}
	hasCodes := false
	for _, m := range methods {
		hasCodes = hasCodes || m.Kind == account.KindRecovery
	}
	l := w.loc(r)
	// say is the words of action key (confirm.<key>.*): what names it
	// ("Confirm it's you to remove …"), question asks it when no
	// confirmation is needed, button does it.
	say := func(key string, danger, consequence bool, pairs ...any) description {
		d := description{what: l.T("confirm."+key+"_what", pairs...), question: l.T("confirm."+key+"_question", pairs...),
			button: l.T("confirm."+key+"_button", pairs...), danger: danger}
		if consequence {
			d.consequence = l.T("confirm."+key+"_consequence", pairs...)
		}
		return d
	}
	switch p.Action {
	case actRemove:
		if f.ID == "" {
			return description{}, nil
		}
		d := say("remove", true, true, "Label", f.Label)
		if f.Kind == account.KindRecovery {
			d.consequence = l.T("confirm.remove_codes_consequence")
		}
		if u.TwoStepEnabled && lastBackup(methods, f) {
			d.warning = l.T("confirm.last_backup")
		}
		return d, nil
	case actCodes:
		if !hasCodes {
			return say("get_codes", false, false), nil
		}
		return say("new_codes", true, true), nil
	case actDisable:
		return say("disable", true, true), nil
	case actForget, actForgetAll:
		if p.Action == actForgetAll {
			return say("forget_all", true, true), nil
		}
		devices, err := w.acct.Devices(r.Context(), w.client(r), u.ID)
		if err != nil {
			return description{}, err
		}
		for _, dv := range devices {
			if dv.ID == p.ID {
				return say("forget", true, true, "Label", dv.Label), nil
			}
		}
		return description{}, nil
	case actRename:
		if f.ID == "" {
			return description{}, nil
		}
		return say("rename", false, false, "Label", f.Label, "New", p.Label), nil
	case actDefault:
		if f.ID == "" {
			return description{}, nil
		}
		return say("default", false, false, "Label", f.Label), nil
	case actAddApp:
		if p.Replace != "" && f.ID != "" {
			return say("replace", false, true, "Label", f.Label), nil
		}
		return say("add_app", false, false), nil
	case actAddPhone:
		number := p.Phone
		if n, err := phone.Parse(p.Phone, "", p.Via); err == nil {
			number = n.International()
		}
		return say("add_phone", false, false, "Phone", number), nil
	case actAddKey:
		if p.Via == viaPasskey {
			return say("add_passkey", false, false), nil
		}
		return say("add_key", false, false), nil
	case actPassword:
		return say("password", false, true), nil
	}
	return description{}, nil
}

// lastBackup reports whether f is the only backup among methods.
func lastBackup(methods []store.Factor, f store.Factor) bool {
	if f.Role != account.RoleBackup {
		return false
	}
	for _, m := range methods {
		if m.ID != f.ID && m.Role == account.RoleBackup {
			return false
		}
	}
	return true
}

// perform carries out p: from its own form when the step-up is fresh,
// or from the confirm page once the person has confirmed. A stale
// step-up sends the browser to confirm, with p waiting.
func (w *Web) perform(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User, p pending) {
	ctx, c := r.Context(), w.client(r)
	to, notice := "/account/two-step", ""
	var err error
	switch p.Action {
	case actRemove:
		var warn bool
		warn, err = w.acct.RemoveFactor(ctx, c, sess, u, p.ID)
		notice = "method_removed"
		if warn {
			notice = "method_removed_no_backup"
		}
	case actCodes:
		w.newCodes(rw, r, sess, u, p)
		return
	case actDisable:
		err, notice = w.acct.DisableTwoStep(ctx, c, sess, u), "two_step_off"
	case actForget:
		err, notice = w.acct.ForgetDevice(ctx, c, sess, u, p.ID), "device_forgotten"
	case actForgetAll:
		err, notice = w.acct.ForgetDevices(ctx, c, sess, u), "devices_forgotten"
	case actRename:
		err, notice = w.rename(r, sess, u, p.ID, p.Label), "method_renamed"
	case actDefault:
		err, notice = w.acct.MakeDefault(ctx, c, sess, u, p.ID), "method_default"
	case actAddApp:
		to, err = w.addApp(r, sess, u, p)
	case actAddKey:
		w.addKey(rw, r, sess, u, p, http.StatusOK, "", "")
		return
	case actAddPhone:
		var f store.Factor
		f, _, err = w.acct.AddPhone(ctx, c, sess, u, p.Phone, "", p.Via, "")
		to = "/account/two-step/setup?step=" + strconv.Itoa(max(p.Step, 1)) + "&factor=" + f.ID
	case actPassword:
		// The passwords typed before the step-up are gone: the page says
		// so and asks for them again.
		if err = w.acct.RequireStepUp(ctx, sess, u); err == nil {
			to = "/account?notice=confirmed_password#pw-h"
		}
	}
	var su *account.StepUpRequiredError
	switch {
	case errors.As(err, &su):
		w.stepUpFor(rw, r, p)
		return
	case err != nil:
		status, msg := w.explainManage(r, u, err)
		if status >= 500 && status != http.StatusServiceUnavailable {
			w.fail(rw, r, err)
			return
		}
		w.showTwoStep(rw, r, u, status, msg)
		return
	}
	if notice != "" {
		to += "?notice=" + notice
	}
	http.Redirect(rw, r, to, http.StatusSeeOther)
}

// explainManage is explain, with the refusal to remove the last method
// said truly: recovery codes remain, so it is not the last sign-in
// method, only the last one that makes codes.
func (w *Web) explainManage(r *http.Request, u store.User, err error) (int, string) {
	status, msg := w.why(r, err)
	if errors.Is(err, errLabelTaken) {
		return http.StatusConflict, w.loc(r).T("confirm.label_taken")
	}
	if errors.Is(err, account.ErrLastFactor) {
		msg = w.loc(r).T("confirm.last_maker")
	}
	return status, msg
}
