package signin

import (
	"net/url"
	"strings"

	"twostep/internal/config"
)

// maxReturnLen bounds a return address: the account pages' paths and queries
// are short, and a long one is only ever an attack on something.
const maxReturnLen = 512

// ReturnTo keeps a return address that leads back where a person started:
// an https URL on one of hosts (twostep's own public host and the domains
// the access rules name, "*.example.com" for the hosts below it), or this
// site's account pages: "/account" or a path under "/account/", with an
// optional query. Anything a browser
// could read as another site, or normalise into one, gives "/account"
// instead: a scheme or host (https://…, //host, javascript:), a backslash
// (browsers read /\host as //host), user info, a fragment, spaces and
// control characters (browsers drop tabs and newlines, so /\t/host is
// //host), non-ASCII, dot segments and doubled slashes, also percent-encoded
// (%2e%2e, %2F%2F, %5C, %09), and anything longer than maxReturnLen.
// ContinuePath is where an app's sign-in request goes on once the person
// has signed in (package oidc): a return address like the account pages.
const ContinuePath = "/oidc/continue"

func ReturnTo(next string, hosts []string) string {
	const fallback = "/account"
	if next == "" || len(next) > maxReturnLen {
		return fallback
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c <= ' ' || c >= 0x7f || c == '\\' || c == '#' {
			return fallback
		}
	}
	if len(next) > len("https://") && strings.EqualFold(next[:len("https://")], "https://") {
		if !onHosts(next, hosts) {
			return fallback
		}
		return next
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return fallback
	}
	// Both the path as sent and as decoded must be under /account, each
	// segment a plain name: nothing for a browser to resolve or decode
	// into another path.
	raw, _, _ := strings.Cut(next, "?")
	for _, p := range []string{raw, u.Path} {
		if p != "/account" && !strings.HasPrefix(p, "/account/") && p != ContinuePath {
			return fallback
		}
		for _, seg := range strings.Split(p[1:], "/") {
			if seg == "." || seg == ".." || strings.EqualFold(seg, "%2e") || strings.EqualFold(seg, "%2e%2e") ||
				strings.EqualFold(seg, ".%2e") || strings.EqualFold(seg, "%2e.") {
				return fallback
			}
		}
		if strings.Contains(p, "//") {
			return fallback
		}
	}
	for i := 0; i < len(u.Path); i++ {
		if c := u.Path[i]; c < ' ' || c >= 0x7f || c == '\\' {
			return fallback
		}
	}
	return next
}

// onHosts reports whether the absolute https URL next (checked already for
// spaces, controls, backslashes and fragments) leads to one of hosts. The
// authority must be a plain host name with an optional port: no user info
// (https://app.example.com@evil), no percent-encoding, no IP literal, so
// what the browser connects to is exactly the name compared here.
func onHosts(next string, hosts []string) bool {
	rest := next[len("https://"):]
	authority := rest
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority = rest[:i]
	}
	host, port, hasPort := strings.Cut(strings.ToLower(authority), ":")
	if hasPort && (port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "") {
		return false
	}
	if !config.ValidDomainPattern(host) || strings.HasPrefix(host, "*.") {
		return false
	}
	u, err := url.Parse(next)
	if err != nil || u.User != nil || !strings.EqualFold(u.Hostname(), host) {
		return false
	}
	for _, h := range hosts {
		if config.DomainMatches(host, strings.ToLower(h)) {
			return true
		}
	}
	return false
}
