package web

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"twostep/internal/account"
	"twostep/internal/factor"
	"twostep/internal/factor/recovery"
	"twostep/internal/i18n"
	"twostep/internal/store"
)

// The two-step page: the user's methods (rename, make default, replace,
// remove), recovery codes, and turning two-step verification off.
// Remembered browsers, on the same page, are in devices.go. Removing and
// turning off ask once, on the confirm page (confirm.go), which says
// what follows.

type methodRow struct {
	ID, Label, KindText, Role, CodesText       string
	Added, LastUsed                            template.HTML // <time> elements
	Default, CanRename, CanDefault, IsRecovery bool
	// CanReplace: an authenticator app, replaced by a new one.
	CanReplace bool
	// RemoveLink asks once before removing; empty when the method is
	// the only one that gives codes (two-step would have none).
	RemoveLink string
	// Renaming: this row shows its rename form.
	Renaming bool
	// Where says where a security key or passkey lives: "synced
	// passkey" (backed up by a cloud keychain) or "this device only".
	Where string
}

type twoStepData struct {
	// Unverified: the e-mail address is not confirmed yet, which turning
	// two-step verification on needs.
	Unverified                         bool
	PhoneOK                            bool
	Page                               page
	FormError                          string
	Enabled, AllowDisable, HasRecovery bool
	LowCodes, NoBackup                 bool
	CodesLeft                          string
	NewCodesLink, DisableLink          string
	Methods                            []methodRow
	Devices                            []deviceRow
	LabelField                         field
}

func (w *Web) twoStepPage(rw http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	w.showTwoStep(rw, r, u, http.StatusOK, "")
}

// showTwoStep renders the two-step page, with the error of a change that
// was refused.
func (w *Web) showTwoStep(rw http.ResponseWriter, r *http.Request, u store.User, status int, formError string) {
	l := w.loc(r)
	d := twoStepData{Page: w.page(l.T("twostep.heading"), &u), FormError: formError, Enabled: u.TwoStepEnabled, AllowDisable: w.opt.AllowDisable, PhoneOK: w.opt.PhoneMethods,
		Unverified: u.EmailVerifiedAt.IsZero(), NewCodesLink: pending{Action: actCodes}.link(), DisableLink: pending{Action: actDisable}.link()}
	d.Page.Notice = w.notice(r, r.URL.Query().Get("notice"))
	methods, err := w.acct.Methods(r.Context(), u.ID)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	hasBackup, makers := false, 0
	for _, m := range methods {
		if m.Kind != account.KindRecovery {
			makers++
		}
	}
	renaming := r.URL.Query().Get("rename")
	var keys map[string]store.WebAuthnCredential
	for _, m := range methods {
		if m.Kind == account.KindWebAuthn && keys == nil {
			if keys, err = w.acct.SecurityKeys(r.Context(), u.ID); err != nil {
				w.fail(rw, r, err)
				return
			}
		}
	}
	for _, m := range methods {
		role := l.T("method.main")
		if m.Role == account.RoleBackup {
			role = l.T("method.backup")
		}
		row := methodRow{ID: m.ID, Label: m.Label, KindText: kindText(l, m.Kind), Role: role, Added: l.TimeHTML(m.CreatedAt), LastUsed: l.TimeHTML(m.LastUsedAt),
			Default: m.ID == u.DefaultFactorID, CanRename: m.Kind != account.KindRecovery, CanDefault: m.Kind != account.KindRecovery, IsRecovery: m.Kind == account.KindRecovery,
			CanReplace: m.Kind == account.KindTOTP, RemoveLink: pending{Action: actRemove, ID: m.ID}.link()}
		if m.Kind == account.KindWebAuthn {
			k, ok := keys[m.ID]
			row.KindText, row.Where = keyTexts(l, k, ok)
		}
		if u.TwoStepEnabled && m.Kind != account.KindRecovery && makers == 1 {
			row.RemoveLink = ""
		}
		if row.CanRename && m.ID == renaming {
			row.Renaming = true
			d.LabelField = field{Name: "label", Label: l.T("method.new_name", "Label", m.Label), Type: "text", Value: m.Label, Autocomplete: "off", Required: true, Autofocus: true}
		}
		if m.Role == account.RoleBackup {
			hasBackup = true
		}
		if m.Kind == account.KindRecovery {
			d.HasRecovery = true
			n, err := w.acct.RecoveryCodesLeft(r.Context(), m.ID)
			if err != nil {
				w.fail(rw, r, err)
				return
			}
			d.LowCodes = n <= 2
			d.CodesLeft = l.N("method.recovery_codes", n)
			row.CodesText = l.N("method.codes_left", recovery.Count, "Left", n)
		}
		d.Methods = append(d.Methods, row)
	}
	d.NoBackup = u.TwoStepEnabled && !hasBackup
	if d.Devices, err = w.deviceRows(r, u); err != nil {
		w.fail(rw, r, err)
		return
	}
	w.render(rw, status, "twostep", d)
}

// manage carries out one change from the two-step page's own form.
func (w *Web) manage(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User, p pending) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	w.perform(rw, r, sess, u, p)
}

func (w *Web) renameMethod(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	w.perform(rw, r, sess, u, pending{Action: actRename, ID: r.PathValue("id"), Label: strings.TrimSpace(r.PostFormValue("label"))})
}

// errLabelTaken refuses a name another method has: the page and the
// sign-in could not tell them apart.
var errLabelTaken = errors.New("web: another method has that name")

// rename gives a method a name no other method of the user has.
func (w *Web) rename(r *http.Request, sess store.Session, u store.User, id, label string) error {
	methods, err := w.acct.Methods(r.Context(), u.ID)
	if err != nil {
		return err
	}
	for _, m := range methods {
		if m.ID != id && strings.EqualFold(strings.TrimSpace(m.Label), strings.TrimSpace(label)) {
			return errLabelTaken
		}
	}
	_, err = w.acct.UpdateFactor(r.Context(), w.client(r), sess, u, id, &label, nil)
	return err
}

// uniqueLabel is base, or base with the first number that no method has
// ("Authenticator app 2").
func uniqueLabel(methods []store.Factor, base string) string {
	taken := map[string]bool{}
	for _, m := range methods {
		taken[strings.ToLower(m.Label)] = true
	}
	label := base
	for n := 2; taken[strings.ToLower(label)]; n++ {
		label = base + " " + strconv.Itoa(n)
	}
	return label
}

func (w *Web) defaultMethod(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	w.manage(rw, r, sess, u, pending{Action: actDefault, ID: r.PathValue("id")})
}

func (w *Web) removeMethod(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	w.manage(rw, r, sess, u, pending{Action: actRemove, ID: r.PathValue("id")})
}

func (w *Web) disable(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	w.manage(rw, r, sess, u, pending{Action: actDisable})
}

type codesData struct {
	Page  page
	Codes []string
	// Next is where "I've saved them" leads, with its query as fields.
	Next   string
	Fields []hiddenField
	Step   bool
	// Earlier: these codes replaced others, which no longer work.
	Earlier bool
	// Printing: the page was asked for to be printed.
	Printing bool
}

// recoveryCodes makes a set of recovery codes, from the two-step page
// (replacing codes asks once first) or the wizard's second step.
func (w *Web) recoveryCodes(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	p := pending{Action: actCodes}
	if r.URL.Path == "/account/two-step/setup/recovery" {
		p.Step = 2
	}
	w.manage(rw, r, sess, u, p)
}

// newCodes makes the codes and shows them, once.
func (w *Web) newCodes(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User, p pending) {
	methods, err := w.acct.Methods(r.Context(), u.ID)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	earlier := false
	for _, m := range methods {
		earlier = earlier || m.Kind == account.KindRecovery
	}
	_, codes, err := w.acct.NewRecoveryCodes(r.Context(), w.client(r), sess, u)
	if err != nil {
		var su *account.StepUpRequiredError
		if errors.As(err, &su) {
			w.stepUpFor(rw, r, p)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.showCodes(rw, u, codes, p.Step > 0 && !u.TwoStepEnabled, earlier, false)
}

func (w *Web) showCodes(rw http.ResponseWriter, u store.User, codes []string, wizard, earlier, printing bool) {
	d := codesData{Page: w.page(w.locOf(rw).T("codes.title"), &u), Codes: codes, Next: "/account/two-step", Step: wizard, Earlier: earlier, Printing: printing}
	d.Fields = []hiddenField{{"notice", "codes_saved"}}
	if earlier {
		d.Fields = []hiddenField{{"notice", "codes_replaced"}}
	}
	if wizard {
		d.Next, d.Fields = "/account/two-step/setup", []hiddenField{{"step", "3"}}
	}
	w.render(rw, http.StatusOK, "codes", d)
}

// codesFile hands the codes just shown back as a text file to save
// (download) or as a page made for paper (print). The codes come from
// the page's own form: the server keeps only their hashes.
func (w *Web) codesFile(rw http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	var codes []string
	for _, c := range r.PostForm["code"] {
		if _, ok := recovery.Normalize(c); ok && len(codes) < recovery.Count {
			codes = append(codes, strings.TrimSpace(c))
		}
	}
	if len(codes) == 0 {
		w.badForm(rw)
		return
	}
	wizard, earlier := r.PostFormValue("wizard") == "1", r.PostFormValue("earlier") == "1"
	if strings.HasSuffix(r.URL.Path, "/print") {
		w.showCodes(rw, u, codes, wizard, earlier, true)
		return
	}
	var b strings.Builder
	l := w.loc(r)
	b.WriteString(l.T("codes.file_heading", "Email", u.Email) + "\r\n\r\n")
	b.WriteString(l.T("codes.file_about") + "\r\n")
	b.WriteString(l.T("codes.file_new") + "\r\n\r\n")
	for i, c := range codes {
		b.WriteString(strconv.Itoa(i+1) + ". " + c + "\r\n")
	}
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.Header().Set("Content-Disposition", `attachment; filename="recovery-codes.txt"`)
	rw.Header().Set("Cache-Control", "no-store")
	rw.Write([]byte(b.String()))
}

// kindText names a kind of method for people.
func kindText(l *i18n.Localizer, kind factor.Kind) string {
	switch kind {
	case account.KindSMS, account.KindVoice, account.KindEmail, account.KindTOTP, account.KindRecovery, account.KindWebAuthn:
		return l.T("method.kind_" + string(kind))
	}
	return string(kind)
}
