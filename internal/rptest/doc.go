// Package rptest signs people in to a real relying party through twostep's
// OpenID Connect provider: Apache with mod_auth_openidc (an OpenID
// Certified relying party) guards a page that shows the claims it
// received, and headless Chromium, driven with chromedp, goes through
// twostep's sign-in, two-step and consent pages and back, then logs out
// through the app.
//
// Twostep listens on localhost (testenv.Start) and Apache on 127.0.0.1:
// two sites, so neither sees the other's cookies, as with a real app on a
// domain of its own. Twostep runs on the wall clock, not a test clock:
// Apache checks the ID token's times against its own.
//
// Apache is /usr/sbin/apache2 (Debian's apache2 package) or the program
// named by TWOSTEP_TEST_APACHE, with its modules, mod_auth_openidc among
// them (libapache2-mod-auth-openidc), in /usr/lib/apache2/modules or
// TWOSTEP_TEST_APACHE_MODULES. Chromium is /usr/bin/chromium or
// TWOSTEP_CHROMIUM. Without them the tests are skipped, except under
// CI=true, where a missing program is a failure (.ci/run installs them).
//
// Screenshots go where package browsertest puts its own:
// TWOSTEP_SCREENSHOT_DIR, or screenshots/ at the repository root.
//
// The package has no non-test code.
package rptest
