package phone

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// validCases are numbers the metadata holds valid, each checked with
// phonenumbers.IsValidNumber when chosen. Ofcom's 07700 900xxx drama range
// is invalid in the metadata, hence 07400 123456 for Britain.
var validCases = []struct {
	name, input, country, channel string
	e164, region                  string
	typ                           Type
}{
	{"CA national", "(506) 234-5678", "CA", ForSMS, "+15062345678", "CA", FixedLineOrMobile},
	{"CA international", "+1 506-234-5678", "", ForSMS, "+15062345678", "CA", FixedLineOrMobile},
	{"CA voice", "506.234.5678", "CA", ForVoice, "+15062345678", "CA", FixedLineOrMobile},
	{"CA with trunk 1", "1 (506) 234-5678", "CA", ForSMS, "+15062345678", "CA", FixedLineOrMobile},
	{"US national", "(201) 555-0123", "US", ForSMS, "+12015550123", "US", FixedLineOrMobile},
	{"US international", "+1 (201) 555-0123", "", ForSMS, "+12015550123", "US", FixedLineOrMobile},
	{"US lower-case country", "201-555-0123", "us", ForSMS, "+12015550123", "US", FixedLineOrMobile},
	{"GB national", "07400 123456", "GB", ForSMS, "+447400123456", "GB", Mobile},
	{"GB international", "+44 7400 123456", "", ForSMS, "+447400123456", "GB", Mobile},
	{"GB 00 prefix", "0044 7400 123456", "GB", ForSMS, "+447400123456", "GB", Mobile},
	{"GB (0) trunk", "+44 (0) 7400 123456", "", ForSMS, "+447400123456", "GB", Mobile},
	{"GB dots", "+44.7400.123.456", "", ForSMS, "+447400123456", "GB", Mobile},
	{"GB dashes brackets", "[+44] 7400-123-456", "", ForSMS, "+447400123456", "GB", Mobile},
	{"GB slashes", "07400/123/456", "GB", ForSMS, "+447400123456", "GB", Mobile},
	{"GB full-width", "＋４４ ７４００ １２３４５６", "", ForSMS, "+447400123456", "GB", Mobile},
	{"GB Arabic-Indic digits", "٠٧٤٠٠ ١٢٣٤٥٦", "GB", ForSMS, "+447400123456", "GB", Mobile},
	{"GB copied with bidi marks", "\u202a+44 7400 123456\u202c", "", ForSMS, "+447400123456", "GB", Mobile},
	{"GB no-break space and tab", "+44\u00a07400\t123456", "", ForSMS, "+447400123456", "GB", Mobile},
	{"GB country padded", "07400 123456", " gb ", ForSMS, "+447400123456", "GB", Mobile},
	{"GB landline for voice", "020 7946 0018", "GB", ForVoice, "+442079460018", "GB", FixedLine},
	{"GB VoIP for voice", "+44 56 1234 5678", "", ForVoice, "+445612345678", "GB", VoIP},
	{"DE national", "0151 23456789", "DE", ForSMS, "+4915123456789", "DE", Mobile},
	{"DE international", "+49 151 23456789", "", ForSMS, "+4915123456789", "DE", Mobile},
	{"IN international", "+91 98765 43210", "", ForSMS, "+919876543210", "IN", Mobile},
	{"IN national", "098765 43210", "IN", ForSMS, "+919876543210", "IN", Mobile},
	{"AU national", "0412 345 678", "AU", ForSMS, "+61412345678", "AU", Mobile},
	{"AU international", "+61 412 345 678", "", ForSMS, "+61412345678", "AU", Mobile},
	{"AU international, other country chosen", "+61 412 345 678", "GB", ForSMS, "+61412345678", "AU", Mobile},
	{"AU landline for voice", "02 9876 5432", "AU", ForVoice, "+61298765432", "AU", FixedLine},
	{"FR national", "06 12 34 56 78", "FR", ForSMS, "+33612345678", "FR", Mobile},
	{"NL international", "+31 6 12345678", "", ForSMS, "+31612345678", "NL", Mobile},
	{"ES national", "612 34 56 78", "ES", ForSMS, "+34612345678", "ES", Mobile},
	{"IT national", "312 345 6789", "IT", ForSMS, "+393123456789", "IT", Mobile},
	{"IE national", "085 123 4567", "IE", ForSMS, "+353851234567", "IE", Mobile},
	{"NZ national", "021 123 4567", "NZ", ForSMS, "+64211234567", "NZ", Mobile},
	{"JP national", "090-1234-5678", "JP", ForSMS, "+819012345678", "JP", Mobile},
	{"ZA international", "+27 82 123 4567", "", ForSMS, "+27821234567", "ZA", Mobile},
	{"BR national", "(11) 91234-5678", "BR", ForSMS, "+5511912345678", "BR", Mobile},
	{"MX international", "+52 55 1234 5678", "", ForSMS, "+525512345678", "MX", FixedLineOrMobile},
	// A national number of 0 once came back as the raw input, spaces and all.
	{"TJ national number of zeros", "+99200 0000000", "", ForSMS, "+992000000000", "TJ", Mobile},
}

func TestParseValid(t *testing.T) {
	for _, tc := range validCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tc.input, tc.country, tc.channel)
			if err != nil {
				t.Fatalf("Parse(%q, %q, %q): got error %v, want %s", tc.input, tc.country, tc.channel, err, tc.e164)
			}
			want := Number{E164: tc.e164, Region: tc.region, Type: tc.typ}
			if got != want {
				t.Errorf("Parse(%q, %q, %q):\n got %+v\nwant %+v", tc.input, tc.country, tc.channel, got, want)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name, input, country, channel string
		code                          string
		reason                        string // checked when not empty
	}{
		{"empty", "", "GB", ForSMS, CodeEmpty, "Enter your phone number."},
		{"spaces only", "   ", "", ForSMS, CodeEmpty, ""},
		{"only plus", "+", "", ForSMS, CodeNotANumber, ""},
		{"punctuation only", "(-.-)", "GB", ForSMS, CodeNotANumber, ""},
		{"plus and one digit", "+4", "", ForSMS, CodeTooShort, ""},
		{"too short national", "506 234", "CA", ForSMS, CodeTooShort, "This number is too short for Canada (CA)."},
		{"too short international", "+44 74", "", ForSMS, CodeTooShort, ""},
		{"too short GB", "074", "GB", ForSMS, CodeTooShort, ""},
		{"local number without area code", "555 0123", "US", ForVoice, CodeTooShort, ""},
		{"too long national", "07400 1234567", "GB", ForSMS, CodeTooLong, ""},
		{"too long international", "+44 7400 1234567", "", ForSMS, CodeTooLong, ""},
		{"far too many digits", "12345678901234567890", "GB", ForSMS, CodeTooLong, ""},
		{"over 64 bytes", "+44 7400 123456" + strings.Repeat(" ", 60), "", ForSMS, CodeTooLong, ""},
		{"not UTF-8", "+44 7400 12345\xff", "", ForSMS, CodeUnreadable, ""},
		{"letters", "0740O 12345G", "GB", ForSMS, CodeLetters, ""},
		{"vanity number", "1-800-FLOWERS", "US", ForVoice, CodeLetters, ""},
		{"extension in words", "+44 7400 123456 ext 12", "", ForSMS, CodeLetters, ""},
		{"extension with hash", "+44 7400 123456#12", "", ForSMS, CodeExtension, ""},
		{"no country, national format", "(506) 234-5678", "", ForSMS, CodeMissingCountry, "Add the country code, e.g. +44, or choose the country."},
		{"no country, 00 prefix", "0044 7400 123456", "", ForSMS, CodeMissingCountry, ""},
		{"unknown country", "07400 123456", "XX", ForSMS, CodeUnknownCountry, "XX is not a country code we know; choose your country from the list."},
		{"unknown country with plus", "+44 7400 123456", "xx", ForSMS, CodeUnknownCountry, ""},
		{"country name instead of code", "+44 7400 123456", "Germany", ForSMS, CodeUnknownCountry, ""},
		{"non-geographic region", "+800 1234 5678", "001", ForVoice, CodeUnknownCountry, ""},
		{"unknown calling code", "+999 1234567", "", ForSMS, CodeUnknownCallingCode, ""},
		{"unknown calling code after 00", "00999 1234567", "GB", ForSMS, CodeUnknownCallingCode, ""},
		{"international without plus", "44 7400 123456", "US", ForSMS, CodeMissingPlus, ""},
		{"wrong country", "(506) 234-5678", "GB", ForSMS, CodeInvalid, ""},
		{"unused NANP area code", "+1 999 555 0123", "", ForVoice, CodeInvalid, ""},
		{"Ofcom drama range", "07700 900123", "GB", ForSMS, CodeInvalid, ""},
		{"GB landline for SMS", "020 7946 0018", "GB", ForSMS, CodeLandline,
			"This is a landline: text messages can't reach it. Choose a voice call, or use a mobile number."},
		{"AU landline for SMS", "02 9876 5432", "AU", ForSMS, CodeLandline, ""},
		{"GB VoIP for SMS", "+44 56 1234 5678", "", ForSMS, CodeVoIP, ""},
		{"US toll-free for SMS", "+1 800 234 5678", "", ForSMS, CodeServiceNumber, "Toll-free and premium numbers can't receive codes. Use a mobile number."},
		{"US toll-free for voice", "+1 800 234 5678", "", ForVoice, CodeServiceNumber, ""},
		{"US premium for voice", "+1 900 234 5678", "", ForVoice, CodeServiceNumber, ""},
		{"GB premium for voice", "0909 012 3456", "GB", ForVoice, CodeServiceNumber, ""},
		{"GB freephone for voice", "0800 123 4567", "GB", ForVoice, CodeServiceNumber, ""},
		{"GB personal number for voice", "070 1234 5678", "GB", ForVoice, CodeUnsupportedType, ""},
		{"global network for voice", "+882 3456 7890 12", "", ForVoice, CodeUnsupportedType, ""},
		{"satellite phone for voice", "+881 6 12345678", "", ForVoice, CodeUnsupportedType, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tc.input, tc.country, tc.channel)
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("Parse(%q, %q, %q): got (%+v, %v), want *InvalidError %s", tc.input, tc.country, tc.channel, got, err, tc.code)
			}
			if got != (Number{}) {
				t.Errorf("Parse(%q, %q, %q): got number %+v with an error, want zero Number", tc.input, tc.country, tc.channel, got)
			}
			if ie.Code != tc.code {
				t.Errorf("Parse(%q, %q, %q): got code %q (%q), want %q", tc.input, tc.country, tc.channel, ie.Code, ie.Reason, tc.code)
			}
			checkSentence(t, ie.Reason)
			if tc.reason != "" && ie.Reason != tc.reason {
				t.Errorf("Parse(%q, %q, %q): got reason %q, want %q", tc.input, tc.country, tc.channel, ie.Reason, tc.reason)
			}
		})
	}
}

// checkSentence fails unless s reads as a full sentence to show a person.
func checkSentence(t *testing.T, s string) {
	t.Helper()
	if s == "" || !strings.HasSuffix(s, ".") || strings.ToUpper(s[:1]) != s[:1] {
		t.Errorf("reason %q: want a capitalised sentence ending with a period", s)
	}
}

// TestParseSharedCallingCode checks a +44 number that the metadata places
// in a Crown Dependency rather than Great Britain: the region is one of
// those sharing +44, the E.164 form is unchanged.
func TestParseSharedCallingCode(t *testing.T) {
	got, err := Parse("+44 7911 123456", "", ForSMS)
	if err != nil {
		t.Fatalf("Parse: got error %v, want a number", err)
	}
	if got.E164 != "+447911123456" {
		t.Errorf("E164: got %q, want %q", got.E164, "+447911123456")
	}
	if !slices.Contains([]string{"GB", "GG", "IM", "JE"}, got.Region) {
		t.Errorf("Region: got %q, want one of GB, GG, IM, JE", got.Region)
	}
	if _, ok := countryNames[got.Region]; !ok {
		t.Errorf("Region %q is not in the country list", got.Region)
	}
}

func TestParseUnknownChannel(t *testing.T) {
	for _, channel := range []string{"", "fax", "SMS"} {
		_, err := Parse("+44 7400 123456", "", channel)
		var ie *InvalidError
		if !errors.Is(err, ErrUnknownChannel) || errors.As(err, &ie) {
			t.Errorf("Parse(channel %q): got %v, want ErrUnknownChannel and no *InvalidError", channel, err)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		e164, international, national, masked string
	}{
		{"+15062345678", "+1 506-234-5678", "(506) 234-5678", "+1 •••-•••-•678"},
		{"+447400123456", "+44 7400 123456", "07400 123456", "+44 •••• •••456"},
		{"+4915123456789", "+49 1512 3456789", "01512 3456789", "+49 •••• ••••789"},
		{"+919876543210", "+91 98765 43210", "098765 43210", "+91 ••••• ••210"},
		{"+61412345678", "+61 412 345 678", "0412 345 678", "+61 ••• ••• 678"},
		{"+442079460018", "+44 20 7946 0018", "020 7946 0018", "+44 •• •••• •018"},
	}
	for _, tc := range tests {
		n := Number{E164: tc.e164}
		if got := n.International(); got != tc.international {
			t.Errorf("%s International: got %q, want %q", tc.e164, got, tc.international)
		}
		if got := n.National(); got != tc.national {
			t.Errorf("%s National: got %q, want %q", tc.e164, got, tc.national)
		}
		if got := n.Masked(); got != tc.masked {
			t.Errorf("%s Masked: got %q, want %q", tc.e164, got, tc.masked)
		}
	}
	var zero Number
	if got := zero.International() + zero.National() + zero.Masked(); got != "" {
		t.Errorf("zero Number formats: got %q, want empty", got)
	}
}

// TestMasked checks on every valid test number that the mask shows the
// calling code and the last three digits, and no other digit.
func TestMasked(t *testing.T) {
	for _, tc := range validCases {
		n, err := Parse(tc.input, tc.country, tc.channel)
		if err != nil {
			t.Fatalf("Parse(%q, %q): %v", tc.input, tc.country, err)
		}
		checkMasked(t, n)
	}
}

// checkMasked fails unless n.Masked() is "+CC", then the international
// format's punctuation with only the last three digits shown.
func checkMasked(t *testing.T, n Number) {
	t.Helper()
	m := n.Masked()
	cc, _, _ := strings.Cut(n.International(), " ")
	rest, ok := strings.CutPrefix(m, cc)
	if !ok || !strings.HasPrefix(n.E164, cc) {
		t.Errorf("%s Masked: got %q, want it to start with the calling code %q", n.E164, m, cc)
		return
	}
	var shown []rune
	for _, r := range rest {
		if r >= '0' && r <= '9' {
			shown = append(shown, r)
		}
	}
	if want := n.E164[len(n.E164)-3:]; string(shown) != want {
		t.Errorf("%s Masked: got %q showing digits %q after %s, want only %q", n.E164, m, string(shown), cc, want)
	}
	if !strings.Contains(m, "•") {
		t.Errorf("%s Masked: got %q, want hidden digits", n.E164, m)
	}
}

func TestTypeString(t *testing.T) {
	seen := map[string]bool{}
	for typ := Unknown; typ <= Voicemail; typ++ {
		s := typ.String()
		if s == "" || seen[s] {
			t.Errorf("Type(%d).String(): got %q, want a distinct name", int(typ), s)
		}
		seen[s] = true
	}
	if got := FixedLineOrMobile.String(); got != "fixed_line_or_mobile" {
		t.Errorf("FixedLineOrMobile.String(): got %q, want %q", got, "fixed_line_or_mobile")
	}
	if got := Type(99).String(); got != "unknown" {
		t.Errorf("Type(99).String(): got %q, want %q", got, "unknown")
	}
}
