package web_test

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/testenv"
)

// stepSite is a site on engine with the configuration changed by mod.
func stepSite(t *testing.T, engine string, mod func(*config.Config)) *site {
	clock := testenv.NewClock()
	cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
	if mod != nil {
		mod(&cfg)
	}
	srv := testenv.Start(t, cfg, app.Options{Now: clock.Now})
	return &site{t: t, srv: srv, c: srv.Client(), clock: clock}
}

// twoStepOn signs up email and turns two-step verification on with an
// authenticator app labelled "Phone" and recovery codes; it returns the
// app's secret and id.
func (s *site) twoStepOn(email string) (string, string) {
	s.t.Helper()
	s.signup(email)
	secret, id := s.addMethods(email)
	if st, doc := s.api("POST", "/api/v1/two-step/enable", nil); st != 200 {
		s.t.Fatalf("enable: %d %v", st, doc)
	}
	return secret, id
}

// totp is the app's code a step later than the last one used: the server
// takes each step's code once.
func (s *site) totp(secret string) string {
	s.clock.Advance(31 * time.Second)
	return testenv.OathCode(s.t, secret, s.clock.Now())
}

// confirmAt opens the confirm page at loc, checks that it names the
// change, and confirms with the app's code; it returns the answer.
func (s *site) confirmAt(loc, names, secret, appID string) (int, string, string) {
	s.t.Helper()
	if !strings.HasPrefix(loc, "/account/confirm?") {
		s.t.Fatalf("the step-up leads to %q, want the confirm page", loc)
	}
	st, _, body := s.do("GET", loc, nil)
	s.want(200, st, html.UnescapeString(body), names)
	u, _ := url.Parse(loc)
	form := u.Query()
	form.Set("method_id", appID)
	form.Set("code", s.totp(secret))
	return s.do("POST", "/account/confirm", form)
}

var removeLink = regexp.MustCompile(`href="(/account/confirm\?[^"]*action=remove[^"]*)" aria-label="Remove ([^"]*)"`)

// removeLinkFor is the two-step page's Remove link of the method label.
func (s *site) removeLinkFor(label string) string {
	s.t.Helper()
	_, _, body := s.do("GET", "/account/two-step", nil)
	for _, m := range removeLink.FindAllStringSubmatch(body, -1) {
		if html.UnescapeString(m[2]) == label {
			return html.UnescapeString(m[1])
		}
	}
	return ""
}

// TestStepUpCompletesEveryAction: each change that needs "Confirm it's
// you" is carried out by the confirmation, and the confirm page names it;
// the password change comes back asking for the passwords again, saying
// so.
func TestStepUpCompletesEveryAction(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			s := stepSite(t, engine, nil)
			secret, appID := s.twoStepOn("stepup@example.com")
			stale := func() { s.clock.Advance(11 * time.Minute) }

			// Rename.
			stale()
			st, loc, body := s.do("POST", "/account/two-step/methods/"+appID+"/rename", url.Values{"label": {"Authenticator app"}})
			s.wantStatus(303, st, body)
			st, loc, body = s.confirmAt(loc, "Confirm it's you to rename Phone to Authenticator app", secret, appID)
			s.wantRedirect(st, loc, body, "/account/two-step?notice=method_renamed")

			// Add an app: not the wizard, and named apart from the first.
			stale()
			st, loc, body = s.do("POST", "/account/two-step/setup/app", url.Values{"step": {"0"}})
			s.wantStatus(303, st, body)
			st, loc, body = s.confirmAt(loc, "Confirm it's you to add an authenticator app", secret, appID)
			if st != 303 || !strings.HasPrefix(loc, "/account/two-step/setup?step=1&factor=") {
				t.Fatalf("confirming the new app = %d %q, want its QR code\n%.300s", st, loc, body)
			}
			st, _, body = s.do("GET", loc, nil)
			s.want(200, st, body, "Add an authenticator app", `id="key-spoken"`, `inputmode="numeric"`)
			for _, wizard := range []string{"Step 1 of 3", "Not now", `class="steps"`} {
				if strings.Contains(body, wizard) {
					t.Fatalf("adding an app with two-step on shows the wizard's %q", wizard)
				}
			}
			secret2 := keyOf(t, body)
			factor2 := loc[strings.Index(loc, "factor=")+7:]
			st, loc, body = s.do("POST", "/account/two-step/setup/confirm", url.Values{"factor": {factor2}, "step": {"1"}, "code": {testenv.OathCode(t, secret2, s.clock.Now())}})
			s.wantRedirect(st, loc, body, "/account/two-step?notice=method_added")
			st, _, body = s.do("GET", "/account/two-step", nil)
			s.want(200, st, body, `aria-label="Remove Authenticator app 2"`, `aria-label="Rename Authenticator app"`, `aria-label="Make Authenticator app 2 the default"`)
			// Two methods never share a name.
			st, _, body = s.do("POST", "/account/two-step/methods/"+factor2+"/rename", url.Values{"label": {"authenticator app"}})
			s.want(409, st, body, "You already have a method with that name")

			// Make default.
			stale()
			st, loc, body = s.do("POST", "/account/two-step/methods/"+factor2+"/default", url.Values{})
			s.wantStatus(303, st, body)
			st, loc, body = s.confirmAt(loc, "Confirm it's you to make Authenticator app 2 your default method", secret, appID)
			s.wantRedirect(st, loc, body, "/account/two-step?notice=method_default")

			// New recovery codes: shown at once, saying the old ones stopped.
			stale()
			st, loc, body = s.do("POST", "/account/two-step/recovery", url.Values{})
			s.wantStatus(303, st, body)
			st, _, body = s.confirmAt(loc, "Confirm it's you to make new recovery codes", secret, appID)
			s.want(200, st, body, "Your recovery codes", "Your earlier codes no longer work.")

			// Forget every remembered browser.
			stale()
			st, loc, body = s.do("POST", "/account/devices/forget-all", url.Values{})
			s.wantStatus(303, st, body)
			st, loc, body = s.confirmAt(loc, "Confirm it's you to forget every remembered browser", secret, appID)
			s.wantRedirect(st, loc, body, "/account/two-step?notice=devices_forgotten")

			// The password: asked for again after confirming, and the page
			// says so.
			stale()
			const next = "a brand new passphrase 7"
			st, loc, body = s.do("POST", "/account/password", url.Values{"current_password": {"correct horse battery staple"}, "new_password": {next}})
			s.wantStatus(303, st, body)
			st, loc, body = s.confirmAt(loc, "Confirm it's you to change your password", secret, appID)
			s.wantRedirect(st, loc, body, "/account?notice=confirmed_password#pw-h")
			st, _, body = s.do("GET", "/account?notice=confirmed_password", nil)
			s.want(200, st, body, "Confirmed — type your current and new password again, then press Change password to finish.")
			st, loc, body = s.do("POST", "/account/password", url.Values{"current_password": {"correct horse battery staple"}, "new_password": {next}})
			s.wantRedirect(st, loc, body, "/account?notice=password_changed")

			// Add a phone: the number waits through the confirmation.
			stale()
			st, loc, body = s.do("POST", "/account/two-step/phone/send", url.Values{"phone": {"+447400123456"}, "channel": {"sms"}, "step": {"0"}})
			s.wantStatus(303, st, body)
			st, loc, body = s.confirmAt(loc, "Confirm it's you to add the phone +44 7400 123456", secret, appID)
			if st != 303 || !strings.Contains(loc, "factor=") {
				t.Fatalf("confirming the phone = %d %q\n%.300s", st, loc, body)
			}
			st, _, body = s.do("GET", loc, nil)
			s.want(200, st, body, "Enter the code", "It works for 10 minutes.")
			if strings.Contains(body, "Step 1 of 3") {
				t.Fatal("adding a phone with two-step on shows the wizard's steps")
			}

			// Remove, from the page's link: the confirmation removes it.
			stale()
			link := s.removeLinkFor("Authenticator app 2")
			st, loc, body = s.confirmAt(link, "Confirm it's you to remove Authenticator app 2", secret, appID)
			s.wantRedirect(st, loc, body, "/account/two-step?notice=method_removed")
			if s.removeLinkFor("Authenticator app 2") != "" {
				t.Fatal("Authenticator app 2 is still listed after its removal was confirmed")
			}

			// Turn off.
			stale()
			st, _, body = s.do("GET", "/account/two-step", nil)
			off := regexp.MustCompile(`href="([^"]*action=two_step_off[^"]*)"`).FindStringSubmatch(body)
			if off == nil {
				t.Fatalf("no Turn off link:\n%.2000s", body)
			}
			st, loc, body = s.confirmAt(html.UnescapeString(off[1]), "Confirm it's you to turn off two-step verification", secret, appID)
			s.wantRedirect(st, loc, body, "/account/two-step?notice=two_step_off")
		})
	}
}

func (s *site) wantStatus(want, got int, body string) {
	s.t.Helper()
	if got != want {
		s.t.Fatalf("status = %d, want %d\n%.600s", got, want, body)
	}
}

var keyChunk = regexp.MustCompile(`<span class="chunk">([A-Z2-7]+)</span>`)

// keyOf is the set-up key a page shows, and checks that a screen reader
// gets it character by character.
func keyOf(t *testing.T, body string) string {
	t.Helper()
	var key string
	for _, m := range keyChunk.FindAllStringSubmatch(body, -1) {
		key += m[1]
	}
	if len(key) < 16 {
		t.Fatalf("no set-up key on the page:\n%.2000s", body)
	}
	if !strings.Contains(body, `<p class="key" aria-hidden="true">`) || !strings.Contains(body, strings.Join(strings.Split(key[:4], ""), " ")+", ") {
		t.Fatalf("the key %s is not spelled out for screen readers", key)
	}
	return key
}

// TestDestructiveActionsAskOnce: removing a method, replacing recovery
// codes and turning two-step off ask once, saying what follows; removing
// the last backup warns; the only code-giving method is never called the
// last sign-in method while recovery codes remain.
func TestDestructiveActionsAskOnce(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			s := stepSite(t, engine, nil)
			secret, appID := s.twoStepOn("once@example.com")
			// A fresh confirmation: the pages below only ask once.
			st, loc, body := s.confirmAt("/account/confirm?next=%2Faccount%2Ftwo-step", "Confirm it's you", secret, appID)
			s.wantRedirect(st, loc, body, "/account/two-step")

			if s.removeLinkFor("Phone") != "" {
				t.Fatal("the only app has a Remove link: two-step would be left with recovery codes alone")
			}
			st, _, body = s.do("POST", "/account/two-step/methods/"+appID+"/remove", url.Values{})
			s.want(409, st, body, "Add another method first")
			if strings.Contains(body, "last sign-in method") {
				t.Fatal(`"This is your last sign-in method" is said while recovery codes remain`)
			}

			link := s.removeLinkFor("Recovery codes")
			st, _, body = s.do("GET", link, nil)
			s.want(200, st, body, "Remove Recovery codes?", "Your recovery codes will stop working.", "This is your last backup.", ">Remove Recovery codes</button>")
			if strings.Contains(body, `name="code"`) {
				t.Fatal("a fresh confirmation asks for a code again")
			}
			u, _ := url.Parse(link)
			st, loc, body = s.do("POST", "/account/confirm", u.Query())
			s.wantRedirect(st, loc, body, "/account/two-step?notice=method_removed_no_backup")

			// First codes: nothing to replace, nothing "earlier".
			st, _, body = s.do("POST", "/account/two-step/recovery", url.Values{})
			s.want(200, st, body, "Your recovery codes")
			if strings.Contains(body, "earlier codes") {
				t.Fatal(`the first codes say "earlier codes no longer work"`)
			}
			// Replacing them asks first.
			st, _, body = s.do("GET", "/account/two-step", nil)
			newCodes := regexp.MustCompile(`href="([^"]*action=new_codes[^"]*)"`).FindStringSubmatch(body)
			if newCodes == nil {
				t.Fatalf("no New codes link:\n%.2000s", body)
			}
			st, _, body = s.do("GET", html.UnescapeString(newCodes[1]), nil)
			s.want(200, st, body, "Make new recovery codes?", "Your old codes will stop working")
			u, _ = url.Parse(html.UnescapeString(newCodes[1]))
			st, _, body = s.do("POST", "/account/confirm", u.Query())
			s.want(200, st, body, "Your earlier codes no longer work.")

			st, _, body = s.do("GET", "/account/confirm?next=%2Faccount%2Ftwo-step&action=two_step_off", nil)
			s.want(200, st, body, "Turn off two-step verification?", "All your methods and remembered browsers are removed.")
		})
	}
}

// TestReplaceAuthenticatorApp: "Replace" sets up a new app; the old one
// works until the new one is confirmed, then goes, and the new one takes
// its name.
func TestReplaceAuthenticatorApp(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			s := stepSite(t, engine, nil)
			secret, appID := s.twoStepOn("replace@example.com")
			st, _, body := s.do("GET", "/account/two-step", nil)
			s.want(200, st, body, `name="replace" value="`+appID+`"`, `aria-label="Replace Phone with a new app"`)
			st, loc, body := s.do("POST", "/account/two-step/setup/app", url.Values{"replace": {appID}})
			s.wantStatus(303, st, body)
			st, loc, body = s.confirmAt(loc, "Confirm it's you to replace Phone", secret, appID)
			if st != 303 || !strings.HasSuffix(loc, "&replace="+appID) {
				t.Fatalf("replace = %d %q\n%.300s", st, loc, body)
			}
			st, _, body = s.do("GET", loc, nil)
			s.want(200, st, body, "Set up your new authenticator app", "Phone keeps working until the new app")
			newSecret := keyOf(t, body)
			newID := loc[strings.Index(loc, "factor=")+7 : strings.Index(loc, "&replace=")]
			// Not yet confirmed: the old app is still there.
			if s.removeLinkFor("Recovery codes") == "" || !strings.Contains(s.page("/account/two-step"), `value="`+appID+`"`) {
				t.Fatal("the old app went before the new one was confirmed")
			}
			st, loc, body = s.do("POST", "/account/two-step/setup/confirm", url.Values{"factor": {newID}, "replace": {appID}, "step": {"1"}, "code": {testenv.OathCode(t, newSecret, s.clock.Now())}})
			s.wantRedirect(st, loc, body, "/account/two-step?notice=app_replaced")
			page := s.page("/account/two-step")
			if strings.Contains(page, appID) || !strings.Contains(page, `value="`+newID+`"`) || !strings.Contains(page, `aria-label="Replace Phone with a new app"`) {
				t.Fatalf("after the replacement the page does not list only the new app, named Phone:\n%.3000s", page)
			}
		})
	}
}

func (s *site) page(path string) string {
	s.t.Helper()
	st, _, body := s.do("GET", path, nil)
	s.want(200, st, body)
	return body
}

// TestManagementPages: the account page starts the wizard at the app,
// links to the remembered browsers and carries a username for password
// managers; rename is an action; the recovery codes download as a file
// and print; the confirm page's code field suits the method.
func TestManagementPages(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			s := stepSite(t, engine, nil)
			s.signup("manage@example.com")
			s.verifyEmail("manage@example.com")
			body := s.page("/account")
			for _, want := range []string{`<form method="post" action="/account/two-step/setup/app"><input type="hidden" name="step" value="1"><button type="submit">Turn on</button>`,
				`name="username" value="manage@example.com" autocomplete="username" hidden`} {
				if !strings.Contains(body, want) {
					t.Fatalf("the account page lacks %s:\n%.3000s", want, body)
				}
			}
			// "Turn on" leads straight to the app's QR code, in the wizard.
			st, loc, body := s.do("POST", "/account/two-step/setup/app", url.Values{"step": {"1"}})
			s.wantStatus(303, st, body)
			body = s.page(loc)
			for _, want := range []string{"Step 1 of 3", "Add your authenticator app", "Not now", "No app? Use a phone number instead"} {
				if !strings.Contains(body, want) {
					t.Fatalf("the wizard's QR page lacks %q", want)
				}
			}

			secret, appID := s.addMethods("manage@example.com")
			if st, doc := s.api("POST", "/api/v1/two-step/enable", nil); st != 200 {
				t.Fatalf("enable: %d %v", st, doc)
			}
			body = s.page("/account")
			if !strings.Contains(body, `href="/account/two-step#devices"`) || !strings.Contains(body, "0 remembered browsers") {
				t.Fatalf("the account page does not lead to the remembered browsers:\n%.3000s", body)
			}
			body = s.page("/account/two-step")
			if strings.Contains(body, `name="label"`) {
				t.Fatal("the two-step page shows rename inputs before Rename was pressed")
			}
			body = s.page("/account/two-step?rename=" + appID)
			if n := strings.Count(body, `name="label"`); n != 1 || !strings.Contains(body, `value="Phone"`) || !strings.Contains(body, "Save name") {
				t.Fatalf("Rename shows %d inputs, want the one for Phone:\n%.3000s", n, body)
			}

			// The confirm page: digits for the app, letters for a code.
			body = s.page("/account/confirm?next=%2Faccount")
			if !strings.Contains(body, `id="code" name="code" type="text"  autocomplete="one-time-code" inputmode="numeric"`) {
				t.Fatalf("the step-up code field for an app is not numeric:\n%.3000s", body)
			}
			codesID := regexp.MustCompile(`method=([A-Za-z0-9_-]+)">Use Recovery codes`).FindStringSubmatch(body)
			if codesID == nil {
				t.Fatalf("no way to use a recovery code:\n%.3000s", body)
			}
			body = s.page("/account/confirm?next=%2Faccount&method=" + codesID[1])
			if !strings.Contains(body, `<label for="code">Recovery code</label>`) || strings.Contains(body, `inputmode="numeric"`) {
				t.Fatalf("the recovery code field is numeric or mislabelled:\n%.3000s", body)
			}
			st, loc, body = s.do("POST", "/account/confirm", url.Values{"next": {"/account"}, "method_id": {appID}, "code": {s.totp(secret)}})
			s.wantRedirect(st, loc, body, "/account")

			// Recovery codes: download, print, copy, and a deliberate "saved".
			st, _, body = s.do("GET", "/account/confirm?next=%2Faccount%2Ftwo-step&action=new_codes", nil)
			st, _, body = s.do("POST", "/account/confirm", url.Values{"next": {"/account/two-step"}, "action": {"new_codes"}})
			s.want(200, st, body, "Download (.txt)", `formaction="/account/two-step/recovery/print"`, `data-copy="codes"`,
				`<input type="checkbox" id="saved" required>`)
			codes := regexp.MustCompile(`<li><code>([^<]+)</code></li>`).FindAllStringSubmatch(body, -1)
			if len(codes) != 10 {
				t.Fatalf("%d codes shown", len(codes))
			}
			form := url.Values{}
			for _, c := range codes {
				form.Add("code", c[1])
			}
			req, _ := http.NewRequest("POST", s.srv.BaseURL()+"/account/two-step/recovery/download", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := s.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			file := new(strings.Builder)
			_, _ = io.Copy(file, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Disposition") != `attachment; filename="recovery-codes.txt"` ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !strings.Contains(file.String(), "10. "+codes[9][1]) {
				t.Fatalf("download = %d %v\n%s", resp.StatusCode, resp.Header, file)
			}
			st, _, body = s.do("POST", "/account/two-step/recovery/print", form)
			s.want(200, st, body, "This page is ready to print", codes[0][1])
		})
	}
}

// TestPageWordsFollowConfig: the password hint and the life of a sent
// code follow password.min_length and codes.ttl.
func TestPageWordsFollowConfig(t *testing.T) {
	s := stepSite(t, "sqlite", func(c *config.Config) {
		c.Password.MinLength = 12
		c.Codes.TTL = config.Duration(5 * time.Minute)
	})
	s.want(200, 200, s.page("/signup"), "At least 12 characters.")
	s.signup("words@example.com")
	s.want(200, 200, s.page("/account"), "At least 12 characters.")
	s.want(200, 200, s.page("/reset-password?token="+url.QueryEscape(s.resetLink("words@example.com"))), "At least 12 characters.")
	s.verifyEmail("words@example.com")
	st, loc, body := s.do("POST", "/account/two-step/phone/send", url.Values{"phone": {"+447400123456"}, "channel": {"sms"}, "step": {"1"}})
	s.wantStatus(303, st, body)
	s.want(200, 200, s.page(loc), "It works for 5 minutes.")
}
