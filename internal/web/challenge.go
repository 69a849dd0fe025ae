package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"twostep/internal/account"
	"twostep/internal/ratelimit"
	"twostep/internal/store"
	"twostep/internal/text"
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
	d := challengeData{Page: w.page("Two-step verification", nil), Email: u.Email, Remember: remember, Site: w.opt.SiteName}
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
		d.Others = append(d.Others, otherMethod{ID: m.ID, Text: useText(m, keys[m.ID].Discoverable)})
	}
	d.Prompt = promptFor(d.Method)
	if d.Method.Kind == account.KindWebAuthn {
		passkey := keys[d.Method.ID].Discoverable
		d.Key = &keyCeremony{Passkey: passkey, Label: d.Method.Label}
		d.Prompt = keyPrompt(d.Method, passkey, keyButton(passkey))
		d.FormError = errMsg // no code field to show it beside
	}
	d.CodeField = signinCodeField(d.Method, errMsg)
	d.Recovery = d.Method.Kind == account.KindRecovery
	d.OpenOthers = errMsg != ""
	if account.Sendable(d.Method.Kind) {
		d.Sendable = true
		d.CanText, d.CanCall = w.acct.CanText(d.Method), w.acct.CanCall(d.Method)
		d.SentChannel = sent
		ttl := text.Duration(w.acct.Config().Codes.TTL.D())
		switch sent {
		case "sms":
			d.SentNotice = "We texted a code to " + d.Method.Masked + ". It works for " + ttl + "."
		case "voice":
			d.SentNotice = "We're calling " + d.Method.Masked + " to read you a code. It works for " + ttl + "."
		case "email":
			d.SentNotice = "We e-mailed a code to " + d.Method.Masked + ". It works for " + ttl + "."
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
	d.Locked = &lockData{When: lim.Until.UTC().Format("15:04 UTC"), In: text.Wait(lim.RetryAfter)}
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
			status, msg = http.StatusBadRequest, noAnswer
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
			msg = w.problemIn(r, err).Detail + " " + text.Count(bad.AttemptsLeft, "try", "tries") + " left."
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

// recoveryUsed is the notice after a sign-in with a recovery code, with
// left codes left.
func recoveryUsed(left int) string {
	if left == 0 {
		return "You used your last recovery code. Make new ones below now. Lost your phone? Replace it now: add the new one below, then remove the old one."
	}
	return "You used a recovery code; " + text.Count(left, "is", "are") + " left. Lost your phone? Replace it now: add the new one below, then remove the old one."
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
func promptFor(f store.Factor) string {
	switch f.Kind {
	case account.KindRecovery:
		return "Enter one of your recovery codes. Each works once."
	case account.KindSMS, account.KindVoice:
		return "We'll send a 6-digit code to your phone " + f.Masked + "."
	case account.KindEmail:
		return "We'll e-mail a 6-digit code to " + f.Masked + "."
	case account.KindWebAuthn:
		return keyPrompt(f, false, keyButton(false))
	}
	return "Enter the 6-digit code from your authenticator app (" + f.Label + ")."
}

// useText is the "Try another way" link to method m, in words that say
// what it is ("Use your phone •••456"), not only its label.
func useText(m store.Factor, passkey bool) string {
	switch m.Kind {
	case account.KindWebAuthn:
		kind := "security key"
		if passkey {
			kind = "passkey"
		}
		if strings.EqualFold(m.Label, keyDefault(passkey)) {
			return "Use your " + kind
		}
		return "Use your " + kind + " (" + m.Label + ")"
	case account.KindRecovery:
		return "Use a recovery code"
	case account.KindSMS, account.KindVoice:
		return "Use your phone " + m.Masked
	case account.KindEmail:
		return "Use your e-mail " + m.Masked
	}
	if m.Label == "" || strings.EqualFold(m.Label, "Authenticator app") {
		return "Use your authenticator app"
	}
	return "Use your authenticator app (" + m.Label + ")"
}

// signinCodeField is the challenge's code field: digits get the phone's
// number pad; recovery codes the full keyboard, neither capitalised nor
// spell-checked (the template says so).
func signinCodeField(f store.Factor, err string) field {
	fd := field{Name: "code", Label: "Code", Type: "text", Autocomplete: "one-time-code", Required: true, Autofocus: true, Error: err, Inputmode: "numeric"}
	if f.Kind == account.KindRecovery {
		fd.Label, fd.Hint, fd.Inputmode, fd.Autocomplete = "Recovery code", "Like abcd-efgh.", "", "off"
	}
	return fd
}
