package web

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"twostep/internal/account"
	"twostep/internal/factor"
	"twostep/internal/store"
)

// kindText names a kind of method for people.
func kindText(kind factor.Kind) string {
	switch kind {
	case account.KindSMS:
		return "Text message"
	case account.KindVoice:
		return "Voice call"
	case account.KindEmail:
		return "E-mail code"
	case account.KindTOTP:
		return "Authenticator app"
	case account.KindRecovery:
		return "Recovery codes"
	}
	return string(kind)
}

// promptFor says where the code comes from.
func promptFor(f store.Factor) string {
	switch f.Kind {
	case account.KindRecovery:
		return "Enter one of your recovery codes. Each works once."
	case account.KindSMS, account.KindVoice:
		return "We'll send a 6-digit code to your phone " + f.Masked + "."
	case account.KindEmail:
		return "We'll e-mail a 6-digit code to " + f.Masked + "."
	}
	return "Enter the 6-digit code from your authenticator app (" + f.Label + ")."
}

func codeField(f store.Factor, err string) field {
	fd := field{Name: "code", Label: "Code", Type: "text", Autocomplete: "one-time-code", Required: true, Autofocus: true, Error: err, Inputmode: "numeric"}
	if f.Kind == account.KindRecovery {
		fd.Label, fd.Hint, fd.Inputmode = "Recovery code", "Like abcd-efgh.", ""
	}
	return fd
}

type otherMethod struct{ ID, Text string }

type challengeData struct {
	Page       page
	FormError  string
	Email      string
	Method     store.Factor
	Prompt     string
	CodeField  field
	Remember   bool
	Others     []otherMethod
	OpenOthers bool
	// Sending: the method's code is sent; these offer text and call.
	Sendable, CanText, CanCall bool
	SentNotice, SentChannel    string
	Wait, WaitSMS, WaitVoice   int
}

func (w *Web) challengePage(rw http.ResponseWriter, r *http.Request) {
	ch, u, err := w.acct.PendingChallenge(r.Context(), w.cookies.Pending(r))
	if err != nil {
		if errors.Is(err, account.ErrSignInExpired) {
			http.Redirect(rw, r, "/signin?notice=signin_expired", http.StatusSeeOther)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.renderChallenge(rw, http.StatusOK, ch, u, r.URL.Query().Get("method"), "", false, r.URL.Query().Get("sent"))
}

// renderChallenge renders the challenge for methodID (default: the user's
// default method); sent names the channel a code just went out on.
func (w *Web) renderChallenge(rw http.ResponseWriter, status int, ch account.Challenge, u store.User, methodID, errMsg string, remember bool, sent string) {
	d := challengeData{Page: w.page("Two-step verification", nil), Email: u.Email, Remember: remember}
	chosen := ch.DefaultID
	for _, m := range ch.Methods {
		if m.ID == methodID {
			chosen = methodID
		}
	}
	for _, m := range ch.Methods {
		if m.ID == chosen {
			d.Method = m
			continue
		}
		text := "Use " + m.Label
		if m.Kind == account.KindRecovery {
			text = "Use a recovery code"
		}
		d.Others = append(d.Others, otherMethod{ID: m.ID, Text: text})
	}
	d.Prompt = promptFor(d.Method)
	d.CodeField = codeField(d.Method, errMsg)
	d.OpenOthers = errMsg != ""
	if account.Sendable(d.Method.Kind) {
		d.Sendable = true
		d.CanText, d.CanCall = w.acct.CanText(d.Method), w.acct.CanCall(d.Method)
		d.SentChannel = sent
		switch sent {
		case "sms":
			d.SentNotice = "We texted a code to " + d.Method.Masked + ". It works for 10 minutes."
		case "voice":
			d.SentNotice = "We're calling " + d.Method.Masked + " to read you a code. It works for 10 minutes."
		case "email":
			d.SentNotice = "We e-mailed a code to " + d.Method.Masked + ". It works for 10 minutes."
		}
		secs := func(ch string) int {
			left, err := w.acct.ResendWait(context.Background(), d.Method.ID, ch)
			if err != nil {
				return 0
			}
			return int(left.Seconds() + 0.999)
		}
		d.WaitSMS, d.WaitVoice, d.Wait = secs("sms"), secs("voice"), secs("email")
	}
	w.render(rw, status, "challenge", d)
}

func (w *Web) challenge(rw http.ResponseWriter, r *http.Request) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	token := w.cookies.Pending(r)
	methodID, remember := r.PostFormValue("method_id"), r.PostFormValue("remember") == "1"
	_, iss, err := w.acct.VerifySignIn(r.Context(), w.client(r), token, methodID, r.PostFormValue("code"), remember)
	if err != nil {
		if errors.Is(err, account.ErrSignInExpired) {
			w.cookies.ClearPending(rw)
			http.Redirect(rw, r, "/signin?notice=signin_expired", http.StatusSeeOther)
			return
		}
		var bad *account.InvalidCodeError
		status, msg := w.explain(err)
		if status >= 500 {
			w.fail(rw, r, err)
			return
		}
		if errors.As(err, &bad) && bad.AttemptsLeft == 0 {
			w.cookies.ClearPending(rw)
			http.Redirect(rw, r, "/signin?notice=too_many_codes", http.StatusSeeOther)
			return
		}
		ch, u, cerr := w.acct.PendingChallenge(r.Context(), token)
		if cerr != nil {
			w.fail(rw, r, err)
			return
		}
		w.renderChallenge(rw, status, ch, u, methodID, msg, remember, "")
		return
	}
	w.issue(rw, iss)
	w.cookies.ClearPending(rw)
	if iss.DeviceToken != "" {
		w.cookies.AddDevice(rw, r, iss.DeviceToken, w.acct.Config().TwoStep.DeviceMaxLifetime.D())
	}
	http.Redirect(rw, r, "/account", http.StatusSeeOther)
}

// stepUp sends the browser to confirm it's the user, then back to next.
func (w *Web) stepUp(rw http.ResponseWriter, r *http.Request, next string) {
	http.Redirect(rw, r, "/account/confirm?next="+url.QueryEscape(next), http.StatusSeeOther)
}

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

func (w *Web) confirmPage(rw http.ResponseWriter, r *http.Request) {
	_, u, ok := w.requireUser(rw, r)
	if !ok {
		return
	}
	w.renderConfirm(rw, r, http.StatusOK, u, safeNext(r.URL.Query().Get("next")), r.URL.Query().Get("method"), "")
}

func (w *Web) renderConfirm(rw http.ResponseWriter, r *http.Request, status int, u store.User, next, methodID, errMsg string) {
	d := confirmData{Page: w.page("Confirm it's you", &u), Next: next, Window: w.acct.Config().TwoStep.StepUpWindow.D().String()}
	d.Window = strings.TrimSuffix(strings.TrimSuffix(d.Window, "0s"), "m0") + " minutes"
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

func (w *Web) confirm(rw http.ResponseWriter, r *http.Request) {
	sess, u, ok := w.requireUser(rw, r)
	if !ok {
		return
	}
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	next := safeNext(r.PostFormValue("next"))
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
}

func (w *Web) setupPage(rw http.ResponseWriter, r *http.Request) {
	sess, u, ok := w.requireUser(rw, r)
	if !ok {
		return
	}
	step, _ := strconv.Atoi(r.URL.Query().Get("step"))
	w.renderSetup(rw, r, http.StatusOK, sess, u, step, r.URL.Query().Get("factor"), "")
}

func (w *Web) renderSetup(rw http.ResponseWriter, r *http.Request, status int, sess store.Session, u store.User, step int, factorID, errMsg string) {
	if u.TwoStepEnabled && factorID == "" {
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
	case step >= 2 && !pol.HasPrimary && factorID == "":
		step = 1
	case step == 3 && !pol.Ready():
		step = 2
	}
	d := setupData{Page: w.page("Two-step verification", &u), Step: step, FormError: errMsg, BackupRequired: pol.BackupRequired, HasBackup: pol.HasBackup}
	d.PhoneOK = w.acct.PhoneMethodsAllowed()
	if f, ok := w.pendingFactor(r, sess, u, factorID); ok && account.Sendable(f.Kind) {
		d.Sent = &f
		d.Wait = w.waitFor(r, f)
		d.CodeField = field{Name: "code", Label: "6-digit code", Type: "text", Autocomplete: "one-time-code", Required: true, Autofocus: true, Error: errMsg, Inputmode: "numeric"}
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
			d.FormError = "That set-up has expired. Start again."
		} else {
			d.Enrollment = &e
			d.QR = template.URL(e.QR)
			d.CodeField = field{Name: "code", Label: "6-digit code from the app", Type: "text", Autocomplete: "one-time-code", Required: true, Autofocus: true, Error: errMsg, Inputmode: "numeric"}
			d.FormError = ""
		}
	}
	methods, err := w.acct.Methods(r.Context(), u.ID)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	for _, m := range methods {
		if m.Role == account.RoleBackup && d.BackupName == "" {
			d.BackupName = m.Label
		}
		if m.Kind == account.KindRecovery {
			d.HasRecovery = true
		}
	}
	w.render(rw, status, "setup", d)
}

func (w *Web) setupApp(rw http.ResponseWriter, r *http.Request) {
	sess, u, ok := w.requireUser(rw, r)
	if !ok {
		return
	}
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	step, _ := strconv.Atoi(r.PostFormValue("step"))
	back := "/account/two-step/setup"
	if u.TwoStepEnabled {
		back = "/account/two-step"
	}
	e, err := w.acct.AddTOTP(r.Context(), w.client(r), sess, u, "")
	if err != nil {
		var su *account.StepUpRequiredError
		if errors.As(err, &su) {
			w.stepUp(rw, r, back)
			return
		}
		w.fail(rw, r, err)
		return
	}
	if step < 1 {
		step = 1
	}
	http.Redirect(rw, r, "/account/two-step/setup?step="+strconv.Itoa(step)+"&factor="+e.Factor.ID, http.StatusSeeOther)
}

func (w *Web) setupConfirm(rw http.ResponseWriter, r *http.Request) {
	sess, u, ok := w.requireUser(rw, r)
	if !ok {
		return
	}
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	id := r.PostFormValue("factor")
	step, _ := strconv.Atoi(r.PostFormValue("step"))
	if _, err := w.acct.ConfirmFactor(r.Context(), w.client(r), sess, u, id, r.PostFormValue("code")); err != nil {
		status, msg := w.explain(err)
		if status >= 500 {
			w.fail(rw, r, err)
			return
		}
		w.renderSetup(rw, r, status, sess, u, step, id, msg)
		return
	}
	if u.TwoStepEnabled {
		http.Redirect(rw, r, "/account/two-step?notice=method_added", http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, "/account/two-step/setup?step="+strconv.Itoa(min(step+1, 3)), http.StatusSeeOther)
}

type codesData struct {
	Page  page
	Codes []string
	Next  string
	Step  bool
}

func (w *Web) recoveryCodes(rw http.ResponseWriter, r *http.Request) {
	sess, u, ok := w.requireUser(rw, r)
	if !ok {
		return
	}
	inWizard := r.URL.Path == "/account/two-step/setup/recovery"
	back := "/account/two-step"
	if inWizard {
		back = "/account/two-step/setup?step=2"
	}
	_, codes, err := w.acct.NewRecoveryCodes(r.Context(), w.client(r), sess, u)
	if err != nil {
		var su *account.StepUpRequiredError
		if errors.As(err, &su) {
			w.stepUp(rw, r, back)
			return
		}
		w.fail(rw, r, err)
		return
	}
	d := codesData{Page: w.page("Your recovery codes", &u), Codes: codes, Next: "/account/two-step", Step: inWizard}
	if inWizard {
		d.Next = "/account/two-step/setup?step=3"
	}
	w.render(rw, http.StatusOK, "codes", d)
}

func (w *Web) enable(rw http.ResponseWriter, r *http.Request) {
	sess, u, ok := w.requireUser(rw, r)
	if !ok {
		return
	}
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	if err := w.acct.EnableTwoStep(r.Context(), w.client(r), sess, u); err != nil {
		status, msg := w.explain(err)
		if status >= 500 {
			w.fail(rw, r, err)
			return
		}
		w.renderSetup(rw, r, status, sess, u, 2, "", msg)
		return
	}
	if r.PostFormValue("remember") == "1" {
		tok, err := w.acct.RememberThisBrowser(r.Context(), w.client(r), u)
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		w.cookies.AddDevice(rw, r, tok, w.acct.Config().TwoStep.DeviceMaxLifetime.D())
	}
	http.Redirect(rw, r, "/account/two-step?notice=two_step_on", http.StatusSeeOther)
}

type methodRow struct {
	ID, Label, KindText, Role, Added, LastUsed, CodesText string
	Default, CanRename, CanDefault, IsRecovery            bool
}

type deviceRow struct {
	ID, Label, Created, LastUsed, IP string
	Current                          bool
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
	CodesLeft                          int
	Methods                            []methodRow
	Devices                            []deviceRow
}

func (w *Web) twoStepPage(rw http.ResponseWriter, r *http.Request) {
	w.showTwoStep(rw, r, http.StatusOK, "")
}

func (w *Web) showTwoStep(rw http.ResponseWriter, r *http.Request, status int, formError string) {
	_, u, ok := w.requireUser(rw, r)
	if !ok {
		return
	}
	d := twoStepData{Page: w.page("Two-step verification", &u), FormError: formError, Enabled: u.TwoStepEnabled, AllowDisable: w.acct.Config().TwoStep.AllowDisable, PhoneOK: w.acct.PhoneMethodsAllowed(),
		Unverified: u.EmailVerifiedAt.IsZero()}
	d.Page.Notice = notices[r.URL.Query().Get("notice")]
	methods, err := w.acct.Methods(r.Context(), u.ID)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	hasBackup := false
	for _, m := range methods {
		role := "Main method"
		if m.Role == account.RoleBackup {
			role = "Backup"
		}
		row := methodRow{ID: m.ID, Label: m.Label, KindText: kindText(m.Kind), Role: role, Added: when(m.CreatedAt), LastUsed: when(m.LastUsedAt),
			Default: m.ID == u.DefaultFactorID, CanRename: m.Kind != account.KindRecovery, CanDefault: m.Kind != account.KindRecovery, IsRecovery: m.Kind == account.KindRecovery}
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
			d.CodesLeft, d.LowCodes = n, n <= 2
			row.CodesText = strconv.Itoa(n) + " of 10 left"
		}
		d.Methods = append(d.Methods, row)
	}
	d.NoBackup = u.TwoStepEnabled && !hasBackup
	devices, err := w.acct.Devices(r.Context(), w.client(r), u.ID)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	for _, dv := range devices {
		d.Devices = append(d.Devices, deviceRow{ID: dv.ID, Label: dv.Label, Created: when(dv.CreatedAt), LastUsed: when(dv.LastUsedAt), IP: dv.LastIP, Current: dv.Current})
	}
	w.render(rw, status, "twostep", d)
}

// manage runs one change from the two-step page: on success back to the
// page with a notice (do may name another than the usual one), on a stale
// step-up to the confirm page and back.
func (w *Web) manage(rw http.ResponseWriter, r *http.Request, notice string, do func(store.Session, store.User) (string, error)) {
	sess, u, ok := w.requireUser(rw, r)
	if !ok {
		return
	}
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	other, err := do(sess, u)
	if err != nil {
		var su *account.StepUpRequiredError
		if errors.As(err, &su) {
			w.stepUp(rw, r, "/account/two-step")
			return
		}
		status, msg := w.explain(err)
		if status >= 500 {
			w.fail(rw, r, err)
			return
		}
		w.showTwoStep(rw, r, status, msg)
		return
	}
	if other != "" {
		notice = other
	}
	http.Redirect(rw, r, "/account/two-step?notice="+notice, http.StatusSeeOther)
}

func (w *Web) renameMethod(rw http.ResponseWriter, r *http.Request) {
	w.manage(rw, r, "method_renamed", func(sess store.Session, u store.User) (string, error) {
		label := r.PostFormValue("label")
		_, err := w.acct.UpdateFactor(r.Context(), w.client(r), sess, u, r.PathValue("id"), &label, nil)
		return "", err
	})
}

func (w *Web) defaultMethod(rw http.ResponseWriter, r *http.Request) {
	w.manage(rw, r, "method_default", func(sess store.Session, u store.User) (string, error) {
		return "", w.acct.MakeDefault(r.Context(), w.client(r), sess, u, r.PathValue("id"))
	})
}

func (w *Web) removeMethod(rw http.ResponseWriter, r *http.Request) {
	w.manage(rw, r, "method_removed", func(sess store.Session, u store.User) (string, error) {
		warn, err := w.acct.RemoveFactor(r.Context(), w.client(r), sess, u, r.PathValue("id"))
		if warn {
			return "method_removed_no_backup", err
		}
		return "", err
	})
}

func (w *Web) disable(rw http.ResponseWriter, r *http.Request) {
	w.manage(rw, r, "two_step_off", func(sess store.Session, u store.User) (string, error) {
		return "", w.acct.DisableTwoStep(r.Context(), w.client(r), sess, u)
	})
}

func (w *Web) forgetDevice(rw http.ResponseWriter, r *http.Request) {
	w.manage(rw, r, "device_forgotten", func(sess store.Session, u store.User) (string, error) {
		return "", w.acct.ForgetDevice(r.Context(), w.client(r), sess, u, r.PathValue("id"))
	})
}

func (w *Web) forgetDevices(rw http.ResponseWriter, r *http.Request) {
	w.manage(rw, r, "devices_forgotten", func(sess store.Session, u store.User) (string, error) {
		return "", w.acct.ForgetDevices(r.Context(), w.client(r), sess, u)
	})
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

// confirmSend sends a step-up code to a phone or e-mail method.
func (w *Web) confirmSend(rw http.ResponseWriter, r *http.Request) {
	_, u, ok := w.requireUser(rw, r)
	if !ok {
		return
	}
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	next, methodID := safeNext(r.PostFormValue("next")), r.PostFormValue("method_id")
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
