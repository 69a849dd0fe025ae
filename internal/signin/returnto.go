package signin

import (
	"net/url"
	"strings"
)

// maxReturnLen bounds a return address: the account pages' paths and queries
// are short, and a long one is only ever an attack on something.
const maxReturnLen = 512

// ReturnTo keeps a return address on this site's account pages: "/account"
// or a path under "/account/", with an optional query. Anything a browser
// could read as another site, or normalise into one, gives "/account"
// instead: a scheme or host (https://…, //host, javascript:), a backslash
// (browsers read /\host as //host), user info, a fragment, spaces and
// control characters (browsers drop tabs and newlines, so /\t/host is
// //host), non-ASCII, dot segments and doubled slashes, also percent-encoded
// (%2e%2e, %2F%2F, %5C, %09), and anything longer than maxReturnLen.
func ReturnTo(next string) string {
	const fallback = "/account"
	if next == "" || len(next) > maxReturnLen {
		return fallback
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c <= ' ' || c >= 0x7f || c == '\\' || c == '#' {
			return fallback
		}
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
		if p != "/account" && !strings.HasPrefix(p, "/account/") {
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
