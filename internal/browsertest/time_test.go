package browsertest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"twostep/internal/app"
	"twostep/internal/delivery"
	"twostep/internal/testenv"
)

// India's zone: +05:30 all year, so the expected local time does not
// depend on the date, and its half hour tells it from any whole-hour zone
// the machine running the test may be in.
const (
	testZoneID     = "Asia/Kolkata"
	testZoneOffset = 5*time.Hour + 30*time.Minute
)

// inZone makes the tab's JavaScript live in zone and speak British
// English, as a browser set up there does.
func (b *browser) inZone(zone, locale string) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone}); err != nil {
		b.fatal("set the time zone %s: %v", zone, err)
	}
	if _, err := chromedp.Call(b.ctx, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: locale}); err != nil {
		b.fatal("set the locale %s: %v", locale, err)
	}
}

// phone390 makes the tab a 390 px wide phone, the width of most current
// iPhones.
func (b *browser) phone390() {
	b.t.Helper()
	b.do("emulate a 390 px phone", chromedp.EmulateViewport(390, 844,
		chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateTouch))
}

// fits390 checks that the page does not scroll sideways on the 390 px
// phone (noHorizontalScroll measures the 360 px one).
func (b *browser) fits390(page string) {
	b.t.Helper()
	w, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, document.documentElement.clientWidth, window.innerWidth]`))
	if err != nil {
		b.fatal("measure %s: %v", page, err)
	}
	if len(w) != 3 || w[0] > w[1] || w[2] != 390 {
		b.fatal("%s scrolls sideways at 390 px: scrollWidth, clientWidth, innerWidth = %v", page, w)
	}
}

// shownTime is a <time> element as the page shows it.
type shownTime struct {
	Datetime string `json:"datetime"`
	Text     string `json:"text"`
	Title    string `json:"title"`
}

// firstTime reads the first <time> element inside the CSS selector.
func (b *browser) firstTime(css string) shownTime {
	b.t.Helper()
	b.do("wait for a time element", chromedp.WaitReady(chromedp.CSS(css+" time[datetime]")))
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[shownTime](`(() => {
		const el = document.querySelector(`+jsString(css+" time[datetime]")+`);
		return {datetime: el.getAttribute("datetime"), text: el.textContent.trim(), title: el.title};
	})()`))
	if err != nil {
		b.fatal("read the time element in %s: %v", css, err)
	}
	return got
}

// expectLocalTime checks that a <time> element shows its instant in the
// test zone, and keeps the server's UTC words as its tooltip.
func (b *browser) expectLocalTime(got shownTime) {
	b.t.Helper()
	at, err := time.Parse(time.RFC3339, got.Datetime)
	if err != nil {
		b.fatal("datetime %q is not RFC 3339: %v", got.Datetime, err)
	}
	local := at.In(time.FixedZone("IST", int(testZoneOffset/time.Second)))
	for _, want := range []string{local.Format("15:04"), local.Format("Jan"), local.Format("2006")} {
		if !strings.Contains(got.Text, want) {
			b.fatal("the time says %q; want the time in %s (%s), with %q", got.Text, testZoneID, local.Format("2 Jan 2006, 15:04"), want)
		}
	}
	if strings.Contains(got.Text, "UTC") || strings.Contains(got.Text, at.UTC().Format("15:04")) {
		b.fatal("the time says %q: still UTC", got.Text)
	}
	if want := at.UTC().Format("2 Jan 2006, 15:04 UTC"); got.Title != want {
		b.fatal("the time's tooltip is %q, want the server's %q", got.Title, want)
	}
}

// TestNewcomerFollowsTheOutboxInTheirTimeZone walks a newcomer's first
// minutes in a browser in India: sign up, open the developer outbox from
// the footer, where the time says the sent time in Indian time and the
// confirmation link is a link; follow it, and the confirmation page shows
// the signed-in header before and after the press. At 390 px and desktop.
func TestNewcomerFollowsTheOutboxInTheirTimeZone(t *testing.T) {
	for _, size := range []string{"desktop", "390"} {
		t.Run(size, func(t *testing.T) {
			chromiumPath(t)
			cfg := testenv.Config(t, testenv.DatabaseURL(t, "sqlite"))
			srv := testenv.Start(t, cfg, app.Options{Now: clock.Now})
			if srv.App.Outbox == nil {
				t.Fatal("the test config does not deliver mail to the outbox")
			}
			b := newBrowser(t, srv.BaseURL(), testTimeout)
			b.inZone(testZoneID, "en-GB")
			if size == "390" {
				b.phone390()
			}
			email := uniqueEmail("newcomer")
			b.signUp(email, goodPassword)
			srv.App.Account.Flush()
			// A call, as the phone pages send one: the outbox must show
			// its code too.
			if err := srv.App.Outbox.Send(b.ctx, delivery.Message{Channel: delivery.Voice, To: testPhoneE164, Body: "Your twostep code is", Code: "480264"}); err != nil {
				t.Fatal(err)
			}

			b.submit("open the outbox from the footer", `//footer//a[normalize-space()="Developer outbox"]`, 200)
			b.expectHeading("Developer outbox")
			b.expectLocalTime(b.firstTime("main section.card"))
			b.expectText("Phone call", "Your twostep code is 4 8 0 2 6 4.", "Code: 480264")
			if size == "390" {
				b.fits390("the outbox")
			}
			b.screenshot("outbox-local-time-" + size + ".png")

			link := `//main//section[contains(@aria-label, "` + email + `")]//pre//a[contains(@href, "/verify-email?token=")]`
			b.submit("follow the confirmation link", chromedp.Search(link), 200)
			b.expectHeading("Confirm your e-mail address")
			if got := b.text("header.top nav a"); got != email {
				b.fatal("the header names %q, want the signed-in %q", got, email)
			}
			b.submit("confirm the address", submitButton, 200)
			b.expectText(email+" is confirmed", "Go to your account")
			if got := b.text("header.top nav a"); got != email {
				b.fatal("after confirming, the header names %q, want the signed-in %q", got, email)
			}
			if size == "390" {
				b.fits390("the confirmed page") // a long address once pushed it sideways
			}
			b.screenshot("verify-signed-in-" + size + ".png")

			// The account page: the activity list in Indian time too.
			b.submit("go to the account", `//a[normalize-space()="Go to your account"]`, 200)
			b.expectLocalTime(b.firstTime("section[aria-labelledby=act-h]"))
		})
	}
}
