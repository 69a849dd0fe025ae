package forwardauth

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"twostep/internal/config"
)

// Policy is what a rule asks of the person behind a request.
type Policy int

// The policies, from the most open to the most closed.
const (
	Bypass    Policy = iota // anyone, signed in or not
	OneFactor               // a session, whatever its steps
	TwoFactor               // a session that passed a second step
	Deny                    // nobody
)

func parsePolicy(s string) (Policy, error) {
	switch s {
	case config.PolicyBypass:
		return Bypass, nil
	case config.PolicyOneFactor:
		return OneFactor, nil
	case config.PolicyTwoFactor:
		return TwoFactor, nil
	case config.PolicyDeny:
		return Deny, nil
	}
	return Deny, fmt.Errorf("unknown policy %q", s)
}

// Target is the request a proxy asks about.
type Target struct {
	Host   string // lower case, without port
	Path   string // the path with its query, as the client sent it
	Method string
	Client netip.Addr // the client's address; invalid when unknown
}

// rule is a config.AccessRule made ready to match.
type rule struct {
	domains   []string
	resources []*regexp.Regexp
	methods   []string
	networks  []netip.Prefix
	policy    Policy
}

// Rules decide a target's policy: the first rule that matches, the default
// when none does.
type Rules struct {
	rules []rule
	def   Policy
}

// Compile prepares the access rules. config.Validate has refused anything
// that would fail here; the error is for configurations built by hand.
func Compile(ac config.AccessControl) (Rules, error) {
	def, err := parsePolicy(ac.DefaultPolicy)
	if err != nil {
		return Rules{}, fmt.Errorf("access_control.default_policy: %w", err)
	}
	rs := Rules{def: def}
	for i, c := range ac.Rules {
		r := rule{methods: c.Methods}
		if r.policy, err = parsePolicy(c.Policy); err != nil {
			return Rules{}, fmt.Errorf("access_control.rules[%d]: %w", i, err)
		}
		for _, d := range c.Domain {
			r.domains = append(r.domains, strings.ToLower(d))
		}
		for _, s := range c.Resources {
			re, err := regexp.Compile(s)
			if err != nil {
				return Rules{}, fmt.Errorf("access_control.rules[%d]: resource %q: %w", i, s, err)
			}
			r.resources = append(r.resources, re)
		}
		for _, s := range c.Networks {
			p, err := config.ParseNetwork(s)
			if err != nil {
				return Rules{}, fmt.Errorf("access_control.rules[%d]: network %q: %w", i, s, err)
			}
			r.networks = append(r.networks, p)
		}
		rs.rules = append(rs.rules, r)
	}
	return rs, nil
}

// Policy is the policy of the first rule t matches, or the default.
func (rs Rules) Policy(t Target) Policy {
	for _, r := range rs.rules {
		if r.matches(t) {
			return r.policy
		}
	}
	return rs.def
}

func (r rule) matches(t Target) bool {
	if len(r.domains) > 0 && !anyOf(r.domains, func(d string) bool { return config.DomainMatches(t.Host, d) }) {
		return false
	}
	if len(r.methods) > 0 && !anyOf(r.methods, func(m string) bool { return m == t.Method }) {
		return false
	}
	if len(r.networks) > 0 && !anyOf(r.networks, func(p netip.Prefix) bool { return t.Client.IsValid() && p.Contains(t.Client) }) {
		return false
	}
	if len(r.resources) > 0 && !anyOf(r.resources, func(re *regexp.Regexp) bool { return re.MatchString(t.Path) }) {
		return false
	}
	return true
}

func anyOf[T any](xs []T, f func(T) bool) bool {
	for _, x := range xs {
		if f(x) {
			return true
		}
	}
	return false
}
