package forwardauth

import (
	"net/netip"
	"testing"

	"twostep/internal/config"
)

// TestRules: the first rule that matches decides, each list a rule sets
// must match, and the default covers the rest.
func TestRules(t *testing.T) {
	rs, err := Compile(config.AccessControl{DefaultPolicy: "deny", Rules: []config.AccessRule{
		{Domain: []string{"public.example.com"}, Policy: "bypass"},
		{Domain: []string{"app.example.com", "*.app.example.com"}, Resources: []string{"^/admin", `^/api/v\d+/admin`}, Policy: "two_factor"},
		{Domain: []string{"app.example.com", "*.app.example.com"}, Policy: "one_factor"},
		{Domain: []string{"api.example.com"}, Methods: []string{"GET", "HEAD"}, Policy: "bypass"},
		{Domain: []string{"intranet.example.com"}, Networks: []string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.7"}, Policy: "one_factor"},
		{Domain: []string{"intranet.example.com"}, Policy: "deny"},
		{Resources: []string{"^/health$"}, Policy: "bypass"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr
	for _, tc := range []struct {
		name string
		t    Target
		want Policy
	}{
		{"exact domain", Target{Host: "public.example.com", Path: "/", Method: "GET"}, Bypass},
		{"domain is not a suffix", Target{Host: "notpublic.example.com", Path: "/", Method: "GET"}, Deny},
		{"subdomain of exact is not matched", Target{Host: "x.public.example.com", Path: "/", Method: "GET"}, Deny},
		{"resource first", Target{Host: "app.example.com", Path: "/admin/users", Method: "GET"}, TwoFactor},
		{"resource regex", Target{Host: "app.example.com", Path: "/api/v2/admin", Method: "POST"}, TwoFactor},
		{"resource anchored", Target{Host: "app.example.com", Path: "/x/admin", Method: "GET"}, OneFactor},
		{"wildcard", Target{Host: "shop.app.example.com", Path: "/admin", Method: "GET"}, TwoFactor},
		{"wildcard deep", Target{Host: "a.b.app.example.com", Path: "/", Method: "GET"}, OneFactor},
		{"wildcard excludes parent", Target{Host: "example.com", Path: "/", Method: "GET"}, Deny},
		{"method matches", Target{Host: "api.example.com", Path: "/x", Method: "HEAD"}, Bypass},
		{"method does not", Target{Host: "api.example.com", Path: "/x", Method: "POST"}, Deny},
		{"network v4", Target{Host: "intranet.example.com", Path: "/", Method: "GET", Client: ip("10.9.8.7")}, OneFactor},
		{"network single", Target{Host: "intranet.example.com", Path: "/", Method: "GET", Client: ip("192.0.2.7")}, OneFactor},
		{"network v6", Target{Host: "intranet.example.com", Path: "/", Method: "GET", Client: ip("2001:db8::1")}, OneFactor},
		{"network outside", Target{Host: "intranet.example.com", Path: "/", Method: "GET", Client: ip("192.0.2.8")}, Deny},
		{"network unknown", Target{Host: "intranet.example.com", Path: "/", Method: "GET"}, Deny},
		{"rule without domain", Target{Host: "anything.example.org", Path: "/health", Method: "GET"}, Bypass},
		{"default", Target{Host: "other.example.org", Path: "/", Method: "GET"}, Deny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rs.Policy(tc.t); got != tc.want {
				t.Errorf("Policy(%+v) = %d, want %d", tc.t, got, tc.want)
			}
		})
	}
	open, err := Compile(config.AccessControl{DefaultPolicy: "one_factor"})
	if err != nil || open.Policy(Target{Host: "x.example.com", Path: "/"}) != OneFactor {
		t.Errorf("no rules: want the default one_factor (err %v)", err)
	}
	for _, bad := range []config.AccessControl{
		{DefaultPolicy: "allow"},
		{DefaultPolicy: "deny", Rules: []config.AccessRule{{Resources: []string{"("}, Policy: "deny"}}},
		{DefaultPolicy: "deny", Rules: []config.AccessRule{{Networks: []string{"10.0.0.0/40"}, Policy: "deny"}}},
		{DefaultPolicy: "deny", Rules: []config.AccessRule{{Policy: ""}}},
	} {
		if _, err := Compile(bad); err == nil {
			t.Errorf("Compile(%+v) accepted", bad)
		}
	}
}
