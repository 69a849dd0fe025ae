package session

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("127.0.0.1/32")}
	for _, tt := range []struct {
		name    string
		remote  string
		xff     []string // one entry per header line
		trusted []netip.Prefix
		want    string
	}{
		{"no proxy trusted", "192.0.2.9:5000", []string{"203.0.113.7"}, nil, "192.0.2.9"},
		{"untrusted peer ignores the header", "192.0.2.9:5000", []string{"203.0.113.7"}, proxies, "192.0.2.9"},
		{"trusted peer, one hop", "10.0.0.2:5000", []string{"203.0.113.7"}, proxies, "203.0.113.7"},
		{"spoofed first entry", "10.0.0.2:5000", []string{"198.51.100.1, 203.0.113.7"}, proxies, "203.0.113.7"},
		{"spoofed first line", "10.0.0.2:5000", []string{"198.51.100.1", "203.0.113.7"}, proxies, "203.0.113.7"},
		{"spoofed lines and entries", "10.0.0.2:5000", []string{"198.51.100.1, 198.51.100.2", "198.51.100.3,203.0.113.7"}, proxies, "203.0.113.7"},
		{"chain of trusted proxies", "10.0.0.2:5000", []string{"198.51.100.1, 203.0.113.7, 10.0.0.9", "10.1.1.1"}, proxies, "203.0.113.7"},
		{"every hop trusted", "10.0.0.2:5000", []string{"10.0.0.7, 10.0.0.8"}, proxies, "10.0.0.7"},
		{"trusted peer, no header", "10.0.0.2:5000", nil, proxies, "10.0.0.2"},
		{"empty header", "10.0.0.2:5000", []string{""}, proxies, "10.0.0.2"},
		{"ip:port entry", "10.0.0.2:5000", []string{"198.51.100.1, 203.0.113.7:4711"}, proxies, "203.0.113.7"},
		{"[v6]:port entry", "10.0.0.2:5000", []string{"[2001:db8::7]:4711"}, proxies, "2001:db8::7"},
		{"[v6] entry", "10.0.0.2:5000", []string{"[2001:db8::7]"}, proxies, "2001:db8::7"},
		{"bare v6 entry", "[fd00::1]:5000", []string{"2001:db8::7"}, proxies, "2001:db8::7"},
		{"v6 zone dropped", "10.0.0.2:5000", []string{"fe80::1%eth0"}, proxies, "fe80::1"},
		{"mapped v4 read as v4", "[::ffff:10.0.0.2]:5000", []string{"::ffff:203.0.113.7"}, proxies, "203.0.113.7"},
		{"garbage at the right stops at the proxy", "10.0.0.2:5000", []string{"203.0.113.7, unknown"}, proxies, "10.0.0.2"},
		{"garbage left of the client is never read", "10.0.0.2:5000", []string{"<script>, 203.0.113.7"}, proxies, "203.0.113.7"},
		{"garbage behind trusted hops stops at the last trusted", "10.0.0.2:5000", []string{"203.0.113.7, _hidden, 10.0.0.5"}, proxies, "10.0.0.5"},
		{"port garbage", "10.0.0.2:5000", []string{"203.0.113.7:http"}, proxies, "10.0.0.2"},
		{"remote without port", "192.0.2.9", nil, proxies, "192.0.2.9"},
		{"pipe remote", "@", nil, proxies, "@"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientIP(r, tt.trusted); got != tt.want {
				t.Errorf("ClientIP(remote %s, X-Forwarded-For %q): got %q, want %q", tt.remote, tt.xff, got, tt.want)
			}
		})
	}
}

func TestLimitKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":             "203.0.113.7",
		"2001:db8:1:2:3:4:5:6":    "2001:db8:1:2::/64",
		"2001:db8:1:2::ffff":      "2001:db8:1:2::/64",
		"2001:db8:1:3::1":         "2001:db8:1:3::/64",
		"::1":                     "::/64",
		"not an address":          "not an address",
		"fe80::1%eth0":            "fe80::/64",
		"::ffff:203.0.113.7":      "::ffff:203.0.113.7",
		"2001:0db8:0001:0002::01": "2001:db8:1:2::/64",
	} {
		if got := LimitKey(in); got != want {
			t.Errorf("LimitKey(%q): got %q, want %q", in, got, want)
		}
	}
}
