package web

import (
	"errors"
	"net/http"
	"strconv"

	"twostep/internal/account"
	"twostep/internal/factor"
	"twostep/internal/store"
)

// The two-step page: the user's methods (rename, make default, remove),
// recovery codes, and turning two-step verification off. Remembered
// browsers, on the same page, are in devices.go.

type methodRow struct {
	ID, Label, KindText, Role, Added, LastUsed, CodesText string
	Default, CanRename, CanDefault, IsRecovery            bool
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

func (w *Web) twoStepPage(rw http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	w.showTwoStep(rw, r, u, http.StatusOK, "")
}

// showTwoStep renders the two-step page, with the error of a change that
// was refused.
func (w *Web) showTwoStep(rw http.ResponseWriter, r *http.Request, u store.User, status int, formError string) {
	d := twoStepData{Page: w.page("Two-step verification", &u), FormError: formError, Enabled: u.TwoStepEnabled, AllowDisable: w.opt.AllowDisable, PhoneOK: w.opt.PhoneMethods,
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
	if d.Devices, err = w.deviceRows(r, u); err != nil {
		w.fail(rw, r, err)
		return
	}
	w.render(rw, status, "twostep", d)
}

// manage runs one change from the two-step page: on success back to the
// page with a notice (do may name another than the usual one), on a stale
// step-up to the confirm page and back.
func (w *Web) manage(rw http.ResponseWriter, r *http.Request, u store.User, notice string, do func() (string, error)) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	other, err := do()
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
		w.showTwoStep(rw, r, u, status, msg)
		return
	}
	if other != "" {
		notice = other
	}
	http.Redirect(rw, r, "/account/two-step?notice="+notice, http.StatusSeeOther)
}

func (w *Web) renameMethod(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	w.manage(rw, r, u, "method_renamed", func() (string, error) {
		label := r.PostFormValue("label")
		_, err := w.acct.UpdateFactor(r.Context(), w.client(r), sess, u, r.PathValue("id"), &label, nil)
		return "", err
	})
}

func (w *Web) defaultMethod(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	w.manage(rw, r, u, "method_default", func() (string, error) {
		return "", w.acct.MakeDefault(r.Context(), w.client(r), sess, u, r.PathValue("id"))
	})
}

func (w *Web) removeMethod(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	w.manage(rw, r, u, "method_removed", func() (string, error) {
		warn, err := w.acct.RemoveFactor(r.Context(), w.client(r), sess, u, r.PathValue("id"))
		if warn {
			return "method_removed_no_backup", err
		}
		return "", err
	})
}

func (w *Web) disable(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	w.manage(rw, r, u, "two_step_off", func() (string, error) {
		return "", w.acct.DisableTwoStep(r.Context(), w.client(r), sess, u)
	})
}

type codesData struct {
	Page  page
	Codes []string
	Next  string
	Step  bool
}

func (w *Web) recoveryCodes(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
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
