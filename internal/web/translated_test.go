package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// notYetTranslated are the templates still in English only: none now.
var notYetTranslated = map[string]bool{}

// TestTemplatesHoldNoRawText: every word a template shows — text between
// tags and the attributes people read or hear (aria-label, placeholder,
// title, alt) — comes from the catalogue through {{t …}}, {{tn …}} or
// {{th …}}; what is left between actions is punctuation, digits, symbols
// and space.
func TestTemplatesHoldNoRawText(t *testing.T) {
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	action := regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	tag := regexp.MustCompile(`(?s)<(script|style)\b.*?</(script|style)>|<[^>]*>`)
	readAttr := regexp.MustCompile(`(?i)\b(aria-label|placeholder|title|alt)="([^"]*)"`)
	for _, name := range names {
		base := strings.TrimPrefix(name, "templates/")
		if notYetTranslated[base] {
			continue
		}
		src, _ := fs.ReadFile(files, name)
		s := action.ReplaceAllString(string(src), "\x00")
		var raw []string
		for _, m := range readAttr.FindAllStringSubmatch(s, -1) {
			if hasWords(m[2]) {
				raw = append(raw, m[1]+"="+m[2])
			}
		}
		for _, text := range tag.Split(s, -1) {
			for _, piece := range strings.Split(text, "\x00") {
				if hasWords(piece) {
					raw = append(raw, strings.TrimSpace(piece))
				}
			}
		}
		for _, r := range raw {
			t.Errorf("%s shows %q outside the catalogue", base, r)
		}
	}
}

// hasWords: s holds a letter (entities such as &amp; aside).
func hasWords(s string) bool {
	s = regexp.MustCompile(`&[a-zA-Z]+;|&#\d+;`).ReplaceAllString(s, "")
	return strings.IndexFunc(s, unicode.IsLetter) >= 0
}
