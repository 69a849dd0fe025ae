package browsertest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"twostep/internal/app"
	"twostep/internal/testenv"
)

// shiftedClock runs with the shared clock, and can be moved ahead: a
// step-up goes stale without waiting.
type shiftedClock struct {
	mu    sync.Mutex
	shift time.Duration
}

func (c *shiftedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return clock.Now().Add(c.shift)
}

func (c *shiftedClock) Advance(d time.Duration) { c.mu.Lock(); c.shift += d; c.mu.Unlock() }

// wide390 makes the tab a 390 px phone.
func (b *browser) wide390() {
	b.t.Helper()
	b.do("emulate a 390 px phone", chromedp.EmulateViewport(390, 844,
		chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateTouch))
}

// fits checks that nothing scrolls sideways.
func (b *browser) fits(page string) {
	b.t.Helper()
	ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= document.documentElement.clientWidth`))
	if err != nil || !ok {
		b.fatal("%s scrolls sideways (err %v)", page, err)
	}
}

// duplicateNames lists the accessible names that more than one button or
// link in main shares.
const duplicateNames = `(() => {
	const seen = {}, dup = [];
	for (const el of document.querySelectorAll('main button, main a')) {
		if (el.hidden) continue;
		const name = (el.getAttribute('aria-label') || el.textContent).trim().replace(/\s+/g, ' ');
		if (seen[name] && !dup.includes(name)) dup.push(name);
		seen[name] = true;
	}
	return dup;
})()`

// TestManageMethods walks the two-step page as its owner, at desktop and
// 390 px: a stale confirmation names the change and carries it out,
// adding an app is no wizard, removing asks once and says what follows,
// and new recovery codes can be downloaded, printed and copied.
func TestManageMethods(t *testing.T) {
	chromiumPath(t)
	oathtoolPath(t)
	c := &shiftedClock{}
	cfg := testenv.Config(t, testenv.DatabaseURL(t, "sqlite"))
	srv := testenv.Start(t, cfg, app.Options{Now: c.Now})
	b := newBrowser(t, srv.BaseURL(), twoStepTimeout)
	code := func(secret string) string { return testenv.OathCode(t, secret, c.Now()) }

	email := uniqueEmail("annie.easley")
	secret := enrollByAPI(t, srv, email)
	b.signIn(email)
	b.expectPath("the password", "/signin/verify")
	c.Advance(31 * time.Second) // the enrolment used this step's code
	b.fill("code", code(secret))
	b.submit("verify", `//main//form//button[normalize-space()="Verify"]`, 200)
	b.expectPath("the code", "/account")
	b.expectText("Browsers that don't ask for codes: 0 remembered browsers")
	b.screenshot("manage-account-desktop.png")

	// A stale confirmation: the confirm page names the change, and
	// confirming adds the app.
	c.Advance(11 * time.Minute)
	b.open("/account/two-step", 200)
	b.submit("add an app", `//main//form//button[normalize-space()="Add an authenticator app"]`, 200)
	b.expectHeading("Confirm it's you to add an authenticator app")
	if im, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.ID("code"), "inputmode")); err != nil || im.Value != "numeric" {
		b.fatal("the step-up code field has inputmode %q (err %v), want numeric", im.Value, err)
	}
	b.screenshot("manage-confirm-desktop.png")
	c.Advance(31 * time.Second)
	b.fill("code", code(secret))
	b.submit("confirm", `//main//form//button[normalize-space()="Continue"]`, 200)
	b.expectHeading("Add an authenticator app")
	body := b.bodyText()
	for _, wizard := range []string{"Step 1 of 3", "Not now"} {
		if strings.Contains(body, wizard) {
			b.fatal("adding an app with two-step on shows the wizard's %q", wizard)
		}
	}
	spoken := b.text("#key-spoken")
	newSecret := b.wizardQR()
	if !strings.Contains(spoken, strings.Join(strings.Split(newSecret[:4], ""), " ")) {
		b.fatal("the key is not spelled for screen readers: %q", spoken)
	}
	b.screenshot("manage-add-app-desktop.png")
	b.fill("code", code(newSecret))
	b.submit("check the new app's code", `//main//form//button[normalize-space()="Check the code"]`, 200)
	b.expectPath("the new app", "/account/two-step?notice=method_added")
	b.expectText("Authenticator app", "Phone app")
	if dup, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](duplicateNames)); err != nil || len(dup) > 0 {
		b.fatal("buttons share accessible names %q (err %v)", dup, err)
	}
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('main input[name="label"]').length`)); err != nil || n != 0 {
		b.fatal("%d rename inputs open before Rename was pressed (err %v)", n, err)
	}
	b.screenshot("manage-methods-desktop.png")

	// Removing asks once, saying what follows, without a code.
	b.submit("remove the new app", `//main//a[@aria-label="Remove Authenticator app"]`, 200)
	b.expectHeading("Remove Authenticator app?")
	b.expectText("You won't be able to sign in with Authenticator app any more.")
	b.screenshot("manage-remove-desktop.png")
	b.submit("remove", `//main//form//button[normalize-space()="Remove Authenticator app"]`, 200)
	b.expectPath("removing", "/account/two-step?notice=method_removed")

	// New codes at 390 px: asked once, then Download, Print, Copy.
	b.wide390()
	b.open("/account/two-step", 200)
	b.screenshot("manage-methods-390.png")
	b.fits("/account/two-step")
	b.submit("new codes", `//main//a[normalize-space()="New codes"]`, 200)
	b.expectHeading("Make new recovery codes?")
	b.expectText("Your old codes will stop working")
	b.screenshot("manage-new-codes-390.png")
	b.fits("the confirm page")
	b.submit("make new codes", `//main//form//button[normalize-space()="Make new codes"]`, 200)
	b.expectHeading("Your recovery codes")
	b.expectText("Your earlier codes no longer work.", "Download (.txt)", "Print", "Copy")
	b.screenshot("manage-codes-390.png")
	b.fits("the codes page")
	// On paper only the codes show.
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		b.fatal("emulate print: %v", err)
	}
	shown, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]bool](`['header.top', 'form.saved', '.saverow', 'ol.codes'].map(s => getComputedStyle(document.querySelector(s)).display !== 'none')`))
	if err != nil || len(shown) != 4 || shown[0] || shown[1] || shown[2] || !shown[3] {
		b.fatal("printed, header/saved/buttons/codes show as %v (err %v), want only the codes", shown, err)
	}
	b.screenshot("manage-codes-print.png")
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: ""}); err != nil {
		b.fatal("stop emulating print: %v", err)
	}
	// "I've saved them" is deliberate: Continue does nothing until ticked.
	b.do("press Continue unticked", chromedp.Click(`//main//form//button[normalize-space()="Continue"]`, chromedp.NodeVisible))
	b.expectHeading("Your recovery codes")
	b.click("tick saved", `//input[@id="saved"]`)
	b.submit("continue", `//main//form//button[normalize-space()="Continue"]`, 200)
	b.expectPath("saving the codes", "/account/two-step?notice=codes_replaced")
	b.expectText("Your earlier codes no longer work.")
}
