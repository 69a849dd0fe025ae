// Package browsertest holds end-to-end tests that drive twostep's pages in a
// real browser: headless Chromium, controlled through the DevTools protocol
// with chromedp. Each test starts a real twostep server (testenv.Start) on
// SQLite and signs up, signs in and out, and checks what a person sees, at
// desktop size and on a 360 px wide phone. Screenshots of the pages are
// written as PNG files to TWOSTEP_SCREENSHOT_DIR, or to screenshots/ at the
// repository root.
//
// Chromium is /usr/bin/chromium (Debian's package) or the program named by
// TWOSTEP_CHROMIUM. Without it the tests are skipped, except under CI=true,
// where a missing browser is a failure.
//
// The package has no non-test code.
package browsertest
