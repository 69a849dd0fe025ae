package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"twostep/internal/account"
	"twostep/internal/i18n"
	"twostep/internal/ratelimit"
	"twostep/internal/store"
)

// The second step at sign-in: the code from the default method or another
// one, codes sent by text, call or e-mail, and the session it ends in.

type otherMethod struct{ ID, Text string }

// lockData is a sign-in whose account's budget of wrong codes is spent:
// until When, no code from this browser is accepted, right or wrong.
type lockData struct {
	// When is the time codes work again, In how long that is.
	When, In string
}

type challengeData struct {
	Page      page
	FormError string
	// Locked is set, instead of FormError, while the account's codes are
	// refused.
	Locked     *lockData
	Email      string
	Method     store.Factor
	Prompt     string
	CodeField  field
	Recovery   bool
	Remember   bool
	Others     []otherMethod
	OpenOthers bool
	// Site is who the person asks when they can use none of their methods.
	Site string
	// Sending: the method's code is sent; these offer text and call.
	Sendable, CanText, CanCall bool
	SentNotice, SentChannel    string
	Wait, WaitSMS, WaitVoice   int
	// Key is the ceremony when Method is a security key or passkey: the
	// page asks the key instead of a code.
	Key *keyCeremony
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
	w.renderChallenge(rw, r, http.StatusOK, ch, u, r.URL.Query().Get("method"), "", false, r.URL.Query().Get("sent"))
}

// renderChallenge renders the challenge for methodID (default: the user's
// default method); sent names the channel a code just went out on. A
// security key's ceremony begins here: its options are in the page.
func (w *Web) renderChallenge(rw http.ResponseWriter, r *http.Request, status int, ch account.Challenge, u store.User, methodID, errMsg string, remember bool, sent string) {
	d := w.challengeView(r, ch, u, methodID, errMsg, remember, sent)
	if d.Key != nil {
		res, err := w.acct.BeginSignInKey(r.Context(), w.cookies.Pending(r), d.Method.ID)
		if err != nil {
			st, msg := w.why(r, err)
			if st >= 500 {
				w.fail(rw, r, err)
				return
			}
			d.FormError = msg
		} else {
			d.Key.Options = res.PublicKey
			d.Page.WebAuthn = true
		}
	}
	w.render(rw, status, "challenge", d)
}

// challengeView is the challenge page's data (renderChallenge).
func (w *Web) challengeView(r *http.Request, ch account.Challenge, u store.User, methodID, errMsg string, remember bool, sent string) challengeData {
	l := w.loc(r)
	d := challengeData{Page: w.page(l.T("challenge.heading"), nil), Email: u.Email, Remember: remember, Site: w.opt.SiteName}
	var keys map[string]store.WebAuthnCredential
	for _, m := range ch.Methods {
		if m.Kind == account.KindWebAuthn && keys == nil {
			var err error
			if keys, err = w.acct.SecurityKeys(r.Context(), u.ID); err != nil {
				w.log.Error("list security keys", "err", err) // only words depend on it
			}
		}
	}
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
		d.Others = append(d.Others, otherMethod{ID: m.ID, Text: useText(l, m, keys[m.ID].Discoverable)})
	}
	d.Prompt = promptFor(l, d.Method)
	if d.Method.Kind == account.KindWebAuthn {
		passkey := keys[d.Method.ID].Discoverable
		d.Key = &keyCeremony{Passkey: passkey, Label: d.Method.Label}
		d.Prompt = keyPrompt(l, d.Method, passkey, keyButton(l, passkey))
		d.FormError = errMsg // no code field to show it beside
	}
	d.CodeField = signinCodeField(l, d.Method, errMsg)
	d.Recovery = d.Method.Kind == account.KindRecovery
	d.OpenOthers = errMsg != ""
	if account.Sendable(d.Method.Kind) {
		d.Sendable = true
		d.CanText, d.CanCall = w.acct.CanText(d.Method), w.acct.CanCall(d.Method)
		d.SentChannel = sent
		ttl := l.Duration(w.acct.Config().Codes.TTL.D())
		switch sent {
		case "sms", "voice", "email":
			d.SentNotice = l.T("challenge.sent_"+sent, "To", d.Method.Masked, "TTL", ttl)
		}
		// A button counts down only after a code went out in this
		// sign-in: before that, the person has nothing to wait for (a
		// press during an earlier sign-in's cool-down is told how long).
		secs := func(ch string) int {
			if sent == "" {
				return 0
			}
			left, err := w.acct.ResendWait(context.Background(), d.Method.ID, ch)
			if err != nil {
				return 0
			}
			return int(left.Seconds() + 0.999)
		}
		d.WaitSMS, d.WaitVoice, d.Wait = secs("sms"), secs("voice"), secs("email")
		// A call is offered once a text went out ("Call me instead"), or
		// first when the method is a voice call; a text likewise.
		if d.Method.Kind == account.KindSMS && sent == "" {
			d.CanCall = false
		}
		if d.Method.Kind == account.KindVoice && sent == "" {
			d.CanText = false
		}
	}
	return d
}

// renderLocked renders the challenge while the account's codes are
// refused: what happened, until when, and the way to end it.
func (w *Web) renderLocked(rw http.ResponseWriter, r *http.Request, ch account.Challenge, u store.User, methodID string, lim *ratelimit.Limited) {
	rw.Header().Set("Retry-After", strconv.Itoa(lim.Seconds()))
	d := w.challengeView(r, ch, u, methodID, "", false, "")
	d.Key = nil // no key is asked while the account's codes are refused
	l := w.loc(r)
	d.Locked = &lockData{When: l.Clock(lim.Until), In: l.Wait(lim.RetryAfter)}
	w.render(rw, http.StatusTooManyRequests, "challenge", d)
}

func (w *Web) challenge(rw http.ResponseWriter, r *http.Request) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	token := w.cookies.Pending(r)
	methodID, remember := r.PostFormValue("method_id"), r.PostFormValue("remember") == "1"
	var iss account.Issued
	var err error
	cred, withKey := r.PostForm["credential"]
	switch {
	case withKey && strings.TrimSpace(cred[0]) == "":
		err = errNoAnswer
	case withKey:
		_, iss, err = w.acct.VerifySignInKey(r.Context(), w.client(r), token, methodID, json.RawMessage(cred[0]), remember)
	default:
		_, iss, err = w.acct.VerifySignIn(r.Context(), w.client(r), token, methodID, r.PostFormValue("code"), remember)
	}
	if err != nil {
		if errors.Is(err, account.ErrSignInExpired) {
			w.cookies.ClearPending(rw)
			http.Redirect(rw, r, "/signin?notice=signin_expired", http.StatusSeeOther)
			return
		}
		var bad *account.InvalidCodeError
		status, msg := w.why(r, err)
		if errors.Is(err, errNoAnswer) {
			status, msg = http.StatusBadRequest, w.loc(r).T(noAnswer)
		}
		if status >= 500 {
			w.fail(rw, r, err)
			return
		}
		if errors.As(err, &bad) && bad.AttemptsLeft == 0 {
			w.cookies.ClearPending(rw)
			http.Redirect(rw, r, "/signin?notice=too_many_codes", http.StatusSeeOther)
			return
		}
		if bad != nil && bad.AttemptsLeft > 0 {
			msg = w.problemIn(r, err).Detail + " " + w.loc(r).N("problem.tries_left", bad.AttemptsLeft)
		}
		ch, u, cerr := w.acct.PendingChallenge(r.Context(), token)
		if cerr != nil {
			w.fail(rw, r, err)
			return
		}
		if lim, ok := account.AccountLocked(err); ok {
			w.renderLocked(rw, r, ch, u, methodID, lim)
			return
		}
		w.renderChallenge(rw, r, status, ch, u, methodID, msg, remember, "")
		return
	}
	w.issue(rw, r, iss)
	next := w.landing(rw, r)
	// Signed in with a recovery code and going nowhere else: the two-step
	// page, where a lost phone is replaced, says how many are left.
	if iss.UsedRecoveryCode && next == "/account" {
		next = "/account/two-step?notice=" + recoveryNotice(iss.RecoveryCodesLeft)
	}
	http.Redirect(rw, r, next, http.StatusSeeOther)
}

// recoveryNotice is the notice key for left recovery codes left: one key
// per count (the notices map), as no text travels in the URL.
func recoveryNotice(left int) string {
	if left > 9 {
		return "recovery_used"
	}
	return "recovery_used_" + strconv.Itoa(left)
}

// signinSend sends a code for the challenge ("Text me a code", "Call me
// instead").
func (w *Web) signinSend(rw http.ResponseWriter, r *http.Request) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	token, methodID, channel := w.cookies.Pending(r), r.PostFormValue("method_id"), r.PostFormValue("channel")
	_, err := w.acct.SendSignInCode(r.Context(), w.client(r), token, methodID, channel)
	if err != nil {
		if errors.Is(err, account.ErrSignInExpired) {
			w.cookies.ClearPending(rw)
			http.Redirect(rw, r, "/signin?notice=signin_expired", http.StatusSeeOther)
			return
		}
		status, msg := w.why(r, err)
		if status >= 500 && status != http.StatusServiceUnavailable {
			w.fail(rw, r, err)
			return
		}
		ch, u, cerr := w.acct.PendingChallenge(r.Context(), token)
		if cerr != nil {
			w.fail(rw, r, err)
			return
		}
		w.renderChallenge(rw, r, status, ch, u, methodID, msg, false, "")
		return
	}
	if channel == "" {
		channel = "sms"
	}
	http.Redirect(rw, r, "/signin/verify?method="+methodID+"&sent="+channel, http.StatusSeeOther)
}

// promptFor says where the code comes from.
func promptFor(l *i18n.Localizer, f store.Factor) string {
	switch f.Kind {
	case account.KindRecovery:
		return l.T("challenge.prompt_recovery")
	case account.KindSMS, account.KindVoice:
		return l.T("challenge.prompt_phone", "To", f.Masked)
	case account.KindEmail:
		return l.T("challenge.prompt_email", "To", f.Masked)
	case account.KindWebAuthn:
		return keyPrompt(l, f, false, keyButton(l, false))
	}
	return l.T("challenge.prompt_app", "Label", f.Label)
}

// useText is the "Try another way" link to method m, in words that say
// what it is ("Use your phone •••456"), not only its label.
func useText(l *i18n.Localizer, m store.Factor, passkey bool) string {
	switch m.Kind {
	case account.KindWebAuthn:
		id := "challenge.use_key"
		if passkey {
			id = "challenge.use_passkey"
		}
		if strings.EqualFold(m.Label, keyDefault(l, passkey)) || strings.EqualFold(m.Label, keyDefault(l.English(), passkey)) {
			return l.T(id)
		}
		return l.T(id+"_named", "Label", m.Label)
	case account.KindRecovery:
		return l.T("challenge.use_recovery")
	case account.KindSMS, account.KindVoice:
		return l.T("challenge.use_phone", "To", m.Masked)
	case account.KindEmail:
		return l.T("challenge.use_email", "To", m.Masked)
	}
	if m.Label == "" || strings.EqualFold(m.Label, l.T("method.app")) || strings.EqualFold(m.Label, l.English().T("method.app")) {
		return l.T("challenge.use_app")
	}
	return l.T("challenge.use_app_named", "Label", m.Label)
}

// signinCodeField is the challenge's code field: digits get the phone's
// number pad; recovery codes the full keyboard, neither capitalised nor
// spell-checked (the template says so).
func signinCodeField(l *i18n.Localizer, f store.Factor, err string) field {
	fd := field{Name: "code", Label: l.T("challenge.code"), Type: "text", Autocomplete: "one-time-code", Required: true, Autofocus: true, Error: err, Inputmode: "numeric"}
	if f.Kind == account.KindRecovery {
		fd.Label, fd.Hint, fd.Inputmode, fd.Autocomplete = l.T("challenge.recovery_code"), l.T("challenge.recovery_hint"), "", "off"
	}
	return fd
}
