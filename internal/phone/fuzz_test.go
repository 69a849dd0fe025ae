package phone

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics, refuses only with a readable
// *InvalidError, and that an accepted number is a clean E.164 string that
// parses back to itself.
func FuzzParse(f *testing.F) {
	for _, tc := range validCases {
		f.Add(tc.input, tc.country)
	}
	for _, s := range []string{"", "+", "++", "+0", "00", "0044", "1-800-FLOWERS", "+44 7400 123456#1", "\xff", "tel:+44-7400-123456", "+1 (", "٠", "+\u202a1"} {
		f.Add(s, "")
		f.Add(s, "GB")
	}
	f.Fuzz(func(t *testing.T, input, country string) {
		for _, channel := range []string{ForSMS, ForVoice} {
			n, err := Parse(input, country, channel)
			if err != nil {
				var ie *InvalidError
				if !errors.As(err, &ie) {
					t.Fatalf("Parse(%q, %q, %q): got %v, want *InvalidError", input, country, channel, err)
				}
				checkSentence(t, ie.Reason)
				if ie.Code == "" || !utf8.ValidString(ie.Reason) {
					t.Fatalf("Parse(%q, %q, %q): got %+v, want a code and a UTF-8 reason", input, country, channel, ie)
				}
				continue
			}
			if len(n.E164) < 2 || n.E164[0] != '+' || strings.Trim(n.E164[1:], "0123456789") != "" {
				t.Fatalf("Parse(%q, %q, %q): got E164 %q, want + and digits", input, country, channel, n.E164)
			}
			if countryNames[n.Region] == "" || n.Type == Unknown {
				t.Fatalf("Parse(%q, %q, %q): got %+v, want a named region and a known type", input, country, channel, n)
			}
			again, err := Parse(n.E164, "", channel)
			if err != nil || again != n {
				t.Fatalf("Parse(%q, \"\", %q) after Parse(%q, %q): got (%+v, %v), want %+v", n.E164, channel, input, country, again, err, n)
			}
			checkMasked(t, n)
		}
	})
}
