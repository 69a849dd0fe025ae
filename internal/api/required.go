package api

import (
	"net/http"
	"strings"
)

// setUpPaths are the endpoints someone whose grace period under
// two_step.required is over may still use: what setting up two-step
// verification needs (the methods, a confirmed address, step-up, turning
// it on), who they are, and signing out. Everything else answers 403
// two_step_required.
var setUpPaths = []string{
	"/api/v1/me",
	"/api/v1/signout",
	"/api/v1/email/verify/resend",
	"/api/v1/factors",
	"/api/v1/two-step/enable",
	"/api/v1/stepup/",
}

// forSetUp reports whether r is for one of setUpPaths (by the route it
// matched, so a path cannot be dressed up to look like one).
func forSetUp(r *http.Request) bool {
	_, path, _ := strings.Cut(r.Pattern, " ")
	for _, p := range setUpPaths {
		if path == p || strings.HasPrefix(path, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}
