package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"twostep/internal/account"
	"twostep/internal/factor"
	"twostep/internal/store"
)

func methodsJSON(fs []store.Factor) []methodJSON {
	out := make([]methodJSON, 0, len(fs))
	for _, f := range fs {
		m := methodJSON{ID: f.ID, Kind: f.Kind, Label: f.Label, Role: f.Role, CreatedAt: f.CreatedAt}
		if !f.LastUsedAt.IsZero() {
			t := f.LastUsedAt
			m.LastUsedAt = &t
		}
		out = append(out, m)
	}
	return out
}

type challengeMethod struct {
	ID    string      `json:"id"`
	Kind  factor.Kind `json:"kind"`
	Label string      `json:"label"`
}

func challengeMethods(fs []store.Factor) []challengeMethod {
	out := make([]challengeMethod, 0, len(fs))
	for _, f := range fs {
		out = append(out, challengeMethod{ID: f.ID, Kind: f.Kind, Label: f.Label})
	}
	return out
}

type verifyBody struct {
	MethodID string `json:"method_id"`
	Code     string `json:"code"`
	// Credential is a security key's answer (PublicKeyCredential JSON),
	// instead of a code.
	Credential     json.RawMessage `json:"credential"`
	RememberDevice bool            `json:"remember_device"`
}

func (a *API) signinVerify(w http.ResponseWriter, r *http.Request) {
	var in verifyBody
	if err := decode(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	var iss account.Issued
	var err error
	if hasCredential(in.Credential) {
		_, iss, err = a.acct.VerifySignInKey(r.Context(), a.client(r), a.cookies.Pending(r), in.MethodID, in.Credential, in.RememberDevice)
	} else {
		_, iss, err = a.acct.VerifySignIn(r.Context(), a.client(r), a.cookies.Pending(r), in.MethodID, in.Code, in.RememberDevice)
	}
	if err != nil {
		if errors.Is(err, account.ErrSignInExpired) {
			a.cookies.ClearPending(w)
		}
		a.fail(w, r, err)
		return
	}
	a.issue(w, r, iss)
	writeJSON(w, http.StatusOK, map[string]any{"status": "signed_in"})
}

type sendBody struct {
	MethodID string `json:"method_id"`
	// Channel asks for another channel than the method's own: "voice"
	// for "Call me instead".
	Channel string `json:"channel"`
}

// signinSend and stepUpSend deliver codes for sms, voice and e-mail
// methods, and begin a security key's ceremony (200 {publicKey}: request
// options); authenticator apps and recovery codes have nothing to send.
func (a *API) signinSend(w http.ResponseWriter, r *http.Request) {
	var in sendBody
	if err := decode(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	res, err := a.acct.SendSignIn(r.Context(), a.client(r), a.cookies.Pending(r), in.MethodID, in.Channel)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeSent(w, res)
}

func (a *API) stepUpSend(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	var in sendBody
	if err := decode(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	res, err := a.acct.SendStepUp(r.Context(), a.client(r), sess, u, in.MethodID, in.Channel)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeSent(w, res)
}

// writeSent answers a send: a security key's request options, or the
// sent code's timings.
func writeSent(w http.ResponseWriter, res account.SendResult) {
	if res.PublicKey != nil {
		writeJSON(w, http.StatusOK, map[string]any{"publicKey": res.PublicKey, "expires_in_s": int(res.ExpiresIn.Seconds())})
		return
	}
	writeJSON(w, http.StatusAccepted, sendJSON(res))
}

type stepUpBody struct {
	MethodID   string          `json:"method_id"`
	Code       string          `json:"code"`
	Credential json.RawMessage `json:"credential"`
	Password   *string         `json:"password"`
}

func (a *API) stepUpVerify(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	var in stepUpBody
	if err := decode(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	var err error
	switch {
	case in.Password != nil && in.MethodID == "":
		err = a.acct.StepUpPassword(r.Context(), a.client(r), sess, u, *in.Password)
		if errors.Is(err, account.ErrWrongPassword) {
			p := a.problemFor(r, err)
			p.Field = "password"
			err = p
		}
	case in.MethodID != "" && in.Password == nil && hasCredential(in.Credential):
		err = a.acct.StepUpKey(r.Context(), a.client(r), sess, u, in.MethodID, in.Credential)
	case in.MethodID != "" && in.Password == nil:
		err = a.acct.StepUpCode(r.Context(), a.client(r), sess, u, in.MethodID, in.Code)
	default:
		err = newProblem(http.StatusBadRequest, "invalid_json", "Say how", `Send either {"password"} or {"method_id","code"}.`)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "verified", "valid_for_s": int(a.acct.Config().TwoStep.StepUpWindow.D().Seconds())})
}

type factorJSON struct {
	ID         string        `json:"id"`
	Kind       factor.Kind   `json:"kind"`
	Label      string        `json:"label"`
	Role       factor.Role   `json:"role"`
	Status     factor.Status `json:"status"`
	CreatedAt  time.Time     `json:"created_at"`
	LastUsedAt *time.Time    `json:"last_used_at"`
	CodesLeft  *int          `json:"codes_left,omitempty"`
	// Passkey and BackedUp are a security key's: a discoverable
	// credential, and one synced beyond its device.
	Passkey  *bool `json:"passkey,omitempty"`
	BackedUp *bool `json:"backed_up,omitempty"`
}

func (a *API) factorOf(r *http.Request, f store.Factor) factorJSON {
	j := factorJSON{ID: f.ID, Kind: f.Kind, Label: f.Label, Role: f.Role, Status: f.Status, CreatedAt: f.CreatedAt}
	if !f.LastUsedAt.IsZero() {
		t := f.LastUsedAt
		j.LastUsedAt = &t
	}
	if f.Kind == account.KindRecovery {
		if n, err := a.acct.RecoveryCodesLeft(r.Context(), f.ID); err == nil {
			j.CodesLeft = &n
		}
	}
	if f.Kind == account.KindWebAuthn && f.Status == factor.Active {
		if keys, err := a.acct.SecurityKeys(r.Context(), f.UserID); err == nil {
			if k, ok := keys[f.ID]; ok {
				j.Passkey, j.BackedUp = &k.Discoverable, &k.BackupState
			}
		}
	}
	return j
}

func (a *API) listFactors(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	all, err := a.acct.AllFactors(r.Context(), sess, u.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]factorJSON, 0, len(all))
	for _, f := range all {
		out = append(out, a.factorOf(r, f))
	}
	writeJSON(w, http.StatusOK, out)
}

type labelBody struct {
	Label string `json:"label"`
}

func (a *API) addTOTP(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	var in labelBody
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	e, err := a.acct.AddTOTP(r.Context(), a.client(r), sess, u, in.Label)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"factor": a.factorOf(r, e.Factor), "secret": e.Secret, "otpauth_uri": e.URI, "qr_png": e.QR,
	})
}

type codeBody struct {
	Code string `json:"code"`
	// Credential confirms a security key: the browser's answer to the
	// creation options (PublicKeyCredential JSON).
	Credential json.RawMessage `json:"credential"`
}

func (a *API) confirmFactor(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	var in codeBody
	if err := decode(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	var f store.Factor
	var err error
	if hasCredential(in.Credential) {
		f, err = a.acct.ConfirmSecurityKey(r.Context(), a.client(r), sess, u, r.PathValue("id"), in.Credential)
	} else {
		f, err = a.acct.ConfirmFactor(r.Context(), a.client(r), sess, u, r.PathValue("id"), in.Code)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"factor": a.factorOf(r, f)})
}

func (a *API) recoveryCodes(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	f, codes, err := a.acct.NewRecoveryCodes(r.Context(), a.client(r), sess, u)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"factor": a.factorOf(r, f), "codes": codes})
}

type patchFactorBody struct {
	Label *string `json:"label"`
	Role  *string `json:"role"`
}

func (a *API) patchFactor(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	var in patchFactorBody
	if err := decode(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	var role *factor.Role
	if in.Role != nil {
		r := factor.Role(*in.Role)
		role = &r
	}
	f, err := a.acct.UpdateFactor(r.Context(), a.client(r), sess, u, r.PathValue("id"), in.Label, role)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"factor": a.factorOf(r, f)})
}

func (a *API) deleteFactor(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	warn, err := a.acct.RemoveFactor(r.Context(), a.client(r), sess, u, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if warn {
		w.Header().Set("Warning", `299 twostep "You have no backup method left: add another so a lost phone does not lock you out."`)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) enableTwoStep(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := a.acct.EnableTwoStep(r.Context(), a.client(r), sess, u); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"two_step": map[string]any{"enabled": true}})
}

func (a *API) disableTwoStep(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := a.acct.DisableTwoStep(r.Context(), a.client(r), sess, u); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type deviceJSON struct {
	ID         string    `json:"id"`
	Label      string    `json:"label"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	LastIP     string    `json:"last_ip"`
	ExpiresAt  time.Time `json:"expires_at"`
	Current    bool      `json:"current"`
}

func (a *API) devices(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	list, err := a.acct.Devices(r.Context(), a.client(r), u.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]deviceJSON, 0, len(list))
	for _, d := range list {
		out = append(out, deviceJSON{ID: d.ID, Label: d.Label, CreatedAt: d.CreatedAt, LastUsedAt: d.LastUsedAt, LastIP: d.LastIP, ExpiresAt: d.ExpiresAt, Current: d.Current})
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) forgetDevice(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := a.acct.ForgetDevice(r.Context(), a.client(r), sess, u, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) forgetDevices(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := a.acct.ForgetDevices(r.Context(), a.client(r), sess, u); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
