package web

import (
	"net/http"
	"strings"

	"twostep/internal/store"
)

// Pages under two_step.required (account.TwoStepRequirement): everyone
// without two-step verification lands on the set-up wizard after signing
// in; once their grace period is over, every page but those that set it
// up sends them there.

// setUpWizard is where they are sent.
const setUpWizard = "/account/two-step/setup"

// setUpPages are the pages still open once the grace period is over:
// the two-step pages (the wizard, its methods, recovery codes, turning
// it on), confirming it's them, and a new e-mail confirmation link.
var setUpPages = []string{"/account/two-step", "/account/confirm", "/account/verify-email/resend"}

func forSetUpPage(r *http.Request) bool {
	for _, p := range setUpPages {
		if r.URL.Path == p || strings.HasPrefix(r.URL.Path, p+"/") {
			return true
		}
	}
	return false
}

// blockedBy reports whether u must set up two-step verification before
// anything else (a failure to tell is logged and lets them through: the
// API, which refuses on errors, guards the same data).
func (w *Web) blockedBy(r *http.Request, u store.User) bool {
	req, err := w.acct.TwoStepRequirement(r.Context(), u)
	if err != nil {
		w.log.Error("two-step requirement", "err", err)
		return false
	}
	return req.Blocked
}

// landingFor is where u goes after a sign-in: the wizard when the policy
// requires two-step verification they do not have yet — at once after
// their grace period, else unless they were on their way somewhere.
func (w *Web) landingFor(rw http.ResponseWriter, r *http.Request, u store.User) string {
	next := w.landing(rw, r)
	req, err := w.acct.TwoStepRequirement(r.Context(), u)
	if err != nil {
		w.log.Error("two-step requirement", "err", err)
		return next
	}
	if req.Blocked || (req.Required && next == "/account") {
		return setUpWizard
	}
	return next
}
