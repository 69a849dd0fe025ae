package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"twostep/internal/account"
	"twostep/internal/i18n"
	"twostep/internal/method/securitykey"
	"twostep/internal/store"
)

// Security keys and passkeys on the pages: adding one (the wizard and the
// two-step page), the second step and "Confirm it's you" with one, and
// signing in with a passkey. The ceremony itself is the browser's: a page
// carries the options in a JSON data block (or, for the passkey sign-in,
// fetches them), static/webauthn.js asks the key and puts its answer in
// the form's credential field, and the form posts it here, so the flow
// on the server — errors in the page, budgets, remembered browsers — is
// the one of codes.

// keyCeremony is a ceremony a page holds: the options the script hands
// to navigator.credentials (PublicKeyCredentialCreationOptionsJSON or
// PublicKeyCredentialRequestOptionsJSON), and whether the key is a
// passkey, for the words around it.
type keyCeremony struct {
	Options json.RawMessage
	Passkey bool
	Label   string
}

// keyEnrollment is the set-up page's "add this key": the pending method,
// its ceremony and the name it will have.
type keyEnrollment struct {
	Factor     store.Factor
	Ceremony   keyCeremony
	LabelField field
}

// noAnswer (key.no_answer) is what a page says when a key's form came
// without the key's answer: the script did not run (JavaScript is off, or
// it did not load).
const noAnswer = "key.no_answer"

// errNoAnswer is a key's form that came without the key's answer
// (noAnswer says so).
var errNoAnswer = errors.New("web: the form holds no answer from the security key")

// keyButton is the button that asks the key at the second step.
func keyButton(l *i18n.Localizer, passkey bool) string {
	if passkey {
		return l.T("challenge.use_passkey")
	}
	return l.T("challenge.use_key")
}

// viaPasskey marks an added key as a passkey in a pending change (Via).
const viaPasskey = "passkey"

// keyDefault is the name a new key or passkey gets before any other.
func keyDefault(l *i18n.Localizer, passkey bool) string {
	if passkey {
		return l.T("key.passkey")
	}
	return l.T("key.security_key")
}

// setupKey starts adding a security key or passkey, from the wizard or
// the two-step page. Like every method it needs a fresh confirmation.
func (w *Web) setupKey(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	p := pending{Action: actAddKey}
	p.Step, _ = strconv.Atoi(r.PostFormValue("step"))
	if r.PostFormValue("passkey") == "1" {
		p.Via = viaPasskey
	}
	w.perform(rw, r, sess, u, p)
}

// addKey begins the ceremony of a new key (p.Via says a passkey) named
// so that no two methods share a name ("Security key 2"), and shows the
// page that runs it, with errMsg from an attempt before. A stale step-up
// sends the browser to confirm first.
func (w *Web) addKey(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User, p pending, status int, errMsg, label string) {
	passkey := p.Via == viaPasskey
	methods, err := w.acct.Methods(r.Context(), u.ID)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	name := uniqueLabel(methods, keyDefault(w.loc(r), passkey))
	e, err := w.acct.AddSecurityKey(r.Context(), w.client(r), sess, u, name, passkey)
	if err != nil {
		var su *account.StepUpRequiredError
		if errors.As(err, &su) {
			w.stepUpFor(rw, r, p)
			return
		}
		st, msg := w.why(r, err)
		if st >= 500 {
			w.fail(rw, r, err)
			return
		}
		w.renderSetupWith(rw, r, st, sess, u, p.Step, "", "", msg, nil)
		return
	}
	if label == "" {
		label = name
	}
	key := &keyEnrollment{Factor: e.Factor, Ceremony: keyCeremony{Options: e.PublicKey, Passkey: passkey, Label: name},
		LabelField: field{Name: "label", Label: w.loc(r).T("key.name"), Type: "text", Value: label, Autocomplete: "off", Required: true,
			Hint: w.loc(r).T("key.name_hint")}}
	w.renderSetupWith(rw, r, status, sess, u, p.Step, "", "", errMsg, key)
}

// setupKeyConfirm adds the key with the browser's answer to the creation
// options, and gives it the name chosen on the page. A refused answer
// starts a fresh ceremony: the options are used up.
func (w *Web) setupKeyConfirm(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	id, cred, label := r.PostFormValue("factor"), strings.TrimSpace(r.PostFormValue("credential")), strings.TrimSpace(r.PostFormValue("label"))
	p := pending{Action: actAddKey}
	p.Step, _ = strconv.Atoi(r.PostFormValue("step"))
	if r.PostFormValue("passkey") == "1" {
		p.Via = viaPasskey
	}
	if cred == "" {
		w.addKey(rw, r, sess, u, p, http.StatusBadRequest, w.loc(r).T(noAnswer), label)
		return
	}
	f, err := w.acct.ConfirmSecurityKey(r.Context(), w.client(r), sess, u, id, json.RawMessage(cred))
	if err != nil {
		status, msg := w.why(r, err)
		if status >= 500 {
			w.fail(rw, r, err)
			return
		}
		if errors.Is(err, account.ErrFactorNotFound) {
			msg = w.loc(r).T("key.expired")
		}
		w.addKey(rw, r, sess, u, p, status, msg, label)
		return
	}
	notice := "key_added"
	if p.Via == viaPasskey {
		notice = "passkey_added"
	}
	if label != "" && label != f.Label {
		if err := w.rename(r, sess, u, f.ID, label); err != nil {
			w.log.Info("name a new key", "err", err)
			notice = "key_name_kept"
		}
	}
	if u.TwoStepEnabled {
		http.Redirect(rw, r, "/account/two-step?notice="+notice+"#m-"+f.ID, http.StatusSeeOther)
		return
	}
	to := "/account/two-step/setup?step=" + strconv.Itoa(min(max(p.Step, 1)+1, 3))
	if notice == "key_name_kept" {
		to += "&notice=" + notice
	}
	http.Redirect(rw, r, to, http.StatusSeeOther)
}

// keyTexts are the words for one of the user's keys: its kind and where
// it lives. Passkeys synced by a cloud keychain (backed up) work on the
// person's other devices; the others never leave theirs.
func keyTexts(l *i18n.Localizer, c store.WebAuthnCredential, ok bool) (kind, where string) {
	kind = l.T("key.security_key")
	if ok && c.Discoverable {
		kind = l.T("key.passkey")
	}
	where = l.T("key.this_device")
	if ok && c.BackupState {
		where = l.T("key.synced")
	}
	return kind, where
}

// keyPrompt says how to use key m on a page whose button is button.
func keyPrompt(l *i18n.Localizer, m store.Factor, passkey bool, button string) string {
	if passkey {
		return l.T("key.prompt_passkey", "Label", m.Label, "Button", button)
	}
	return l.T("key.prompt_key", "Label", m.Label, "Button", button)
}

// isPasskey reports whether the user's key m is a passkey; a failure to
// tell is logged and says no (only words depend on it).
func (w *Web) isPasskey(r *http.Request, userID string, m store.Factor) bool {
	if m.Kind != account.KindWebAuthn {
		return false
	}
	keys, err := w.acct.SecurityKeys(r.Context(), userID)
	if err != nil {
		w.log.Error("list security keys", "err", err)
		return false
	}
	return keys[m.ID].Discoverable
}

// stepUpKey puts the ceremony of the user's key m on the confirm page d:
// "Confirm it's you" with the key. A refusal to begin it (the key is
// turned off as copied) shows as the page's error; only the server's
// own failures are returned.
func (w *Web) stepUpKey(r *http.Request, d *confirmData, sess store.Session, u store.User, m store.Factor) error {
	res, err := w.acct.SendStepUp(r.Context(), w.client(r), sess, u, m.ID, "")
	if err != nil {
		status, msg := w.why(r, err)
		if status >= 500 {
			return err
		}
		if d.FormError == "" {
			d.FormError = msg
		}
		return nil
	}
	passkey := w.isPasskey(r, u.ID, m)
	d.Key = &keyCeremony{Options: res.PublicKey, Passkey: passkey, Label: m.Label}
	d.KeyPrompt = keyPrompt(w.loc(r), m, passkey, d.Button)
	d.Page.WebAuthn = true
	return nil
}

// passkeyBegin starts a signed-out passkey sign-in for the script: the
// request options as JSON, and a short-lived cookie the ceremony is bound
// to. A refusal is {message} with its status, for the page to show.
func (w *Web) passkeyBegin(rw http.ResponseWriter, r *http.Request) {
	token, opts, err := w.acct.BeginPasskeySignIn(r.Context(), w.client(r))
	if err != nil {
		status, msg := w.why(r, err)
		if status >= 500 {
			w.log.Error("begin a passkey sign-in", "err", err)
		}
		writeJSON(rw, status, map[string]string{"message": msg})
		return
	}
	w.cookies.SetPasskey(rw, token, securitykey.CeremonyTTL)
	writeJSON(rw, http.StatusOK, map[string]json.RawMessage{"publicKey": opts})
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
	rw.WriteHeader(status)
	json.NewEncoder(rw).Encode(v)
}

// passkeySignIn signs in with a passkey's answer: signed in, with two
// steps when the passkey verified the person, or — a two-step account
// whose passkey did not — on to the second step as after a password.
func (w *Web) passkeySignIn(rw http.ResponseWriter, r *http.Request) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	cred := strings.TrimSpace(r.PostFormValue("credential"))
	if cred == "" {
		w.renderSignIn(rw, r, http.StatusBadRequest, "", w.loc(r).T(noAnswer))
		return
	}
	u, iss, err := w.acct.FinishPasskeySignIn(r.Context(), w.client(r), w.cookies.Passkey(r), json.RawMessage(cred), false)
	w.cookies.ClearPasskey(rw) // the ceremony is used up either way
	if err != nil {
		status, msg := w.why(r, err)
		if status >= 500 {
			w.fail(rw, r, err)
			return
		}
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			rw.Header().Set("Retry-After", "1")
		}
		w.renderSignIn(rw, r, status, "", msg)
		return
	}
	if iss.Challenge != nil {
		w.cookies.SetPending(rw, iss.Challenge.Token, iss.Challenge.ExpiresAt.Sub(w.acct.Now()))
		http.Redirect(rw, r, "/signin/verify", http.StatusSeeOther)
		return
	}
	w.issue(rw, r, iss)
	http.Redirect(rw, r, w.landingFor(rw, r, u), http.StatusSeeOther)
}
