package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
)

// checkAccess refuses access rules that could not be applied as written,
// naming the rule: a policy that does not exist, a domain that is not a
// host name, a path pattern that is not a regular expression, a network
// that is not an address or CIDR.
func (c *Config) checkAccess() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("config: "+format, a...)) }
	ac := c.AccessControl
	if !ValidPolicy(ac.DefaultPolicy) {
		bad("access_control.default_policy %q: use bypass, one_factor, two_factor or deny", ac.DefaultPolicy)
	}
	for i, r := range ac.Rules {
		name := fmt.Sprintf("access_control.rules[%d]", i)
		if !ValidPolicy(r.Policy) {
			bad("%s: policy %q: use bypass, one_factor, two_factor or deny", name, r.Policy)
		}
		for _, d := range r.Domain {
			if !ValidDomainPattern(d) {
				bad("%s: domain %q is not a lower-case host name or *.domain", name, d)
			}
		}
		for _, re := range r.Resources {
			if _, err := regexp.Compile(re); err != nil {
				bad("%s: resource %q is not a regular expression: %v", name, re, err)
			}
		}
		for _, m := range r.Methods {
			if m == "" || strings.ToUpper(m) != m || strings.ContainsAny(m, " \t/") {
				bad("%s: method %q: write HTTP methods in capitals, e.g. GET", name, m)
			}
		}
		for _, n := range r.Networks {
			if _, err := ParseNetwork(n); err != nil {
				bad("%s: network %q is not an address or network (e.g. 10.0.0.0/8)", name, n)
			}
		}
	}
	if d := c.Session.CookieDomain; d != "" {
		u, err := url.Parse(c.Server.PublicURL)
		switch {
		case !ValidDomainPattern(d) || strings.HasPrefix(d, "*."):
			bad("session.cookie_domain %q is not a domain name", d)
		case err != nil || u.Scheme != "https":
			bad("session.cookie_domain needs server.public_url on https: a cookie shared with other hosts must be Secure")
		case !DomainMatches(u.Hostname(), d) && !DomainMatches(u.Hostname(), "*."+d):
			bad("session.cookie_domain %q does not contain server.public_url's host %q, so browsers would refuse the cookie", d, u.Hostname())
		}
	}
	return errs
}

// ValidPolicy reports whether p is one of the access policies.
func ValidPolicy(p string) bool {
	switch p {
	case PolicyBypass, PolicyOneFactor, PolicyTwoFactor, PolicyDeny:
		return true
	}
	return false
}

// ValidDomainPattern reports whether d is a lower-case host name, or
// "*." and one: letters, digits, hyphens, dots between labels.
func ValidDomainPattern(d string) bool {
	d = strings.TrimPrefix(d, "*.")
	if d == "" || len(d) > 253 {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// DomainMatches reports whether host (lower case, no port) is named by
// pattern: the host itself, or for "*.example.com" any host below
// example.com but not example.com itself.
func DomainMatches(host, pattern string) bool {
	if parent, ok := strings.CutPrefix(pattern, "*."); ok {
		return len(host) > len(parent)+1 && strings.HasSuffix(host, "."+parent)
	}
	return host == pattern
}

// ParseNetwork reads "10.0.0.0/8" or a single address.
func ParseNetwork(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("not an address: %q", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Domains are the domain patterns the access rules name: with the public
// URL's host, the only places a return address may lead.
func (a AccessControl) Domains() []string {
	var out []string
	for _, r := range a.Rules {
		out = append(out, r.Domain...)
	}
	return out
}
