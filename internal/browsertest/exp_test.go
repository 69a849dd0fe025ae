package browsertest

import (
	"testing"

	"github.com/chromedp/chromedp"
)

func TestExpShortEmail(t *testing.T) {
	for _, email := range []string{"ada.1@example.com", "jo@ex.io"} {
		srv := startServer(t)
		b := newBrowser(t, srv.BaseURL())
		b.do("emulate", chromedp.EmulateViewport(360, 800, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait))
		b.signUp(email, goodPassword)
		w, _ := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		t.Logf("%s: scrollWidth %d", email, w)
	}
}

func TestExpFix(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t, srv.BaseURL())
	b.do("emulate", chromedp.EmulateViewport(360, 800, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait))
	b.signUp(uniqueEmail("margaret.hamilton-engineering"), goodPassword)
	b.do("fix", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.styleSheets[0];
	  s.insertRule('header.top nav { min-width: 0; justify-content: flex-end; }', s.cssRules.length);
	  s.insertRule('header.top nav a { overflow-wrap: anywhere; min-width: 0; }', s.cssRules.length);
	  s.insertRule('.brand { flex-shrink: 0; }', s.cssRules.length);
	  s.insertRule('p.lead { overflow-wrap: anywhere; }', s.cssRules.length);
	})()`))
	b.screenshot("exp-account-mobile-fixed.png")
	b.noHorizontalScroll("/account fixed")
}
