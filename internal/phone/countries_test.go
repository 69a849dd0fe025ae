package phone

import (
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestCountriesCoverMetadata(t *testing.T) {
	regions := phonenumbers.GetSupportedRegions()
	for code := range regions {
		if countryNames[code] == "" {
			t.Errorf("region %s: got no name, want one (phonenumbers added a region?)", code)
		}
	}
	for code := range countryNames {
		if !regions[code] {
			t.Errorf("region %s: named, but phonenumbers does not support it", code)
		}
	}
}

func TestCountries(t *testing.T) {
	list := Countries()
	if len(list) != len(countryNames) {
		t.Fatalf("Countries(): got %d entries, want %d", len(list), len(countryNames))
	}
	for i := 1; i < len(list); i++ {
		if sortKey(list[i-1].Name) > sortKey(list[i].Name) {
			t.Errorf("Countries(): %q before %q, want sorted by name", list[i-1].Name, list[i].Name)
		}
	}
	byCode := map[string]Country{}
	for _, c := range list {
		if c.CallingCode <= 0 || c.Name == "" || len(c.Code) != 2 {
			t.Errorf("Countries(): got %+v, want code, name and calling code", c)
		}
		byCode[c.Code] = c
	}
	want := map[string]Country{
		"CA": {"CA", "Canada", 1},
		"US": {"US", "United States", 1},
		"GB": {"GB", "United Kingdom", 44},
		"DE": {"DE", "Germany", 49},
		"IN": {"IN", "India", 91},
		"AU": {"AU", "Australia", 61},
		"FR": {"FR", "France", 33},
		"ES": {"ES", "Spain", 34},
		"IT": {"IT", "Italy", 39},
		"NL": {"NL", "Netherlands", 31},
		"IE": {"IE", "Ireland", 353},
		"NZ": {"NZ", "New Zealand", 64},
		"BR": {"BR", "Brazil", 55},
		"MX": {"MX", "Mexico", 52},
		"JP": {"JP", "Japan", 81},
		"ZA": {"ZA", "South Africa", 27},
	}
	for code, w := range want {
		if got := byCode[code]; got != w {
			t.Errorf("Countries()[%s]: got %+v, want %+v", code, got, w)
		}
	}
	if !strings.HasPrefix(list[1].Name, "Å") && !strings.HasPrefix(list[2].Name, "Å") {
		t.Errorf("Countries(): got %q, %q, %q first, want Åland Islands among the first A's", list[0].Name, list[1].Name, list[2].Name)
	}
	list[0].Name = "changed"
	if Countries()[0].Name == "changed" {
		t.Error("Countries(): a change by the caller leaked into the next call")
	}
}

func TestCountryPhrase(t *testing.T) {
	tests := []struct{ code, want string }{
		{"CA", "Canada (CA)"},
		{"GB", "the United Kingdom (GB)"},
		{"KY", "the Cayman Islands (KY)"},
		{"DO", "the Dominican Republic (DO)"},
		{"ZZ", "ZZ"},
	}
	for _, tc := range tests {
		if got := countryPhrase(tc.code); got != tc.want {
			t.Errorf("countryPhrase(%q): got %q, want %q", tc.code, got, tc.want)
		}
	}
}
