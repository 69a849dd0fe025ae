package web_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	vw "github.com/descope/virtualwebauthn"

	"twostep/internal/config"
	"twostep/internal/testenv"
)

// The pages of security keys and passkeys, without a browser: a software
// authenticator (virtualwebauthn) answers the options the pages carry, and
// the answers are posted as static/webauthn.js posts them. The browser's
// side is in internal/browsertest.

// pageKey is a software authenticator with one credential, answering as a
// browser on the site's origin.
type pageKey struct {
	rp   vw.RelyingParty
	auth vw.Authenticator
	cred vw.Credential
}

func (s *site) newPageKey(uv, synced bool) *pageKey {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			s.t.Fatal(err)
		}
		// virtualwebauthn writes coordinates with big.Int.Bytes, which
		// drops leading zeros: such a COSE key is rightly refused.
		if len(k.X.Bytes()) != 32 || len(k.Y.Bytes()) != 32 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			s.t.Fatal(err)
		}
		return &pageKey{
			rp:   vw.RelyingParty{ID: "localhost", Name: "twostep", Origin: s.srv.BaseURL()},
			auth: vw.NewAuthenticatorWithOptions(vw.AuthenticatorOptions{UserNotVerified: !uv, BackupEligible: synced, BackupState: synced}),
			cred: vw.NewCredentialWithImportedKey(vw.KeyTypeEC2, der),
		}
	}
}

func (k *pageKey) attest(t *testing.T, options string) string {
	t.Helper()
	o, err := vw.ParseAttestationOptions(options)
	if err != nil {
		t.Fatalf("creation options %s: %v", options, err)
	}
	k.auth.Options.UserHandle = []byte(o.UserID)
	return vw.CreateAttestationResponse(k.rp, k.auth, k.cred, *o)
}

func (k *pageKey) assert(t *testing.T, options string) string {
	t.Helper()
	o, err := vw.ParseAssertionOptions(options)
	if err != nil {
		t.Fatalf("request options %s: %v", options, err)
	}
	return vw.CreateAssertionResponse(k.rp, k.auth, k.cred, *o)
}

var (
	optionsBlock = regexp.MustCompile(`<script type="application/json" id="webauthn-options">([^<]*)</script>`)
	factorField  = regexp.MustCompile(`name="factor" value="([^"]+)"`)
)

// ceremonyOf is the options a page carries for the script; the page must
// load it, and mark the form it answers.
func ceremonyOf(t *testing.T, body, mode string) string {
	t.Helper()
	m := optionsBlock.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the page holds no ceremony options:\n%.1500s", body)
	}
	for _, want := range []string{`data-webauthn="` + mode + `"`, `<script src="/static/webauthn.js" defer></script>`, `name="credential" value=""`} {
		if !strings.Contains(body, want) {
			t.Fatalf("the page lacks %s", want)
		}
	}
	return m[1]
}

func TestSecurityKeyPages(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			s := stepSite(t, engine, nil)
			email := "keys-" + engine + "@example.com"
			s.signup(email)
			secret, appID := s.addMethods(email) // an app, "Phone", and recovery codes

			// Add a passkey from the wizard's backup step.
			key := s.newPageKey(true, true)
			st, _, body := s.do("POST", "/account/two-step/setup/key", url.Values{"passkey": {"1"}, "step": {"2"}})
			s.want(200, st, body, "Create a passkey", `value="Passkey"`)
			ceremonyOf(t, body, "create")
			// A form with no answer (JavaScript off) says so, and starts
			// again.
			st, _, body = s.do("POST", "/account/two-step/setup/key/confirm", url.Values{"factor": {factorField.FindStringSubmatch(body)[1]}, "step": {"2"}, "passkey": {"1"}, "credential": {""}, "label": {"Laptop"}})
			s.want(400, st, html.UnescapeString(body), "needs JavaScript", `value="Laptop"`)
			options := ceremonyOf(t, body, "create")
			st, loc, body := s.do("POST", "/account/two-step/setup/key/confirm", url.Values{"factor": {factorField.FindStringSubmatch(body)[1]}, "step": {"2"},
				"passkey": {"1"}, "credential": {key.attest(t, options)}, "label": {"Laptop"}})
			s.wantRedirect(st, loc, body, "/account/two-step/setup?step=3")
			st, loc, _ = s.do("POST", "/account/two-step/enable", url.Values{})
			if st != http.StatusSeeOther || !strings.Contains(loc, "two_step_on") {
				t.Fatalf("enable = %d %s", st, loc)
			}

			// The list says what it is and where it lives.
			st, _, body = s.do("GET", "/account/two-step", nil)
			s.want(200, st, html.UnescapeString(body), "Laptop", "Passkey · synced passkey · Backup", "Add a security key", "Add a passkey")
			var keyID string
			for _, m := range regexp.MustCompile(`<li id="m-([^"]+)">\s*<div class="what"><strong>([^<]+)</strong>`).FindAllStringSubmatch(body, -1) {
				if m[2] == "Laptop" {
					keyID = m[1]
				}
			}
			if keyID == "" {
				t.Fatalf("no method Laptop in the list:\n%.2000s", body)
			}

			// Later, a security key from the two-step page: "Confirm it's
			// you" first, then the key's page, then the list.
			s.clock.Advance(11 * time.Minute)
			st, loc, _ = s.do("POST", "/account/two-step/setup/key", url.Values{"step": {"0"}})
			st, _, body = s.confirmAt(loc, "add a security key", secret, appID)
			s.want(200, st, body, "Add a security key", `value="Security key"`)
			usb := s.newPageKey(false, false)
			st, loc, body = s.do("POST", "/account/two-step/setup/key/confirm", url.Values{"factor": {factorField.FindStringSubmatch(body)[1]}, "step": {"0"},
				"credential": {usb.attest(t, ceremonyOf(t, body, "create"))}, "label": {"Security key"}})
			if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/account/two-step?notice=key_added#m-") {
				t.Fatalf("adding a key = %d %q, want the two-step page saying so\n%.500s", st, loc, body)
			}
			st, _, body = s.do("GET", loc, nil)
			s.want(200, st, html.UnescapeString(body), "Your security key was added.", "Security key · this device only · Backup")

			// The sign-in page offers passkeys: a button (the script
			// shows it) and the e-mail field's autofill.
			s.do("POST", "/signout", url.Values{})
			st, _, body = s.do("GET", "/signin", nil)
			s.want(200, st, body, "Sign in with a passkey", `data-passkey hidden`, `autocomplete="username webauthn"`, "/static/webauthn.js")

			// The password, then the challenge offers the passkey.
			s.password(email, lockPassword)
			st, _, body = s.do("GET", "/signin/verify", nil)
			s.want(200, st, body, `href="/signin/verify?method=`+keyID+`">Use your passkey (Laptop)</a>`)
			if strings.Contains(body, "webauthn") {
				t.Fatalf("the app's challenge carries the key's ceremony or script")
			}
			st, _, body = s.do("GET", "/signin/verify?method="+keyID, nil)
			s.want(200, st, html.UnescapeString(body), "Use your passkey (Laptop): press “Use your passkey”", ">Use your passkey</button>", "Try another way", "/signin/verify?method="+appID)
			options = ceremonyOf(t, body, "get")
			// No answer (JavaScript off): said, and no try spent.
			st, _, body = s.do("POST", "/signin/verify", url.Values{"method_id": {keyID}, "credential": {""}})
			s.want(400, st, html.UnescapeString(body), "needs JavaScript")
			if strings.Contains(body, "tries left") || strings.Contains(body, "try left") {
				t.Fatalf("a form without an answer spent a try:\n%.1500s", body)
			}
			// A wrong answer (another key) is a wrong code: a try spent.
			st, _, body = s.do("POST", "/signin/verify", url.Values{"method_id": {keyID}, "credential": {s.newPageKey(true, true).assert(t, options)}})
			s.want(401, st, html.UnescapeString(body), "did not sign in", "4 tries left")
			options = ceremonyOf(t, body, "get")
			st, loc, body = s.do("POST", "/signin/verify", url.Values{"method_id": {keyID}, "credential": {key.assert(t, options)}})
			s.wantRedirect(st, loc, body, "/account")

			// "Confirm it's you" with the passkey.
			st, _, body = s.do("GET", "/account/confirm?next=/account/two-step&method="+keyID, nil)
			s.want(200, st, html.UnescapeString(body), "Use your passkey (Laptop)")
			options = ceremonyOf(t, body, "get")
			st, loc, body = s.do("POST", "/account/confirm", url.Values{"next": {"/account/two-step"}, "method_id": {keyID}, "credential": {key.assert(t, options)}})
			s.wantRedirect(st, loc, body, "/account/two-step")

			// Signed out, the passkey signs in alone: two steps, as it
			// verified the person.
			s.do("POST", "/signout", url.Values{})
			st, begin := s.api("POST", "/signin/passkey/begin", nil)
			if st != 200 || begin["publicKey"] == nil {
				t.Fatalf("begin = %d %v", st, begin)
			}
			st, loc, body = s.do("POST", "/signin/passkey", url.Values{"credential": {key.assert(t, jsonOf(t, begin["publicKey"]))}})
			s.wantRedirect(st, loc, body, "/account")
			if st, me := s.api("GET", "/api/v1/me", nil); st != 200 {
				t.Fatalf("/me after the passkey = %d %v", st, me)
			}

			// A passkey sign-in with a used ceremony shows the page again.
			s.do("POST", "/signout", url.Values{})
			st, _, body = s.do("POST", "/signin/passkey", url.Values{"credential": {key.assert(t, jsonOf(t, begin["publicKey"]))}})
			s.want(401, st, html.UnescapeString(body), "Sign in", "did not sign in")
		})
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPasskeysSwitchedOffPages: two_step.passkeys false takes the passkey
// button, the autofill and the script off the sign-in page.
func TestPasskeysSwitchedOffPages(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			s := stepSite(t, engine, func(c *config.Config) { c.TwoStep.Passkeys = false })
			st, _, body := s.do("GET", "/signin", nil)
			s.want(200, st, body, `autocomplete="username"`)
			for _, gone := range []string{"passkey", "webauthn"} {
				if strings.Contains(strings.ToLower(body), gone) {
					t.Fatalf("the sign-in page mentions %q with passkeys off:\n%.2000s", gone, body)
				}
			}
			st, doc := s.api("POST", "/signin/passkey/begin", nil)
			if st != http.StatusForbidden || !strings.Contains(doc["message"].(string), "switched off") {
				t.Fatalf("begin with passkeys off = %d %v", st, doc)
			}
		})
	}
}
