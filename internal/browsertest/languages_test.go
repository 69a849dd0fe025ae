package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"twostep/internal/app"
	"twostep/internal/testenv"
)

// A German, French or Arabic reader's browser, end to end: sign-up, the
// wizard with an authenticator app, the recovery codes, the challenge and
// a lockout with its retry time. Every page must be in the reader's
// language — <html lang>, dir="rtl" for Arabic, the heading from that
// language's catalogue and not the English one, no {{ left of a template,
// no message id, no English sentence — and fit a 390 px phone without
// scrolling sideways. Screenshots lang-<lang>-<page>-{390,desktop}.png.
//
// Chromium's --lang is not honoured headless on Linux: the browser still
// sends "Accept-Language: en-US,en;q=0.9" (checked by hand with
// chromium --headless --lang=de --dump-dom against a server that echoes
// the header). --accept-lang is, so the browsers start with both, and the
// test checks that the language arrived (navigator.languages and the
// page's lang).

// langCase is one run: a language on a database.
type langCase struct {
	lang   string // the page's and the browser's language tag
	engine string // sqlite or postgres
	shots  bool   // save screenshots (once per language)
}

func TestLanguagesEndToEnd(t *testing.T) {
	chromiumPath(t)
	oathtoolPath(t)
	en := catalogue(t, "en")
	cases := []langCase{
		{"de", "sqlite", true},
		{"fr", "sqlite", true},
		{"ar", "sqlite", true},
		{"ar", "postgres", false}, // the right-to-left language on the other database
	}
	for _, c := range cases {
		t.Run(c.lang+"-"+c.engine, func(t *testing.T) {
			t.Parallel()
			if c.engine == "postgres" {
				testenv.PostgresURL(t) // skips outside CI, fails under CI, when not set
			}
			langJourney(t, c, en, catalogue(t, c.lang))
		})
	}
}

// messages is a catalogue flattened: message id to its text, a plural's
// forms as id#form.
type messages map[string]string

var pluralForms = map[string]bool{"zero": true, "one": true, "two": true, "few": true, "many": true, "other": true}

// catalogue reads internal/i18n/locales/active.<lang>.toml.
func catalogue(t *testing.T, lang string) messages {
	t.Helper()
	var raw map[string]any
	if _, err := toml.DecodeFile(filepath.Join("..", "i18n", "locales", "active."+lang+".toml"), &raw); err != nil {
		t.Fatalf("catalogue %s: %v", lang, err)
	}
	out := messages{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		plural := len(m) > 0
		for k, v := range m {
			if _, ok := v.(string); !ok || !pluralForms[k] {
				plural = false
			}
		}
		for k, v := range m {
			id := k
			if prefix != "" {
				id = prefix + "." + k
			}
			switch v := v.(type) {
			case string:
				if plural {
					out[prefix+"#"+k] = v
				} else {
					out[id] = v
				}
			case map[string]any:
				walk(id, v)
			}
		}
	}
	walk("", raw)
	return out
}

// msg is a message that must exist.
func (m messages) msg(t *testing.T, id string) string {
	t.Helper()
	s, ok := m[id]
	if !ok {
		t.Fatalf("no message %s", id)
	}
	return s
}

var (
	templateAction = regexp.MustCompile(`\{\{[^}]*\}\}`)
	htmlTag        = regexp.MustCompile(`<[^>]*>`)
)

// englishSentences are the fixed stretches of English messages — between
// template actions and markup, at least four words — that the language
// says differently: one on a page of that language is an untranslated
// message (or a missing one, shown in English). It maps the stretch to
// its message id.
func englishSentences(en, other messages) map[string]string {
	out := map[string]string{}
	for id, s := range en {
		if other[id] == s {
			continue // the same words in both languages
		}
		for _, part := range templateAction.Split(s, -1) {
			for _, frag := range htmlTag.Split(part, -1) {
				frag = strings.TrimSpace(unescapeHTML(frag))
				if len(strings.Fields(frag)) >= 4 && len(frag) >= 20 && !strings.Contains(other[id], frag) {
					out[frag] = id
				}
			}
		}
	}
	return out
}

func unescapeHTML(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'").Replace(s)
}

var (
	emailAddress = regexp.MustCompile(`[^\s@()<>"']+@[^\s@()<>"']+`)
	// messageIDLike is a dotted lowercase token, as catalogue ids are
	// (setup.use_app, codes.title).
	messageIDLike = regexp.MustCompile(`\b[a-z_]+(?:\.[a-z_]+)+\b`)
	domainEnds    = map[string]bool{"com": true, "org": true, "net": true, "test": true, "example": true, "localhost": true, "io": true, "js": true, "css": true, "png": true, "txt": true}
)

// idTokens are the message-id-looking tokens of s: addresses, domains and
// file names, and abbreviations of one- and two-letter parts (d.h, z.b,
// e.g), are not.
func idTokens(s string) []string {
	s = emailAddress.ReplaceAllString(s, " ")
	var out []string
	for _, tok := range messageIDLike.FindAllString(s, -1) {
		parts := strings.Split(tok, ".")
		if domainEnds[parts[len(parts)-1]] {
			continue
		}
		short := true
		for _, p := range parts {
			if len(p) > 2 {
				short = false
			}
		}
		if short {
			continue
		}
		out = append(out, tok)
	}
	return out
}

// newLangBrowser is newBrowser for a reader whose Chromium is set to lang:
// --lang (ignored headless on Linux) and --accept-lang (which headless
// honours, for the Accept-Language header and navigator.languages).
func newLangBrowser(t *testing.T, base, lang string, timeout time.Duration) *browser {
	t.Helper()
	exe := chromiumPath(t)
	// --lang is ignored headless on Linux; --accept-lang is honoured.
	tab := testenv.Chromium(t, exe, timeout, chromedp.Flag("lang", lang), chromedp.Flag("accept-lang", lang))
	ctx, cancel := context.WithTimeout(tab, timeout)
	t.Cleanup(cancel)
	b := &browser{t: t, base: base, ctx: ctx, tab: tab, shot: screenshotDir(t)}
	messages := chromedp.Console(tab)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Source == "network" && (expectedStatus(m.URL) || strings.Contains(m.Text, "429")) {
				continue // refused forms and codes, and the lockout, answer 4xx
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleException, chromedp.ConsoleWarning:
				b.mu.Lock()
				b.console = append(b.console, fmt.Sprintf("%s: %s %s", m.Type, m.Text, m.URL))
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, m := range b.console {
			t.Errorf("browser console: %s", m)
		}
	})
	return b
}

// langPage checks what a reader of one language sees.
type langPage struct {
	c       langCase
	b       *browser
	en, own messages
	english map[string]string // englishSentences
}

// pageText is what the page says: its visible text, its title, and the
// words of attributes a screen reader or a tooltip says.
type pageText struct {
	Lang, Dir, Title, H1, Body, Attrs string
}

const readPage = `(() => {
	const attrs = [];
	for (const el of document.querySelectorAll('[aria-label], [alt], [placeholder], [title]')) {
		for (const a of ['aria-label', 'alt', 'placeholder', 'title']) {
			const v = el.getAttribute(a);
			if (v) attrs.push(v);
		}
	}
	const h1 = document.querySelector('main h1');
	return {lang: document.documentElement.getAttribute('lang') || '', dir: document.documentElement.getAttribute('dir') || '',
		title: document.title, h1: h1 ? h1.textContent.trim() : '', body: document.body.innerText, attrs: attrs.join('\n')};
})()`

// check looks at the page shown, whose heading is the message headingID,
// at desktop size and at 390 px, and saves the two screenshots as
// lang-<lang>-<name>-{desktop,390}.png.
func (p *langPage) check(name, headingID string) {
	b, t := p.b, p.b.t
	t.Helper()
	b.expectStyled()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[pageText](readPage))
	if err != nil {
		b.fatal("%s: read the page: %v", name, err)
	}
	wantDir := "ltr"
	if p.c.lang == "ar" {
		wantDir = "rtl"
	}
	if s.Lang != p.c.lang || s.Dir != wantDir {
		b.fatal("%s: <html lang=%q dir=%q>, want lang=%q dir=%q", name, s.Lang, s.Dir, p.c.lang, wantDir)
	}
	if english := p.en.msg(t, headingID); s.H1 == english {
		b.fatal("%s: the heading is the English %q", name, s.H1)
	}
	if want := p.own.msg(t, headingID); s.H1 != want {
		b.fatal("%s: the heading is %q, want %s's %q (%s)", name, s.H1, p.c.lang, want, headingID)
	}
	all := s.Title + "\n" + s.Body + "\n" + s.Attrs
	var problems []string
	for _, bad := range []string{"{{", "}}", "<no value>", "%!", "MISSING"} {
		if strings.Contains(all, bad) {
			problems = append(problems, fmt.Sprintf("shows %q", bad))
		}
	}
	if ids := idTokens(all); len(ids) > 0 {
		problems = append(problems, fmt.Sprintf("shows message-id-like tokens %q", ids))
	}
	var untranslated []string
	for frag, id := range p.english {
		if strings.Contains(all, frag) {
			untranslated = append(untranslated, fmt.Sprintf("%s %q", id, frag))
		}
	}
	sort.Strings(untranslated)
	if len(untranslated) > 0 {
		problems = append(problems, "shows English: "+strings.Join(untranslated, "; "))
	}
	if p.c.shots {
		p.screenshot(fmt.Sprintf("lang-%s-%s-desktop.png", p.c.lang, name))
	}
	if wide := p.tooWide(1280); wide != "" {
		problems = append(problems, "at 1280 px: "+wide)
	}
	b.wide390()
	if p.c.shots {
		p.screenshot(fmt.Sprintf("lang-%s-%s-390.png", p.c.lang, name))
	}
	if wide := p.tooWide(390); wide != "" {
		problems = append(problems, "at 390 px: "+wide)
	}
	b.do("back to the desktop size", chromedp.EmulateViewport(1280, 900))
	if len(problems) > 0 {
		t.Errorf("%s page %s (%s):\n  %s", p.c.lang, name, b.path(), strings.Join(problems, "\n  "))
	}
}

// screenshot saves what the reader sees across — the visual viewport's
// width, where the browser put it — down the whole page. It is the full
// page when nothing scrolls sideways; when something does (a right-to-left
// page with content parked far off to the left), a full screenshot would
// be thousands of pixels of nothing, and this one still shows the page.
func (p *langPage) screenshot(name string) {
	b := p.b
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		m, err := cdp.Call(ctx, t, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return nil, err
		}
		lv, vv, size := m.CSSLayoutViewport, m.CSSVisualViewport, m.CSSContentSize
		// The page's own height: a phone that zoomed out to show a page
		// too wide stretches the viewport's height with it.
		height := size.Height
		if bottom, err := chromedp.Evaluate[float64](`Math.ceil(Math.max(document.body.getBoundingClientRect().bottom + window.scrollY, window.innerHeight / (window.innerWidth / document.documentElement.clientWidth)))`)(ctx, t); err == nil && bottom > 0 && bottom < height {
			height = bottom
		}
		// Where the visual viewport starts, counted from the content's
		// left edge: a right-to-left page that overflows shows its right
		// end, and reports the offsets from there.
		x := float64(lv.PageX) + vv.OffsetX
		if p.c.lang == "ar" {
			x = float64(lv.PageX+lv.ClientWidth) - vv.ClientWidth - vv.OffsetX
		}
		r, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:                page.CaptureScreenshotFormatPng,
			CaptureBeyondViewport: ptrTo(true),
			FromSurface:           ptrTo(true),
			Clip:                  &page.Viewport{X: x, Y: 0, Width: vv.ClientWidth, Height: height, Scale: 1},
		})
		if err != nil {
			return nil, err
		}
		return r.Data, nil
	})
	if err != nil {
		b.fatal("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.shot, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("save screenshot: %v", err)
	}
	b.t.Logf("screenshot: %s", path)
}

func ptrTo[T any](v T) *T { return &v }

// tooWide says what sticks out of a 390 px page, on either side (a
// right-to-left page overflows to the left), or "" when it fits.
func (p *langPage) tooWide(wantWidth int) string {
	b := p.b
	type widths struct {
		ScrollWidth int      `json:"scrollWidth"`
		ClientWidth int      `json:"clientWidth"`
		InnerWidth  int      `json:"innerWidth"`
		Cut         []string `json:"cut"`      // partly outside the viewport
		Outside     []string `json:"outside"`  // wholly outside it
		Overflow    []string `json:"overflow"` // text wider than its box
	}
	w, err := chromedp.Run(b.ctx, chromedp.Evaluate[widths](`(() => {
		const d = document.documentElement, cut = [], outside = [], overflow = [];
		const name = (el, r) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
			(el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '') +
			' [' + Math.round(r.left) + '..' + Math.round(r.right) + ']';
		for (const el of document.body.querySelectorAll('*')) {
			const cs = getComputedStyle(el);
			if (cs.display === 'none' || cs.visibility === 'hidden') continue;
			const r = el.getBoundingClientRect();
			if (r.width === 0 && r.height === 0) continue;
			if (r.right <= 0 || r.left >= window.innerWidth) outside.push(name(el, r));
			else if (r.left >= d.clientWidth) continue; // a phone zoomed out: the scroll width says it
			else if (r.right > d.clientWidth + 0.5 || r.left < -0.5) cut.push(name(el, r));
			// A word too long for its box (a German compound in a
			// heading) runs over the box's edge without making the
			// page scroll.
			if (el.closest('main') && !['INPUT', 'SELECT', 'TEXTAREA', 'IMG'].includes(el.tagName) &&
				el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1 && cs.overflowX === 'visible') {
				overflow.push(name(el, r) + ' text ' + el.scrollWidth + ' px in ' + el.clientWidth + ' px: ' + JSON.stringify(el.textContent.trim().slice(0, 60)));
			}
		}
		return {scrollWidth: d.scrollWidth, clientWidth: d.clientWidth, innerWidth: window.innerWidth,
			cut: cut.slice(0, 10), outside: outside.slice(0, 10), overflow: overflow.slice(0, 10)};
	})()`))
	if err != nil {
		b.fatal("measure the page: %v", err)
	}
	// A phone zooms out to show a page that is too wide, so innerWidth
	// grows with it: it must stay the width asked for.
	if w.ScrollWidth > w.ClientWidth || w.InnerWidth != wantWidth {
		return fmt.Sprintf("scrolls sideways: scrollWidth %d, clientWidth %d, innerWidth %d (want %d); partly outside: %v; wholly outside: %v",
			w.ScrollWidth, w.ClientWidth, w.InnerWidth, wantWidth, w.Cut, w.Outside)
	}
	// Wholly outside without a scroll is hidden on purpose (the skip link
	// parked off the edge); partly outside is cut off.
	var out []string
	if len(w.Cut) > 0 {
		out = append(out, fmt.Sprintf("cut off at the edge: %v", w.Cut))
	}
	if len(w.Overflow) > 0 {
		out = append(out, fmt.Sprintf("text runs out of its box: %v", w.Overflow))
	}
	return strings.Join(out, "; ")
}

// langJourney is one reader's sign-up, wizard, recovery codes, challenge
// and lockout.
func langJourney(t *testing.T, c langCase, en, own messages) {
	clk := &journeyClock{}
	cfg := testenv.Config(t, testenv.DatabaseURL(t, c.engine))
	srv := testenv.Start(t, cfg, app.Options{Now: clk.Now})
	base := srv.BaseURL()
	b := newLangBrowser(t, base, c.lang, 60*time.Second)
	p := &langPage{c: c, b: b, en: en, own: own, english: englishSentences(en, own)}
	email := uniqueEmail("lang-" + c.lang)

	// Sign-up: the language came from the browser.
	b.open("/signup", 200)
	langs, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`navigator.languages`))
	if err != nil || len(langs) == 0 || langs[0] != c.lang {
		b.fatal("navigator.languages is %q (err %v), want %s first: --accept-lang did not apply", langs, err, c.lang)
	}
	p.check("signup", "signup.heading")
	b.fill("email", email)
	b.fill("password", goodPassword)
	b.submit("create the account", submitButton, 200)
	b.expectPath("sign-up", "/account?notice=welcome")
	verifyEmail(t, srv, email)

	// The wizard: step 1, the app with its QR code.
	b.open("/account/two-step/setup", 200)
	p.check("wizard-start", "setup.intro_heading")
	b.submit("set up an app", `//main//form[@action="/account/two-step/setup/app"]//button[@type="submit"]`, 200)
	p.check("wizard-app", "setup.app_heading_main")
	secret := b.wizardQR()
	b.fill("code", testenv.OathCode(t, secret, clk.Now()))
	b.submit("check the app's code", `//main//form[@action="/account/two-step/setup/confirm"]//button[@type="submit"]`, 200)
	b.expectPath("the app's code", "/account/two-step/setup?step=2")

	// Step 2: the backup, and the recovery codes.
	p.check("wizard-backup", "setup.backup_heading")
	b.submit("get recovery codes", `//main//form[@action="/account/two-step/setup/recovery"]//button[@type="submit"]`, 200)
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('main ol.codes li code').length`))
	if err != nil || n != 10 {
		b.fatal("%d recovery codes listed (err %v), want 10", n, err)
	}
	p.check("recovery-codes", "codes.title")
	b.click("say the codes are saved", `//input[@id="saved"]`)
	b.submit("continue after the codes", `//main//form[contains(@class,"saved")]//button[@type="submit"]`, 200)
	b.expectPath("saving the codes", "/account/two-step/setup?step=3")

	// Step 3: on, without remembering this browser.
	p.check("wizard-on", "setup.on_heading")
	b.click("untick remember", `//input[@id="remember"]`)
	b.submit("turn two-step verification on", `//main//form[@action="/account/two-step/enable"]//button[@type="submit"]`, 200)
	b.expectPath("turning it on", "/account/two-step?notice=two_step_on")

	// Sign out, sign in: the challenge.
	b.submit("sign out", `//header//form[@action="/signout"]//button`, 200)
	b.expectPath("sign-out", "/signin?notice=signed_out")
	b.fill("email", email)
	b.fill("password", goodPassword)
	b.submit("sign in", submitButton, 200)
	b.expectPath("the password", "/signin/verify")
	p.check("challenge", "challenge.heading")
	methodID, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(`main form[action="/signin/verify"] input[name="method_id"]`)))
	if err != nil || methodID == "" {
		b.fatal("read the method's id (err %v)", err)
	}

	// Someone else with the password spends the account's wrong codes.
	thief := srv.Client()
	wrong := "000000"
	for range 2 {
		if st := post(t, thief, base+"/api/v1/signin", map[string]string{"email": email, "password": goodPassword}); st != http.StatusOK {
			t.Fatalf("thief's password: %d", st)
		}
		for range 5 {
			if testenv.OathCode(t, secret, clk.Now()) == wrong {
				wrong = "111111"
			}
			if st := post(t, thief, base+"/api/v1/signin/verify", map[string]string{"method_id": methodID, "code": wrong}); st != http.StatusUnauthorized {
				t.Fatalf("thief's wrong code: %d", st)
			}
		}
	}

	// The reader's new laptop, in the same language: even the right code
	// is refused, and the page says until when. (The first browser passed
	// a second step in the wizard, so it has a budget of its own and is
	// not locked out.)
	laptop := newLangBrowser(t, base, c.lang, 30*time.Second)
	p.b = laptop
	laptop.open("/signin", 200)
	laptop.fill("email", email)
	laptop.fill("password", goodPassword)
	laptop.submit("sign in on the laptop", submitButton, 200)
	laptop.expectPath("the password on the laptop", "/signin/verify")
	laptop.fill("code", clk.nextCode(t, secret))
	laptop.submit("verify during the lockout", `//main//form[@action="/signin/verify"]//button[@type="submit"]`, http.StatusTooManyRequests)
	p.checkLockout(laptop.text("#locked"))
	p.check("lockout", "challenge.heading")
}

// checkLockout checks the lockout's words: the language's message with a
// time of day and a wait in that language, not English.
func (p *langPage) checkLockout(locked string) {
	b, t := p.b, p.b.t
	t.Helper()
	msg := strings.TrimSpace(unescapeHTML(htmlTag.ReplaceAllString(p.own.msg(t, "challenge.locked"), "")))
	// The message around {{.When}} and {{.In}}, as a pattern.
	pieces := templateAction.Split(msg, -1)
	for i, s := range pieces {
		pieces[i] = regexp.QuoteMeta(s)
	}
	re := regexp.MustCompile(strings.Join(pieces, "(.+?)"))
	m := re.FindStringSubmatch(strings.Join(strings.Fields(locked), " "))
	if m == nil || len(m) != 3 {
		b.fatal("the lockout says %q, not %s's challenge.locked %q", locked, p.c.lang, msg)
	}
	when, in := m[1], m[2]
	clockRe := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(p.own.msg(t, "time.clock")), `\{\{\.Time\}\}`, `[0-2][0-9]:[0-5][0-9]`) + "$")
	if !clockRe.MatchString(when) {
		b.fatal("the lockout's retry time is %q, want %s's time.clock (%s)", when, p.c.lang, clockRe)
	}
	inPieces := strings.SplitN(p.own.msg(t, "duration.in"), "{{.Duration}}", 2)
	var units []string
	for _, id := range []string{"duration.minutes", "duration.seconds", "duration.hours"} {
		for form := range pluralForms {
			if s, ok := p.own[id+"#"+form]; ok {
				units = append(units, regexp.QuoteMeta(strings.TrimSpace(strings.ReplaceAll(s, "{{.Count}}", ""))))
			}
		}
	}
	inRe := regexp.MustCompile("^" + regexp.QuoteMeta(inPieces[0]) + `.*[0-9٠-٩].*(` + strings.Join(units, "|") + `)` + regexp.QuoteMeta(inPieces[1]) + "$")
	if !inRe.MatchString(in) {
		b.fatal("the lockout's wait is %q, not in %s's duration.in and duration units", in, p.c.lang)
	}
	t.Logf("%s lockout: until %q (%q)", p.c.lang, when, in)
	if way := p.b.text("#locked p:nth-of-type(2)"); way == strings.TrimSpace(htmlTag.ReplaceAllString(p.en.msg(t, "challenge.locked_way_out"), "")) {
		b.fatal("the way out of the lockout is English: %q", way)
	}
}

// TestLanguageChecksCatch: the checks of TestLanguagesEndToEnd find what
// they look for — a message id, an English sentence — and let addresses,
// domains and abbreviations be.
func TestLanguageChecksCatch(t *testing.T) {
	if got := idTokens("Schritt 1 von 3 setup.use_app lang-de.1.2@example.com twostep.example.com d.h. z.B. e.g. codes.title"); strings.Join(got, " ") != "setup.use_app codes.title" {
		t.Errorf("idTokens found %q, want [setup.use_app codes.title]", got)
	}
	en, de := catalogue(t, "en"), catalogue(t, "de")
	english := englishSentences(en, de)
	id, ok := english["Use an e-mail address you read: we send a link to confirm it."]
	if !ok || id != "signup.lead" {
		t.Errorf("signup.lead's English is not among the sentences German must not show (got %q, %v)", id, ok)
	}
	for frag, id := range english {
		if strings.Contains(de[id], frag) {
			t.Errorf("%s: %q is in the German message too", id, frag)
		}
	}
}
