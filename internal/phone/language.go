package phone

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
)

// CountryFromAcceptLanguage guesses the country to preselect on the phone
// form from an Accept-Language header: "en-GB,en;q=0.9" gives "GB",
// "fr-CA" gives "CA", "de" gives "DE", "en" gives "US", and "" gives "".
//
// Languages are tried in order of preference. A language with a region
// gives that region; a bare language gives the region of a later entry of
// the same language ("en,en-GB;q=0.8" gives "GB"), else the country where
// it is most spoken per CLDR's likely subtags ("pt" gives "BR", "ar" gives
// "EG"). Regions that are not countries (es-419) and regions phonenumbers
// does not support are skipped. It returns "" when nothing fits; the guess
// is only a default, so a wrong one costs the person one click.
func CountryFromAcceptLanguage(h string) string {
	const maxLen, maxTags = 1024, 32
	if len(h) > maxLen {
		h = h[:maxLen]
	}
	type pref struct {
		tag language.Tag
		q   float64
	}
	var prefs []pref
	for part := range strings.SplitSeq(h, ",") {
		if len(prefs) == maxTags {
			break
		}
		name, params, _ := strings.Cut(part, ";")
		name = strings.TrimSpace(name)
		if name == "" || name == "*" {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				continue
			}
			q = f
		}
		if q <= 0 {
			continue
		}
		tag, err := language.Parse(name)
		if err != nil {
			continue
		}
		prefs = append(prefs, pref{tag, q})
	}
	slices.SortStableFunc(prefs, func(a, b pref) int { return cmp.Compare(b.q, a.q) })

	for i, p := range prefs {
		if r, conf := p.tag.Region(); conf == language.Exact {
			if code, ok := country(r); ok {
				return code
			}
			continue
		}
		base, _, _ := p.tag.Raw() // as written: Base would guess "en" for "und"
		if base.String() == "und" {
			continue
		}
		for _, later := range prefs[i+1:] {
			lb, _, _ := later.tag.Raw()
			if r, conf := later.tag.Region(); lb == base && conf == language.Exact {
				if code, ok := country(r); ok {
					return code
				}
			}
		}
		if r, _ := p.tag.Region(); r.IsCountry() {
			if code, ok := country(r); ok {
				return code
			}
		}
	}
	return ""
}

// country returns the region's code if it is a country phonenumbers
// supports.
func country(r language.Region) (string, bool) {
	if !r.IsCountry() {
		return "", false
	}
	code := r.String()
	return code, phonenumbers.GetSupportedRegions()[code]
}
