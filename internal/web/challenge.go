package web

import (
	"context"
	"errors"
	"net/http"

	"twostep/internal/account"
	"twostep/internal/store"
)

// The second step at sign-in: the code from the default method or another
// one, codes sent by text, call or e-mail, and the session it ends in.

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
	w.issue(rw, r, iss)
	http.Redirect(rw, r, w.landing(rw, r), http.StatusSeeOther)
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
		status, msg := w.explain(err)
		if status >= 500 && status != http.StatusServiceUnavailable {
			w.fail(rw, r, err)
			return
		}
		ch, u, cerr := w.acct.PendingChallenge(r.Context(), token)
		if cerr != nil {
			w.fail(rw, r, err)
			return
		}
		w.renderChallenge(rw, status, ch, u, methodID, msg, false, "")
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
