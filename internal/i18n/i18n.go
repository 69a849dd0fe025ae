package i18n

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/*.toml
var locales embed.FS

// English is the language every catalogue is checked against and every
// missing message falls back to.
var English = language.English

// Catalogue is every language's messages: the embedded catalogues and the
// operator's overrides. It is built once, at start, and only read after.
type Catalogue struct {
	bundle  *goi18n.Bundle
	tags    []language.Tag // shipped, English first
	matcher language.Matcher
	def     language.Tag
	site    string
	// english is the English catalogue by id: the messages that exist.
	english map[string]*goi18n.Message
	// own is each language's own messages by id (not the English
	// fallback), for the tests of completeness.
	own  map[language.Tag]map[string]*goi18n.Message
	locs map[language.Tag]*Localizer
}

// Options are the operator's settings.
type Options struct {
	// Default is the language of a reader who asks for none the site has
	// (server.default_language); "" is English.
	Default string
	// Overrides is the path of the operator's file of messages
	// (server.messages_file), "" for none.
	Overrides string
	// Site is the site's name, {{.Site}} in every message.
	Site string
	// Locales holds the catalogues as locales/active.<lang>.toml; nil is
	// the embedded ones (tests add languages here).
	Locales fs.FS
}

// Load reads the embedded catalogues and the operator's overrides, and
// checks them: a catalogue that does not parse, or overrides that name an
// unknown message or language or hold a bad template, are an error that
// names them.
func Load(opt Options) (*Catalogue, error) {
	c := &Catalogue{bundle: goi18n.NewBundle(English), site: opt.Site,
		own: map[language.Tag]map[string]*goi18n.Message{}, locs: map[language.Tag]*Localizer{}}
	c.bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	src := opt.Locales
	if src == nil {
		src = locales
	}
	files, err := fs.Glob(src, "locales/active.*.toml")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	for _, name := range files {
		buf, err := fs.ReadFile(src, name)
		if err != nil {
			return nil, err
		}
		mf, err := goi18n.ParseMessageFileBytes(buf, name, map[string]goi18n.UnmarshalFunc{"toml": toml.Unmarshal})
		if err != nil {
			return nil, fmt.Errorf("catalogue %s: %w", path.Base(name), err)
		}
		if mf.Tag == language.Und {
			return nil, fmt.Errorf("catalogue %s: the file name names no language", path.Base(name))
		}
		for _, m := range mf.Messages {
			if err := checkTemplates(m); err != nil {
				return nil, fmt.Errorf("catalogue %s: message %q: %w", path.Base(name), m.ID, err)
			}
		}
		if err := c.bundle.AddMessages(mf.Tag, mf.Messages...); err != nil {
			return nil, fmt.Errorf("catalogue %s: %w", path.Base(name), err)
		}
		own := map[string]*goi18n.Message{}
		for _, m := range mf.Messages {
			own[m.ID] = m
		}
		c.own[mf.Tag] = own
		if mf.Tag == English {
			c.english = own
		} else {
			c.tags = append(c.tags, mf.Tag)
		}
	}
	if c.english == nil {
		return nil, errors.New("no English catalogue")
	}
	slices.SortFunc(c.tags, func(a, b language.Tag) int { return strings.Compare(a.String(), b.String()) })
	c.tags = append([]language.Tag{English}, c.tags...)
	c.matcher = language.NewMatcher(c.tags)
	for _, t := range c.tags {
		c.locs[t] = &Localizer{cat: c, tag: t, l: goi18n.NewLocalizer(c.bundle, t.String())}
	}
	c.def = English
	if opt.Default != "" {
		t, ok := c.Exact(opt.Default)
		if !ok {
			return nil, fmt.Errorf("server.default_language %q is not a language the site has (%s)", opt.Default, strings.Join(c.Names(), ", "))
		}
		c.def = t
	}
	if opt.Overrides != "" {
		if err := c.override(opt.Overrides); err != nil {
			return nil, fmt.Errorf("server.messages_file %s: %w", opt.Overrides, err)
		}
	}
	return c, nil
}

// MustLoad is Load without overrides, for tests and tools: the embedded
// catalogues are checked by the package's tests, so failing is a bug.
func MustLoad(site string) *Catalogue {
	c, err := Load(Options{Site: site})
	if err != nil {
		panic(err)
	}
	return c
}

// override reads the operator's file: a table per language tag, holding
// messages as the catalogues do ([en] then "signin.title" = "Log in", or
// [en.signin] then title = "Log in").
func (c *Catalogue) override(file string) error {
	buf, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var raw map[string]any
	if err := toml.Unmarshal(buf, &raw); err != nil {
		return err
	}
	langs := make([]string, 0, len(raw))
	for k := range raw {
		langs = append(langs, k)
	}
	sort.Strings(langs)
	for _, lang := range langs {
		tag, ok := c.Exact(lang)
		if !ok {
			return fmt.Errorf("language %q is not one the site has (%s)", lang, strings.Join(c.Names(), ", "))
		}
		sub, ok := raw[lang].(map[string]any)
		if !ok {
			return fmt.Errorf("[%s] must be a table of messages", lang)
		}
		msgs, err := goi18n.ParseMessageBytes([]byte("-"), func(_ []byte, v any) error {
			*(v.(*any)) = sub
			return nil
		})
		if err != nil {
			return fmt.Errorf("[%s]: %w", lang, err)
		}
		for _, m := range msgs {
			en, ok := c.english[m.ID]
			if !ok {
				return fmt.Errorf("[%s]: no message has the id %q", lang, m.ID)
			}
			if err := checkTemplates(m); err != nil {
				return fmt.Errorf("[%s] %q: %w", lang, m.ID, err)
			}
			if extra := unknownFields(m, en); len(extra) > 0 {
				return fmt.Errorf("[%s] %q uses {{.%s}}, which this message does not have (it has %s)", lang, m.ID, extra[0], fieldList(en))
			}
		}
		if err := c.bundle.AddMessages(tag, msgs...); err != nil {
			return fmt.Errorf("[%s]: %w", lang, err)
		}
		for _, m := range msgs {
			c.own[tag][m.ID] = m
		}
	}
	return nil
}

// forms are a message's texts by plural form name.
func forms(m *goi18n.Message) map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{"zero": m.Zero, "one": m.One, "two": m.Two, "few": m.Few, "many": m.Many, "other": m.Other} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// checkTemplates parses each form of m as the localizer will.
func checkTemplates(m *goi18n.Message) error {
	for form, src := range forms(m) {
		if _, err := template.New(m.ID).Parse(src); err != nil {
			return fmt.Errorf("%s: %w", form, err)
		}
	}
	return nil
}

// fields are the {{.Name}} fields m's templates use.
func fields(m *goi18n.Message) map[string]bool {
	out := map[string]bool{}
	for _, src := range forms(m) {
		t, err := template.New("").Parse(src)
		if err != nil || t.Tree == nil {
			continue
		}
		walk(t.Tree.Root, func(n parse.Node) {
			if f, ok := n.(*parse.FieldNode); ok && len(f.Ident) > 0 {
				out[f.Ident[0]] = true
			}
		})
	}
	return out
}

func walk(n parse.Node, f func(parse.Node)) {
	if n == nil {
		return
	}
	f(n)
	switch n := n.(type) {
	case *parse.ListNode:
		for _, c := range n.Nodes {
			walk(c, f)
		}
	case *parse.ActionNode:
		walk(n.Pipe, f)
	case *parse.PipeNode:
		for _, c := range n.Cmds {
			walk(c, f)
		}
	case *parse.CommandNode:
		for _, c := range n.Args {
			walk(c, f)
		}
	case *parse.IfNode:
		walk(n.Pipe, f)
		walk(n.List, f)
		walk(n.ElseList, f)
	case *parse.RangeNode:
		walk(n.Pipe, f)
		walk(n.List, f)
		walk(n.ElseList, f)
	case *parse.WithNode:
		walk(n.Pipe, f)
		walk(n.List, f)
		walk(n.ElseList, f)
	}
}

// unknownFields are the fields m uses that en, the English message, does
// not: data the code never gives. Site and Count are always there.
func unknownFields(m, en *goi18n.Message) []string {
	known := fields(en)
	known["Site"], known["Count"] = true, true
	var out []string
	for f := range fields(m) {
		if !known[f] {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

func fieldList(m *goi18n.Message) string {
	var out []string
	for f := range fields(m) {
		out = append(out, "{{."+f+"}}")
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "no data"
	}
	return strings.Join(out, ", ")
}

// Languages are the languages shipped, English first.
func (c *Catalogue) Languages() []language.Tag { return slices.Clone(c.tags) }

// Names are the languages' tags as strings ("en", "de", "pt-BR").
func (c *Catalogue) Names() []string {
	out := make([]string, len(c.tags))
	for i, t := range c.tags {
		out[i] = t.String()
	}
	return out
}

// Exact is the shipped language s names exactly (case aside), for a
// saved preference, the menu's choice or the configuration.
func (c *Catalogue) Exact(s string) (language.Tag, bool) {
	t, err := language.Parse(strings.TrimSpace(s))
	if err != nil {
		return language.Und, false
	}
	for _, have := range c.tags {
		if have == t {
			return have, true
		}
	}
	return language.Und, false
}

// Default is the site's default language's localizer.
func (c *Catalogue) Default() *Localizer { return c.locs[c.def] }

// In is the localizer of tag, which must be shipped; anything else gets
// the default.
func (c *Catalogue) In(tag language.Tag) *Localizer {
	if l, ok := c.locs[tag]; ok {
		return l
	}
	return c.Default()
}

// Saved is the localizer of a saved preference (a users.language value or
// the cookie's), or the default when s is empty or not shipped.
func (c *Catalogue) Saved(s string) *Localizer {
	if t, ok := c.Exact(s); ok {
		return c.locs[t]
	}
	return c.Default()
}

// Negotiate picks the language of a request: the saved preference, else
// the best match of Accept-Language, else the default. A preference or
// header that is malformed or names nothing shipped is passed over
// quietly.
func (c *Catalogue) Negotiate(saved, acceptLanguage string) *Localizer {
	if t, ok := c.Exact(saved); ok {
		return c.locs[t]
	}
	if t, ok := c.Match(acceptLanguage); ok {
		return c.locs[t]
	}
	return c.Default()
}

// Match is the shipped language that best fits an Accept-Language header,
// ok=false when none does (or the header cannot be read).
func (c *Catalogue) Match(acceptLanguage string) (language.Tag, bool) {
	prefs := parseAccept(acceptLanguage)
	if len(prefs) == 0 {
		return language.Und, false
	}
	_, i, conf := c.matcher.Match(prefs...)
	if conf == language.No {
		return language.Und, false
	}
	return c.tags[i], true
}

// parseAccept reads an Accept-Language header entry by entry, in order of
// preference, skipping entries that do not parse (language.ParseAcceptLanguage
// gives up on the whole header at the first).
func parseAccept(h string) []language.Tag {
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
			var f float64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%g", &f); err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		if q <= 0 {
			continue
		}
		t, err := language.Parse(name)
		if err != nil {
			continue
		}
		prefs = append(prefs, pref{t, q})
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	out := make([]language.Tag, len(prefs))
	for i, p := range prefs {
		out[i] = p.tag
	}
	return out
}
