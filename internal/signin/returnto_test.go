package signin

import (
	"strings"
	"testing"
)

// TestSafeNext feeds the return-to check the addresses an attacker would
// try: each must come back as "/account"; the account pages' own addresses
// come back unchanged.
func TestSafeNext(t *testing.T) {
	hosts := []string{"login.example.com", "app.example.com", "*.apps.example.com"}
	good := []string{
		"/account",
		"/account/",
		"/account/two-step",
		"/account/two-step?x=1",
		"/account/two-step/setup?factor=abc&step=2",
		"/account/devices",
		"/account/confirm?next=%2Faccount%2Ftwo-step",
		"https://app.example.com/",
		"https://app.example.com",
		"https://app.example.com/admin?x=1&y=%2F",
		"https://app.example.com:8443/admin",
		"https://APP.example.com/x",
		"https://login.example.com/account",
		"https://shop.apps.example.com/cart",
		"https://a.b.apps.example.com/",
		"https://app.example.com?q=1",
		"https://app.example.com//double",
	}
	for _, next := range good {
		if got := ReturnTo(next, hosts); got != next {
			t.Errorf("ReturnTo(%q) = %q, want it kept", next, got)
		}
	}
	hostile := []string{
		"",
		"https://evil.example/",
		"http://evil.example/account",
		"HTTPS://evil.example",
		"//evil.example",
		"//evil.example/account",
		"///evil.example",
		`\\evil.example`,
		`/\evil.example`,
		`/account\..\..\\evil.example`,
		`/account/\evil.example`,
		"javascript:alert(1)",
		"JavaScript:alert(1)//account",
		"data:text/html,<script>alert(1)</script>",
		"https://app.example.com@evil.example",
		"https://app.example.com@evil.example/account",
		"//app.example.com@evil.example/account",
		"%2F%2Fevil.example",
		"%2f%2fevil.example",
		"/%2F%2Fevil.example",
		"/account/%2F%2Fevil.example",
		"/account/%2f/evil.example",
		"/account/%5Cevil.example",
		"/account/%5c%5cevil.example",
		"/%09/evil.example",
		"/account/%09/evil.example",
		"/\t/evil.example",
		"/account/\t/evil.example",
		"/account\r\nLocation: https://evil.example",
		"/account%0d%0aSet-Cookie:%20x=1",
		"/account/%0d%0aSet-Cookie:%20x=1",
		"/account\n//evil.example",
		"/account/../../evil.example",
		"/account/..//evil.example",
		"/account/./../signout",
		"/account/%2e%2e/%2e%2e//evil.example",
		"/account/%2E%2E/signout",
		"/account/.%2e/signout",
		"/account//evil.example",
		"/account/ /evil.example",
		"/account/\u00a0evil",
		"/account/\u2215\u2215evil.example",
		"/account#@evil.example",
		"/accountx",
		"/accounts/evil",
		"/signout",
		"/",
		"evil.example",
		"account",
		"?next=//evil.example",
		"/account/" + strings.Repeat("a", 600),
		// Absolute addresses: only https, only the hosts allowed, nothing
		// a browser could read as another host.
		"http://app.example.com/",
		"https://evil.example/",
		"https://app.example.com.evil.example/",
		"https://app.example.comevil.example/",
		"https://evilapp.example.com/",
		"https://apps.example.com/",
		"https://xapps.example.com/",
		"https://app.example.com@evil.example/",
		"https://app.example.com:443@evil.example/",
		"https://user:pw@app.example.com/",
		"https://app.example.com%40evil.example/",
		"https://app.example.com%2F@evil.example/",
		"https://%61pp.example.com/",
		"https://app.example.com\\@evil.example/",
		"https://app.example.com\\evil.example/",
		"https:\\\\evil.example/",
		"https://app.example.com#@evil.example",
		"https://app.example.com:/x",
		"https://app.example.com:99999x/",
		"https://app.example.com:8a/",
		"https://[::1]/",
		"https://127.0.0.1/",
		"https://app.example.com\t.evil/",
		"https://app.example.com\n/",
		"https:/app.example.com/",
		"https:app.example.com/",
		"https:///evil.example",
		"https://",
		"https://*.apps.example.com/",
		"https://app.example.com./",
		"https://аpp.example.com/",
		"//app.example.com/",
		"/\\app.example.com/",
		"\\\\evil.example",
		"javascript://app.example.com/%0aalert(1)",
		"https://app.example.com/" + strings.Repeat("a", 600),
		"/account?x=" + strings.Repeat("%41", 400),
	}
	for _, next := range hostile {
		if got := ReturnTo(next, hosts); got != "/account" {
			t.Errorf("ReturnTo(%q) = %q, want /account", next, got)
		}
	}
}
