package i18n

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/text/language"
)

// TestEveryCatalogueIsComplete: every language shipped has every English
// message, no message English lacks, and uses only the data its English
// message gets. It lists what is missing per language, for the translator.
func TestEveryCatalogueIsComplete(t *testing.T) {
	c := MustLoad("Acme")
	for _, tag := range c.Languages() {
		if tag == English {
			continue
		}
		own := c.own[tag]
		var missing, unknown, badData []string
		for id, en := range c.english {
			m, ok := own[id]
			if !ok {
				missing = append(missing, id)
				continue
			}
			if extra := unknownFields(m, en); len(extra) > 0 {
				badData = append(badData, id+" uses "+strings.Join(extra, ", "))
			}
		}
		for id := range own {
			if _, ok := c.english[id]; !ok {
				unknown = append(unknown, id)
			}
		}
		sort.Strings(missing)
		sort.Strings(unknown)
		sort.Strings(badData)
		if len(missing) > 0 {
			t.Errorf("active.%s.toml lacks %d messages:\n  %s", tag, len(missing), strings.Join(missing, "\n  "))
		}
		if len(unknown) > 0 {
			t.Errorf("active.%s.toml has messages English does not (renamed or removed?):\n  %s", tag, strings.Join(unknown, "\n  "))
		}
		if len(badData) > 0 {
			t.Errorf("active.%s.toml uses data its messages do not get:\n  %s", tag, strings.Join(badData, "\n  "))
		}
	}
}

// TestPlurals: every plural message in every language says 0, 1, 2, 5
// and 21 with a form of its own (the forms its CLDR rules need) and the
// number in it.
func TestPlurals(t *testing.T) {
	c := MustLoad("Acme")
	for _, tag := range c.Languages() {
		l := c.In(tag)
		for id, en := range c.english {
			if en.One == "" && en.Few == "" && en.Many == "" {
				continue // not a plural
			}
			for _, n := range []int{0, 1, 2, 5, 21} {
				got, err := l.localize(id, n, nil)
				if err != nil {
					t.Errorf("%s %s for %d: %v (got %q)", tag, id, n, err, got)
					continue
				}
				if !strings.Contains(got, strconv.Itoa(n)) && !(n == 1 && !strings.Contains(en.One, "{{.Count}}")) {
					t.Errorf("%s %s for %d = %q: the number is missing", tag, id, n, got)
				}
			}
		}
	}
	l := c.In(English)
	for n, want := range map[int]string{0: "0 minutes", 1: "1 minute", 2: "2 minutes", 5: "5 minutes", 21: "21 minutes"} {
		if got := l.N("duration.minutes", n); got != want {
			t.Errorf("duration.minutes %d = %q, want %q", n, got, want)
		}
	}
}

// TestEveryMessageUsedExists: every id the code and templates name
// literally (T, N, HTML in Go; t, tn, th in templates) is in the English
// catalogue.
func TestEveryMessageUsedExists(t *testing.T) {
	c := MustLoad("Acme")
	goCall := regexp.MustCompile(`\.(?:T|N|HTML)\("([a-z0-9_.]+)"[,)]`)
	tmplCall := regexp.MustCompile(`\{\{-?\s*(?:t|tn|th)\s+"([a-z0-9_.]+)"`)
	var used int
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		var re *regexp.Regexp
		switch {
		case strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go"):
			re = goCall
		case strings.HasSuffix(path, ".html"):
			re = tmplCall
		default:
			return nil
		}
		buf, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(buf), -1) {
			used++
			if _, ok := c.english[m[1]]; !ok {
				t.Errorf("%s uses %q, which the English catalogue lacks", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if used < 50 {
		t.Fatalf("found %d uses of messages: the scan is broken", used)
	}
}

// TestReservedNames: no group holds a key go-i18n reads as a part of a
// message (one, other, description…), which would swallow the group.
func TestReservedNames(t *testing.T) {
	c := MustLoad("Acme")
	reserved := map[string]bool{"id": true, "description": true, "hash": true, "leftdelim": true, "rightdelim": true,
		"zero": true, "one": true, "two": true, "few": true, "many": true, "other": true}
	for id := range c.english {
		parts := strings.Split(id, ".")
		for _, p := range parts {
			if reserved[p] {
				t.Errorf("message id %q has the reserved part %q", id, p)
			}
		}
	}
}

// testLocales are the English catalogue and a German one that has two
// messages, for the tests of choosing and falling back.
func testLocales(t *testing.T) fstest.MapFS {
	en, err := locales.ReadFile("locales/active.en.toml")
	if err != nil {
		t.Fatal(err)
	}
	return fstest.MapFS{
		"locales/active.en.toml": {Data: en},
		"locales/active.de.toml": {Data: []byte("[layout]\nsign_in = \"Anmelden\"\n[duration.minutes]\none = \"{{.Count}} Minute\"\nother = \"{{.Count}} Minuten\"\n")},
		"locales/active.ar.toml": {Data: []byte("[layout]\nsign_in = \"تسجيل الدخول\"\n")},
	}
}

// TestNegotiate: the saved preference, else Accept-Language, else the
// default; malformed or unknown values pass quietly to the next.
func TestNegotiate(t *testing.T) {
	c, err := Load(Options{Site: "Acme", Locales: testLocales(t), Default: "de"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		saved, accept, want string
	}{
		{"ar", "de-DE,de;q=0.9", "ar"},        // the preference wins
		{"", "de-CH,en;q=0.5", "de"},          // a regional variant matches
		{"", "fr-FR, en-GB;q=0.8", "en"},      // the first the site has
		{"", "fr-FR", "de"},                   // none: the default
		{"", "", "de"},                        // no header: the default
		{"xx-!!", "en;q=0.1, ar", "ar"},       // a bad preference passes
		{"", "%%%, en;q=0.2", "en"},           // a bad entry is skipped
		{"", "en;q=abc, ar;q=0.5", "ar"},      // a bad weight is skipped
		{"", "en;q=0, ar;q=0.1", "ar"},        // q=0 is "not this"
		{"", "*", "de"},                       // any: the default
		{"", strings.Repeat("x", 5000), "de"}, // an absurd header
	} {
		if got := c.Negotiate(tt.saved, tt.accept).Lang(); got != tt.want {
			t.Errorf("Negotiate(%q, %q) = %s, want %s", tt.saved, tt.accept, got, tt.want)
		}
	}
	if c.In(language.Arabic).Dir() != "rtl" || c.In(English).Dir() != "ltr" {
		t.Error("Arabic should be rtl and English ltr")
	}
}

// TestMissingFallsBackToEnglish: a message a language lacks is said in
// English, never as its id; plural rules are the language's own.
func TestMissingFallsBackToEnglish(t *testing.T) {
	c, err := Load(Options{Site: "Acme", Locales: testLocales(t)})
	if err != nil {
		t.Fatal(err)
	}
	de := c.In(language.German)
	if got := de.T("layout.sign_in"); got != "Anmelden" {
		t.Errorf("German sign_in = %q", got)
	}
	if got := de.T("layout.sign_out"); got != "Sign out" {
		t.Errorf("German sign_out (missing) = %q, want the English", got)
	}
	if got := de.Duration(2 * time.Minute); got != "2 Minuten" {
		t.Errorf("German 2 minutes = %q", got)
	}
	if got := de.Wait(90 * time.Second); got != "in 2 Minuten" {
		t.Errorf("German wait = %q, want English words around German units", got)
	}
}

// TestDatesAndDurations in English, as the pages said them before the
// catalogues.
func TestDatesAndDurations(t *testing.T) {
	l := MustLoad("Acme").In(English)
	at := time.Date(2026, 12, 3, 14, 5, 0, 0, time.UTC)
	for got, want := range map[string]string{
		l.Duration(90 * time.Minute):               "1 hour 30 minutes",
		l.Duration(500 * time.Millisecond):         "1 second",
		l.Duration(49 * time.Hour):                 "2 days 1 hour",
		l.Wait(56*time.Minute + time.Second):       "in 57 minutes",
		l.When(at):                                 "3 Dec 2026, 14:05 UTC",
		l.When(time.Time{}):                        "never",
		l.At(at, at):                               "14:05 UTC on Thursday 3 December",
		l.At(at, at.AddDate(-1, 0, 0)):             "14:05 UTC on Thursday 3 December 2026",
		l.Clock(at):                                "14:05 UTC",
		string(l.TimeHTML(at)):                     `<time datetime="2026-12-03T14:05:00Z">3 Dec 2026, 14:05 UTC</time>`,
		string(l.HTML("layout.sign_in", "X", "<")): "Sign in",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

// TestOverrides: the operator's file replaces messages; an unknown id, a
// language the site lacks, a bad template or data the message does not
// get refuse to load, naming the problem.
func TestOverrides(t *testing.T) {
	write := func(s string) string {
		p := filepath.Join(t.TempDir(), "messages.toml")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := Load(Options{Site: "Acme", Overrides: write("[en]\n\"layout.sign_in\" = \"Log in to {{.Site}}\"\n[en.duration.minutes]\none = \"{{.Count}} min\"\nother = \"{{.Count}} mins\"\n")})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Default().T("layout.sign_in"); got != "Log in to Acme" {
		t.Errorf("overridden = %q", got)
	}
	if got := c.Default().N("duration.minutes", 3); got != "3 mins" {
		t.Errorf("overridden plural = %q", got)
	}
	for _, tt := range []struct{ file, want string }{
		{"[en]\n\"layout.no_such\" = \"x\"\n", `no message has the id "layout.no_such"`},
		{"[xx]\n\"layout.sign_in\" = \"x\"\n", `language "xx" is not one the site has`},
		{"[en]\n\"layout.sign_in\" = \"{{.Site\"\n", `"layout.sign_in"`},
		{"[en]\n\"layout.sign_in\" = \"{{.Name}}\"\n", `uses {{.Name}}`},
		{"[en]\n\"layout.sign_in\" = \n", "messages.toml"},
	} {
		_, err := Load(Options{Site: "Acme", Overrides: write(tt.file)})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "server.messages_file") {
			t.Errorf("override %q: err = %v, want it to say %q", tt.file, err, tt.want)
		}
	}
	if _, err := Load(Options{Default: "xx"}); err == nil || !strings.Contains(err.Error(), "server.default_language") {
		t.Errorf("unknown default: err = %v", err)
	}
	if _, err := Load(Options{Overrides: "/nonexistent/messages.toml"}); err == nil {
		t.Error("a missing file loaded")
	}
}

func ExampleLocalizer_N() {
	l := MustLoad("Acme").Default()
	for _, n := range []int{0, 1, 2} {
		fmt.Println(l.N("duration.days", n))
	}
	// Output:
	// 0 days
	// 1 day
	// 2 days
}
