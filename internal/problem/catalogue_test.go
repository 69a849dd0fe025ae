package problem

import (
	"os"
	"regexp"
	"testing"

	"twostep/internal/i18n"
)

// TestEveryRuleIsInTheCatalogue: each key the rules name (and the builders'
// own messages) has its title and detail in the English catalogue, so no
// refusal is ever said as its id.
func TestEveryRuleIsInTheCatalogue(t *testing.T) {
	src, err := os.ReadFile("rules.go")
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"client_closed", "internal"}
	for _, m := range regexp.MustCompile(`(?:is|say)\([^"]*"\w+", "(\w+)"`).FindAllStringSubmatch(string(src), -1) {
		keys = append(keys, m[1])
	}
	if len(keys) < 30 {
		t.Fatalf("found %d keys: the scan is broken", len(keys))
	}
	l := i18n.MustLoad("Acme").Default()
	for _, k := range keys {
		for _, part := range []string{".title", ".detail"} {
			id := "problem." + k + part
			if got := l.T(id); got == id {
				t.Errorf("rule %q: %s is not in the catalogue", k, id)
			}
		}
	}
}
