package config_test

import (
	"testing"

	"twostep/internal/config"
)

// TestLoadAccessControl reads the access rules from YAML, the default
// policy from the environment too, and the shared-cookie domain.
func TestLoadAccessControl(t *testing.T) {
	path := writeFile(t, `
server: {public_url: "https://login.example.com"}
delivery: {email: smtp, smtp: {host: mail.example.com, from: a@example.com}}
access_control:
  default_policy: one_factor
  rules:
    - domain: ["public.example.com"]
      policy: bypass
    - domain: ["app.example.com", "*.app.example.com"]
      resources: ["^/admin"]
      methods: [GET, POST]
      networks: ["10.0.0.0/8", "192.0.2.7"]
      policy: two_factor
session: {cookie_domain: example.com}
`)
	c, err := config.Load(path, []string{"TWOSTEP_ACCESS_CONTROL_DEFAULT_POLICY=deny"})
	if err != nil {
		t.Fatal(err)
	}
	ac := c.AccessControl
	if ac.DefaultPolicy != "deny" || len(ac.Rules) != 2 || ac.Rules[1].Policy != "two_factor" || ac.Rules[1].Networks[1] != "192.0.2.7" {
		t.Errorf("access_control = %+v", ac)
	}
	if got := ac.Domains(); len(got) != 3 || got[2] != "*.app.example.com" {
		t.Errorf("Domains() = %v", got)
	}
	if c.Session.CookieDomain != "example.com" {
		t.Errorf("cookie_domain = %q", c.Session.CookieDomain)
	}
	if d := config.Default().AccessControl; d.DefaultPolicy != "deny" || len(d.Rules) != 0 {
		t.Errorf("default access control = %+v, want deny and no rules", d)
	}
}

// TestAccessControlRefused: a rule that cannot be applied as written stops
// the start, and the error names the rule.
func TestAccessControlRefused(t *testing.T) {
	base := "server: {public_url: \"https://login.example.com\"}\ndelivery: {email: smtp, smtp: {host: m.example.com, from: a@example.com}}\n"
	for _, tc := range []struct{ name, yaml string }{
		{"bad regex", "access_control: {rules: [{domain: [a.example.com], resources: ['^/(admin'], policy: deny}]}"},
		{"bad cidr", "access_control: {rules: [{policy: bypass}, {domain: [a.example.com], networks: ['10.0.0.0/33'], policy: deny}]}"},
		{"bad address", "access_control: {rules: [{domain: [a.example.com], networks: ['ten'], policy: deny}]}"},
		{"unknown policy", "access_control: {rules: [{domain: [a.example.com], policy: allow}]}"},
		{"unknown default", "access_control: {default_policy: allow}"},
		{"bad domain", "access_control: {rules: [{domain: ['https://a.example.com'], policy: deny}]}"},
		{"wildcard middle", "access_control: {rules: [{domain: ['a.*.example.com'], policy: deny}]}"},
		{"lower-case method", "access_control: {rules: [{domain: [a.example.com], methods: [get], policy: deny}]}"},
		{"unknown field", "access_control: {rules: [{domains: [a.example.com], policy: deny}]}"},
		{"cookie domain elsewhere", "session: {cookie_domain: example.org}"},
		{"cookie domain wildcard", "session: {cookie_domain: '*.example.com'}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(writeFile(t, base+tc.yaml), nil)
			if err == nil {
				t.Fatalf("Load accepted %s", tc.yaml)
			}
			t.Log(err)
		})
	}
	_, err := config.Load(writeFile(t, base+"access_control: {rules: [{policy: bypass}, {domain: [a.example.com], networks: ['10.0.0.0/33'], policy: deny}]}"), nil)
	wantErrContaining(t, "bad cidr", err, "access_control.rules[1]", "10.0.0.0/33")
	_, err = config.Load(writeFile(t, "session: {cookie_domain: example.com}"), nil)
	wantErrContaining(t, "cookie domain on http", err, "session.cookie_domain", "https")
}

func TestDomainMatches(t *testing.T) {
	for _, tc := range []struct {
		host, pattern string
		want          bool
	}{
		{"app.example.com", "app.example.com", true},
		{"app.example.com", "*.example.com", true},
		{"a.b.example.com", "*.example.com", true},
		{"example.com", "*.example.com", false},
		{"evilexample.com", "*.example.com", false},
		{".example.com", "*.example.com", false},
		{"app.example.com.evil", "app.example.com", false},
		{"app.example.co", "app.example.com", false},
	} {
		if got := config.DomainMatches(tc.host, tc.pattern); got != tc.want {
			t.Errorf("DomainMatches(%q, %q) = %v, want %v", tc.host, tc.pattern, got, tc.want)
		}
	}
}
