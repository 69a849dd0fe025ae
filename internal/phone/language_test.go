package phone

import "testing"

func TestCountryFromAcceptLanguage(t *testing.T) {
	tests := []struct{ header, want string }{
		{"", ""},
		{"en-GB,en;q=0.9", "GB"},
		{"fr-CA", "CA"},
		{"fr-CA,fr;q=0.9,en;q=0.8", "CA"},
		{"de", "DE"},
		{"de-AT", "AT"},
		{"en", "US"},
		{"en-US,en;q=0.5", "US"},
		{"en,en-GB;q=0.8", "GB"},       // a bare language takes the region of its own later entry
		{"de,en-US;q=0.5", "DE"},       // but not another language's
		{"en;q=0.3,ja;q=0.9", "JP"},    // by q, not by order
		{"pt", "BR"},                   // CLDR's most likely country
		{"es-419,es;q=0.9", "ES"},      // Latin America is not a country: next entry
		{"es-419", ""},                 // nothing else to go on
		{"zh-Hant", "TW"},              // script implies the region
		{"*", ""},                      // any language
		{"en-GB;q=0,de", "DE"},         // q=0 means not acceptable
		{"en-GB;q=abc,de;q=0.1", "DE"}, // malformed q: skip the entry
		{"!!!, en-IE", "IE"},           // malformed tag: skip the entry
		{"  EN-au  ", "AU"},
		{"eo", ""}, // Esperanto has no country
		{"und", ""},
		{"en-AQ,fr", "FR"}, // Antarctica: not a region phonenumbers supports
	}
	for _, tc := range tests {
		if got := CountryFromAcceptLanguage(tc.header); got != tc.want {
			t.Errorf("CountryFromAcceptLanguage(%q): got %q, want %q", tc.header, got, tc.want)
		}
	}
}
