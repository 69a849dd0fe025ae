package browsertest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"twostep/internal/app"
	"twostep/internal/testenv"
)

// Security keys and passkeys in a real browser: Chromium's virtual
// authenticators (the DevTools WebAuthn domain) answer the pages'
// ceremonies as a key or a phone's passkey would, through
// static/webauthn.js, on http://localhost (the relying party's host).

// startOn runs twostep on a fresh database of engine and a browser to use
// it, returning the server too.
func startOn(t *testing.T, engine string) (*testenv.Server, *browser) {
	t.Helper()
	chromiumPath(t)
	cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
	srv := testenv.Start(t, cfg, app.Options{Now: clock.Now})
	return srv, newBrowser(t, srv.BaseURL(), testTimeout)
}

// vkey is a virtual authenticator: plugged in, it answers the page's
// ceremonies; unplugged, its credentials are kept to plug it in again.
type vkey struct {
	b     *browser
	name  string
	opts  webauthn.VirtualAuthenticatorOptions
	id    webauthn.AuthenticatorID
	creds []*webauthn.Credential
}

// securityKey is a USB security key: it shows the person is present (a
// touch) and holds no passkeys.
func securityKey(b *browser, name string) *vkey {
	return &vkey{b: b, name: name, opts: webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportUsb,
		AutomaticPresenceSimulation: true,
	}}
}

// platformPasskeys is the device's own authenticator (Touch ID, Windows
// Hello, a phone's screen lock): passkeys, verified by the person;
// synced says a cloud keychain backs them up.
func platformPasskeys(b *browser, name string, synced bool) *vkey {
	return &vkey{b: b, name: name, opts: webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
		DefaultBackupEligibility: synced, DefaultBackupState: synced,
	}}
}

// plug connects the authenticator, with the credentials it held.
func (k *vkey) plug() {
	k.b.t.Helper()
	if _, err := chromedp.Call(k.b.ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		k.b.fatal("enable the WebAuthn domain: %v", err)
	}
	res, err := chromedp.Call(k.b.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &k.opts})
	if err != nil {
		k.b.fatal("plug in %s: %v", k.name, err)
	}
	k.id = res.AuthenticatorID
	for _, c := range k.creds {
		cred := storedCredential{CredentialID: c.CredentialID, IsResidentCredential: c.IsResidentCredential, RpID: c.RpID, PrivateKey: c.PrivateKey,
			UserHandle: c.UserHandle, SignCount: c.SignCount, BackupEligibility: c.BackupEligibility, BackupState: c.BackupState}
		if _, err := chromedp.Call(k.b.ctx, addCredential, addCredentialParams{AuthenticatorID: k.id, Credential: cred}); err != nil {
			k.b.fatal("put a credential back on %s: %v", k.name, err)
		}
	}
}

// addCredential is WebAuthn.addCredential without the trust-group fields
// that cdproto always sends (generateCmtgKeyOnNextOperation), which
// Chromium refuses for authenticators without that extension.
var addCredential = cdp.Command[addCredentialParams, cdp.Empty]{Method: webauthn.CommandAddCredential}

type addCredentialParams struct {
	AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
	Credential      storedCredential         `json:"credential"`
}

type storedCredential struct {
	CredentialID         []byte  `json:"credentialId"`
	IsResidentCredential bool    `json:"isResidentCredential"`
	RpID                 string  `json:"rpId"`
	PrivateKey           []byte  `json:"privateKey"`
	UserHandle           []byte  `json:"userHandle,omitempty"`
	SignCount            float64 `json:"signCount"`
	BackupEligibility    bool    `json:"backupEligibility"`
	BackupState          bool    `json:"backupState"`
}

// unplug disconnects the authenticator, keeping its credentials.
func (k *vkey) unplug() {
	k.b.t.Helper()
	k.creds = k.credentials()
	if _, err := chromedp.Call(k.b.ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: k.id}); err != nil {
		k.b.fatal("unplug %s: %v", k.name, err)
	}
	k.id = ""
}

// credentials are those the authenticator holds.
func (k *vkey) credentials() []*webauthn.Credential {
	k.b.t.Helper()
	res, err := chromedp.Call(k.b.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: k.id})
	if err != nil {
		k.b.fatal("read the credentials of %s: %v", k.name, err)
	}
	return res.Credentials
}

// userVerified makes the authenticator's check of the person (PIN,
// fingerprint) succeed or fail.
func (k *vkey) userVerified(ok bool) {
	k.b.t.Helper()
	if _, err := chromedp.Call(k.b.ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: k.id, IsUserVerified: ok}); err != nil {
		k.b.fatal("set user verification of %s: %v", k.name, err)
	}
}

// answerWithoutUV makes the authenticator's answers say the person was
// not verified (an older key, or a passkey used without its PIN).
func (k *vkey) answerWithoutUV(on bool) {
	k.b.t.Helper()
	if _, err := chromedp.Call(k.b.ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{AuthenticatorID: k.id, IsBadUV: &on}); err != nil {
		k.b.fatal("override the UV bit of %s: %v", k.name, err)
	}
}

// noAutofill makes the pages see a browser without passkey autofill
// (conditional mediation), as Firefox and older browsers are: Chromium
// with a virtual authenticator answers an autofill request at once, with
// the first passkey, which would sign in before any button is pressed.
func (b *browser) noAutofill() {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);`,
	}); err != nil {
		b.fatal("turn passkey autofill off: %v", err)
	}
}

// ceremonyError waits for the message the script shows when a ceremony
// ends without an answer, and returns it.
func (b *browser) ceremonyError() string {
	b.t.Helper()
	b.do("wait for the ceremony's message", chromedp.WaitVisible(chromedp.CSS(`main [data-webauthn-error]`)))
	return b.text(`main [data-webauthn-error]`)
}

// button is the XPath of the main column's button with this text.
func button(text string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//main//button[normalize-space()=%q]`, text))
}

// wizardWithKey signs up email and turns two-step verification on with a
// security key named "Blue key" on key (plugged in) as the main method
// and, as the backup, a second key on backup — unplugging key meanwhile,
// as a person swaps keys in the one port.
func wizardWithKey(t *testing.T, srv *testenv.Server, b *browser, email string, key, backup *vkey, shots string) {
	t.Helper()
	b.signUp(email, goodPassword)
	verifyEmail(t, srv, email)
	b.open("/account/two-step/setup", 200)
	b.expectProgress("Step 1 of 3")
	b.submit("choose a security key", button("Use a security key"), 200)
	b.expectProgress("Step 1 of 3")
	b.expectHeading("Add your security key")
	if got := b.labelOf("label"); got != "Name" {
		b.fatal("the name field is labelled %q", got)
	}
	if v, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("label"))); err != nil || v != "Security key" {
		b.fatal("the name field holds %q (err %v), want the default \"Security key\"", v, err)
	}
	if shots != "" {
		b.screenshot("key-wizard-" + shots + ".png")
	}
	b.fill("label", "Blue key")
	b.submit("add the key", button("Add the security key"), 200)
	b.expectPath("adding the key", "/account/two-step/setup?step=2")
	b.expectHeading("Add a backup")

	// The backup: another key, in the same port.
	key.unplug()
	backup.plug()
	b.submit("add a backup key", button("Add a security key"), 200)
	b.expectHeading("Add a backup security key")
	if v, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("label"))); err != nil || v != "Security key" {
		b.fatal("the backup key's name field holds %q (err %v), want \"Security key\"", v, err)
	}
	b.submit("add the backup key", button("Add the security key"), 200)
	b.expectPath("adding the backup key", "/account/two-step/setup?step=3")
	b.click("untick remember", `//input[@id="remember"]`)
	b.submit("turn two-step verification on", button("Turn on two-step verification"), 200)
	b.expectPath("turning it on", "/account/two-step?notice=two_step_on")
	backup.unplug()
	key.plug()
}

// TestSecurityKeyJourney: a key added in the wizard signs in as the
// second step, confirms it's the person, refuses to be added twice, and
// the backup key is removed.
func TestSecurityKeyJourney(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			srv, b := startOn(t, engine)
			shots := ""
			if engine == "sqlite" {
				shots = "desktop"
			}
			blue, spare := securityKey(b, "Blue key"), securityKey(b, "spare key")
			blue.plug()
			email := uniqueEmail("key")
			wizardWithKey(t, srv, b, email, blue, spare, shots)
			b.expectText("Blue key", "Security key · this device only · Main method", "Security key · this device only · Backup")

			// Sign out, and in with the password and the key.
			b.signOut()
			b.signIn(email)
			b.expectPath("the password", "/signin/verify")
			b.expectHeading("Two-step verification")
			b.expectText("Use your security key (Blue key)")
			if shots != "" {
				// The rest of the journey runs on a 360 px phone.
				b.screenshot("key-challenge-desktop.png")
				b.phone()
				b.screenshot("key-challenge-mobile.png")
				b.noHorizontalScroll("/signin/verify")
			}
			b.click("open Try another way", `//summary[normalize-space()="Try another way"]`)
			others, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('details.another > ul > li > a')].map(a => a.textContent.trim())`))
			if err != nil || strings.Join(others, "|") != "Use your security key" {
				b.fatal("Try another way offers %q (err %v), want the backup key", others, err)
			}
			b.submit("use the key", button("Use your security key"), 200)
			b.expectPath("the key", "/account")
			b.expectHeading("Your account")

			// The list says when it was last used.
			b.open("/account/two-step", 200)
			used, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => {
				for (const li of document.querySelectorAll('ul.methods li')) {
					if (li.querySelector('strong').textContent.trim() === 'Blue key') return li.querySelector('.meta').textContent;
				}
				return '';
			})()`))
			if err != nil || !strings.Contains(used, "last used") || strings.Contains(used, "last used never") {
				b.fatal("Blue key's line says %q (err %v), want a last use", used, err)
			}

			// "Confirm it's you" with the key.
			b.open("/account/confirm?next=/account/two-step", 200)
			b.expectHeading("Confirm it's you")
			b.expectText("Use your security key (Blue key)")
			b.submit("confirm with the key", button("Confirm"), 200)
			b.expectPath("confirming with the key", "/account/two-step")

			// The same key cannot be added twice: the browser refuses it.
			b.submit("add another key", button("Add a security key"), 200)
			b.expectHeading("Add a security key")
			b.click("add the same key again", button("Add the security key"))
			if msg := b.ceremonyError(); msg != "This security key is already on your account. Use another key, or cancel." {
				b.fatal("adding the same key again says %q", msg)
			}

			// Remove the backup key.
			b.open("/account/two-step", 200)
			b.submit("remove the backup key", `//main//a[@aria-label="Remove Security key"]`, 200)
			b.expectHeading("Remove Security key?")
			b.submit("confirm the removal", button("Remove Security key"), 200)
			b.expectPath("removing the key", "/account/two-step?notice=method_removed_no_backup")
			b.expectText("Blue key")
			if strings.Contains(b.bodyText(), "Security key · this device only · Backup") {
				b.fatal("the removed key is still listed")
			}

			// A browser without WebAuthn is told to use another method.
			b.signOut()
			if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
				Source: `delete window.PublicKeyCredential;`,
			}); err != nil {
				b.fatal("take WebAuthn away: %v", err)
			}
			b.open("/signin", 200)
			if hidden, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector('[data-passkey]').hidden`)); err != nil || !hidden {
				b.fatal("a browser without WebAuthn is offered the passkey button (err %v)", err)
			}
			b.fill("email", email)
			b.fill("password", goodPassword)
			b.submit("sign in", button("Sign in"), 200) // the passkey's button stays hidden
			b.expectPath("the password, in a browser without WebAuthn", "/signin/verify")
			if msg := b.ceremonyError(); msg != "This browser cannot use security keys: use another method." {
				b.fatal("a browser without WebAuthn is told %q", msg)
			}
			state, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]bool](`[document.evaluate('//main//button[normalize-space()="Use your security key"]', document, null, 9, null).singleNodeValue.disabled,
				document.querySelector('details.another').open]`))
			if err != nil || len(state) != 2 || !state[0] || !state[1] {
				b.fatal("without WebAuthn, the key's button disabled and Try another way open: %v (err %v)", state, err)
			}
			b.noConsoleErrors()
		})
	}
}

// TestPasskeyJourney: a passkey created in the wizard (after a cancelled
// try), listed as synced, signs in alone from the sign-in page's button;
// without the person verified it is one step, and the challenge follows.
func TestPasskeyJourney(t *testing.T) {
	srv, b := startOn(t, "sqlite")
	b.noAutofill() // the button is tested here, autofill in TestPasskeyAutofill
	phone := platformPasskeys(b, "phone", true)
	phone.plug()
	email := uniqueEmail("passkey")
	b.signUp(email, goodPassword)
	verifyEmail(t, srv, email)
	b.open("/account/two-step/setup", 200)
	b.submit("choose a passkey", button("Use a passkey"), 200)
	b.expectHeading("Create a passkey")
	if v, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("label"))); err != nil || v != "Passkey" {
		b.fatal("the name field holds %q (err %v), want \"Passkey\"", v, err)
	}

	// The person fails the fingerprint: nothing is saved, and the page
	// says so.
	phone.userVerified(false)
	b.click("create the passkey, failing the fingerprint", button("Create the passkey"))
	if msg := b.ceremonyError(); msg != "Nothing was saved: the security key request was cancelled or timed out. Try again." {
		b.fatal("a refused ceremony says %q", msg)
	}
	b.expectHeading("Create a passkey")
	b.screenshot("passkey-cancelled-desktop.png")
	if n := len(phone.credentials()); n != 0 {
		b.fatal("the authenticator holds %d credentials after the refusal", n)
	}

	// Again, with the fingerprint.
	phone.userVerified(true)
	b.fill("label", "My phone")
	b.submit("create the passkey", button("Create the passkey"), 200)
	b.expectPath("creating the passkey", "/account/two-step/setup?step=2")
	b.submit("get recovery codes", button("Get recovery codes to print or save"), 200)
	b.click("say the codes are saved", `//input[@id="saved"]`)
	b.submit("continue after saving the codes", button("Continue"), 200)
	b.click("untick remember", `//input[@id="remember"]`)
	b.submit("turn two-step verification on", button("Turn on two-step verification"), 200)
	b.expectText("My phone", "Passkey · synced passkey · Main method")
	b.screenshot("passkey-methods-desktop.png")

	// Sign out; the sign-in page offers the passkey.
	b.signOut()
	b.expectHeading("Sign in")
	ac, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.ID("email"), "autocomplete"))
	if err != nil || ac.Value != "username webauthn" {
		b.fatal("the e-mail field's autocomplete is %q (err %v), want \"username webauthn\"", ac.Value, err)
	}
	b.do("wait for the passkey button", chromedp.WaitVisible(button("Sign in with a passkey")))
	b.screenshot("signin-passkey-desktop.png")
	b.submit("sign in with the passkey", button("Sign in with a passkey"), 200)
	b.expectPath("the passkey", "/account")
	b.expectText(email)

	// A passkey used without the person verified is one step: the
	// challenge follows, and the passkey (or another method) answers it.
	b.signOut()
	phone.answerWithoutUV(true)
	b.do("wait for the passkey button", chromedp.WaitVisible(button("Sign in with a passkey")))
	b.submit("sign in with the passkey, not verified", button("Sign in with a passkey"), 200)
	b.expectPath("a passkey without verification", "/signin/verify")
	b.expectHeading("Two-step verification")
	b.expectText("Use your passkey (My phone)")
	b.submit("use the passkey as the second step", button("Use your passkey"), 200)
	b.expectPath("the second step", "/account")
	phone.answerWithoutUV(false)

	// On a phone.
	b.signOut()
	b.phone()
	b.open("/signin", 200)
	b.do("wait for the passkey button", chromedp.WaitVisible(button("Sign in with a passkey")))
	b.screenshot("signin-passkey-mobile.png")
	b.noHorizontalScroll("/signin")
	b.submit("sign in with the passkey on a phone", button("Sign in with a passkey"), 200)
	b.expectPath("the passkey on a phone", "/account")
	b.open("/account/two-step", 200)
	b.screenshot("passkey-methods-mobile.png")
	b.noHorizontalScroll("/account/two-step")
	b.noConsoleErrors()
}

// TestPasskeyAutofill: where the browser offers passkeys as the e-mail
// field's autofill (conditional mediation), the sign-in page asks for one
// as it loads. Headless Chromium supports it, and its virtual
// authenticator picks the passkey at once, as a person choosing it from
// the field's list would: the page signs in without a press.
func TestPasskeyAutofill(t *testing.T) {
	srv, b := startOn(t, "sqlite")
	phone := platformPasskeys(b, "phone", false)
	phone.plug()
	email := uniqueEmail("autofill")
	b.signUp(email, goodPassword)
	verifyEmail(t, srv, email)
	b.open("/account/two-step/setup", 200)
	b.submit("choose a passkey", button("Use a passkey"), 200)
	b.submit("create the passkey", button("Create the passkey"), 200)
	b.submit("get recovery codes", button("Get recovery codes to print or save"), 200)
	b.click("say the codes are saved", `//input[@id="saved"]`)
	b.submit("continue after saving the codes", button("Continue"), 200)
	b.click("untick remember", `//input[@id="remember"]`)
	b.submit("turn two-step verification on", button("Turn on two-step verification"), 200)
	b.expectText("Passkey · this device only · Main method")

	available, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`PublicKeyCredential.isConditionalMediationAvailable()`, chromedp.EvalAwaitPromise))
	if err != nil || !available {
		b.fatal("this Chromium offers no passkey autofill (available %v, err %v)", available, err)
	}
	// Signing out lands on the sign-in page, which signs in by itself.
	b.submit("sign out", `//header//form//button[normalize-space()="Sign out"]`, 200)
	deadline := time.Now().Add(10 * time.Second)
	for b.path() != "/account" {
		if time.Now().After(deadline) {
			b.fatal("the sign-in page did not sign in with the passkey's autofill")
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.expectHeading("Your account")
	b.expectText(email)
	b.noConsoleErrors()
}

// noConsoleErrors checks that the pages logged no error or warning, such
// as a script or data block the Content-Security-Policy refused.
func (b *browser) noConsoleErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.console) > 0 {
		b.t.Fatalf("the pages logged:\n  %s", strings.Join(b.console, "\n  "))
	}
}
