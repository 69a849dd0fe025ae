package api_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	vw "github.com/descope/virtualwebauthn"

	"twostep/internal/app"
	"twostep/internal/testenv"
)

// vkey is a software authenticator holding one credential, answering as
// a browser at origin would.
type vkey struct {
	rp   vw.RelyingParty
	auth vw.Authenticator
	cred vw.Credential
}

// newKey is a key used from the server's own origin; uv: it verifies the
// person (PIN, biometrics); synced: a passkey in a cloud keychain.
func (e *env) newKey(uv, synced bool) *vkey {
	return &vkey{
		rp:   vw.RelyingParty{ID: "localhost", Name: "twostep", Origin: e.srv.BaseURL()},
		auth: vw.NewAuthenticatorWithOptions(vw.AuthenticatorOptions{UserNotVerified: !uv, BackupEligible: synced, BackupState: synced}),
		cred: newCredential(),
	}
}

// newCredential is a P-256 credential whose coordinates are both 32
// bytes: virtualwebauthn writes them with big.Int.Bytes, which drops
// leading zeros (1 key in 64), and such a COSE key is rightly refused.
func newCredential() vw.Credential {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		if len(k.X.Bytes()) != 32 || len(k.Y.Bytes()) != 32 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		return vw.NewCredentialWithImportedKey(vw.KeyTypeEC2, der)
	}
}

func options(t testing.TB, r reply) string {
	t.Helper()
	b, err := json.Marshal(r.JSON["publicKey"])
	if err != nil || r.JSON["publicKey"] == nil {
		t.Fatalf("no publicKey in %s", r.Body)
	}
	return string(b)
}

// attest answers creation options.
func (k *vkey) attest(t testing.TB, publicKey string) json.RawMessage {
	t.Helper()
	o, err := vw.ParseAttestationOptions(publicKey)
	if err != nil {
		t.Fatalf("creation options %s: %v", publicKey, err)
	}
	k.auth.Options.UserHandle = []byte(o.UserID)
	return json.RawMessage(vw.CreateAttestationResponse(k.rp, k.auth, k.cred, *o))
}

// assert answers request options.
func (k *vkey) assert(t testing.TB, publicKey string) json.RawMessage {
	t.Helper()
	o, err := vw.ParseAssertionOptions(publicKey)
	if err != nil {
		t.Fatalf("request options %s: %v", publicKey, err)
	}
	return json.RawMessage(vw.CreateAssertionResponse(k.rp, k.auth, k.cred, *o))
}

// addKey adds k to the signed-in client c and returns the factor.
func (e *env) addKey(c *http.Client, k *vkey, label string, passkey bool) map[string]any {
	e.t.Helper()
	r := e.call(c, "POST", "/api/v1/factors/webauthn", map[string]any{"label": label, "passkey": passkey})
	e.want(r, http.StatusCreated, "")
	f := r.JSON["factor"].(map[string]any)
	if f["kind"] != "webauthn" || f["status"] != "pending" {
		e.t.Fatalf("factor = %v, want a pending webauthn", f)
	}
	pk := r.JSON["publicKey"].(map[string]any)
	sel := pk["authenticatorSelection"].(map[string]any)
	if pk["attestation"] != "none" || (passkey && (sel["residentKey"] != "required" || sel["userVerification"] != "required")) {
		e.t.Fatalf("creation options = %s", r.Body)
	}
	conf := e.call(c, "POST", "/api/v1/factors/"+f["id"].(string)+"/confirm", map[string]any{"credential": k.attest(e.t, options(e.t, r))})
	e.want(conf, http.StatusOK, "")
	f = conf.JSON["factor"].(map[string]any)
	if f["status"] != "active" || f["passkey"] != passkey {
		e.t.Fatalf("confirmed factor = %s", conf.Body)
	}
	return f
}

// keyAccount is an account with two-step verification on, a key as its
// primary method and recovery codes.
type keyAccount struct {
	client   *http.Client
	email    string
	key      *vkey
	keyID    string
	recID    string
	recovery []string
}

func (e *env) enrollKey(email string, passkey, synced bool) keyAccount {
	e.t.Helper()
	c := e.signup(email)
	k := e.newKey(passkey, synced)
	f := e.addKey(c, k, "Blue key", passkey)
	rc := e.call(c, "POST", "/api/v1/factors/recovery-codes", nil)
	e.want(rc, 201, "")
	a := keyAccount{client: c, email: email, key: k, keyID: f["id"].(string), recID: rc.JSON["factor"].(map[string]any)["id"].(string)}
	for _, x := range rc.JSON["codes"].([]any) {
		a.recovery = append(a.recovery, x.(string))
	}
	e.want(e.call(c, "POST", "/api/v1/two-step/enable", nil), 200, "")
	return a
}

// keySignIn signs in with the password on a new client, then with the key.
func (e *env) keySignIn(a keyAccount, k *vkey) (*http.Client, reply) {
	e.t.Helper()
	b := e.srv.Client()
	r := e.password(b, a.email)
	if r.str("status") != "second_factor_required" {
		e.t.Fatalf("sign-in = %s, want second_factor_required", r.Body)
	}
	send := e.call(b, "POST", "/api/v1/signin/send", map[string]any{"method_id": a.keyID})
	e.want(send, http.StatusOK, "")
	return b, e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": a.keyID, "credential": k.assert(e.t, options(e.t, send))})
}

func TestSecurityKeySecondStep(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		a := e.enrollKey("key@example.com", false, false)
		me := e.call(a.client, "GET", "/api/v1/me", nil)
		if !strings.Contains(string(me.Body), `"kind":"webauthn"`) || !strings.Contains(string(me.Body), `"passkey":false,"backed_up":false`) {
			t.Fatalf("/me = %s, want the key with passkey and backed_up false", me.Body)
		}
		b, r := e.keySignIn(a, a.key)
		e.want(r, 200, "")
		e.wantAMR(b, "pwd", "hwk", "mfa")

		// The same answer again, on a new pending sign-in: its challenge is
		// used, so it proves nothing.
		c := e.srv.Client()
		e.password(c, a.email)
		send := e.call(c, "POST", "/api/v1/signin/send", map[string]any{"method_id": a.keyID})
		answer := a.key.assert(t, options(t, send))
		e.want(e.call(c, "POST", "/api/v1/signin/verify", map[string]any{"method_id": a.keyID, "credential": answer}), 200, "")
		d := e.srv.Client()
		e.password(d, a.email)
		e.want(e.call(d, "POST", "/api/v1/signin/send", map[string]any{"method_id": a.keyID}), 200, "")
		replay := e.call(d, "POST", "/api/v1/signin/verify", map[string]any{"method_id": a.keyID, "credential": answer})
		e.want(replay, 401, "invalid_credential")
		if replay.JSON["attempts_left"] != float64(4) {
			t.Fatalf("replay: attempts_left = %v, want 4 (counted like a wrong code)", replay.JSON["attempts_left"])
		}

		// A phishing site relaying the ceremony: the browser signs its own
		// origin into the answer, and it is refused.
		phish := *a.key
		phish.rp.Origin = "https://login.examp1e.com"
		_, r = e.keySignIn(a, &phish)
		e.want(r, 401, "invalid_credential")
		// A key for another relying party (its rpIdHash) is refused too.
		other := *a.key
		other.rp.ID = "examp1e.com"
		_, r = e.keySignIn(a, &other)
		e.want(r, 401, "invalid_credential")
		// No user presence: refused.
		absent := *a.key
		absent.auth.Options.UserNotPresent = true
		_, r = e.keySignIn(a, &absent)
		e.want(r, 401, "invalid_credential")
		// Another key than the account's: refused.
		_, r = e.keySignIn(a, e.newKey(false, false))
		e.want(r, 401, "invalid_credential")

		events := string(e.call(b, "GET", "/api/v1/events", nil).Body)
		if !strings.Contains(events, `"kind":"second_factor","outcome":"failure"`) {
			t.Fatalf("failed assertions not recorded as second-factor failures: %s", events)
		}
	})
}

func TestSecurityKeyRegistrationChecks(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		c := e.signup("reg@example.com")
		// A phishing origin's attestation.
		k := e.newKey(false, false)
		r := e.call(c, "POST", "/api/v1/factors/webauthn", map[string]any{})
		e.want(r, 201, "")
		id := r.JSON["factor"].(map[string]any)["id"].(string)
		phish := *k
		phish.rp.Origin = "http://evil.localhost:1"
		e.want(e.call(c, "POST", "/api/v1/factors/"+id+"/confirm", map[string]any{"credential": phish.attest(t, options(t, r))}), 400, "invalid_credential")
		// The ceremony is used up: even the right answer now needs a new one.
		e.want(e.call(c, "POST", "/api/v1/factors/"+id+"/confirm", map[string]any{"credential": k.attest(t, options(t, r))}), 400, "invalid_credential")
		// A passkey must verify the person.
		r = e.call(c, "POST", "/api/v1/factors/webauthn", map[string]any{"passkey": true})
		e.want(r, 201, "")
		e.want(e.call(c, "POST", "/api/v1/factors/"+r.JSON["factor"].(map[string]any)["id"].(string)+"/confirm",
			map[string]any{"credential": k.attest(t, options(t, r))}), 400, "invalid_credential")
		// Several keys per person; a credential id belongs to one account.
		e.addKey(c, k, "Key one", false)
		e.addKey(c, e.newKey(true, true), "Phone passkey", true)
		list := string(e.call(c, "GET", "/api/v1/factors", nil).Body)
		if !strings.Contains(list, `"label":"Key one","role":"primary","status":"active","created_at":"`) ||
			!strings.Contains(list, `"passkey":false,"backed_up":false`) || !strings.Contains(list, `"passkey":true,"backed_up":true`) {
			t.Fatalf("factors = %s, want two active keys, one a synced passkey", list)
		}
		other := e.signup("other@example.com")
		r = e.call(other, "POST", "/api/v1/factors/webauthn", map[string]any{})
		e.want(r, 201, "")
		e.want(e.call(other, "POST", "/api/v1/factors/"+r.JSON["factor"].(map[string]any)["id"].(string)+"/confirm",
			map[string]any{"credential": k.attest(t, options(t, r))}), 400, "invalid_credential")
		// A malformed credential is refused the same way.
		r = e.call(c, "POST", "/api/v1/factors/webauthn", map[string]any{})
		e.want(e.call(c, "POST", "/api/v1/factors/"+r.JSON["factor"].(map[string]any)["id"].(string)+"/confirm",
			map[string]any{"credential": map[string]any{"id": "x", "type": "public-key"}}), 400, "invalid_credential")
	})
}

func TestPasskeySignIn(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		a := e.enrollKey("passkey@example.com", true, true)
		begin := func(c *http.Client) string {
			r := e.call(c, "POST", "/api/v1/signin/passkey/begin", nil)
			e.want(r, 200, "")
			if !strings.Contains(string(r.Body), `"allowCredentials":[]`) {
				t.Fatalf("passkey options = %s, want an empty allowCredentials", r.Body)
			}
			return options(t, r)
		}
		// User-verified: two steps at once.
		c := e.srv.Client()
		r := e.call(c, "POST", "/api/v1/signin/passkey/finish", map[string]any{"credential": a.key.assert(t, begin(c))})
		e.want(r, 200, "")
		if r.str("status") != "signed_in" {
			t.Fatalf("finish = %s", r.Body)
		}
		e.wantAMR(c, "swk", "user", "mfa")
		me := e.call(c, "GET", "/api/v1/me", nil)
		if me.JSON["session"].(map[string]any)["aal"] != float64(2) {
			t.Fatalf("/me = %s, want aal 2", me.Body)
		}
		// Replayed: the ceremony is used.
		d := e.srv.Client()
		answer := a.key.assert(t, begin(d))
		e.want(e.call(d, "POST", "/api/v1/signin/passkey/finish", map[string]any{"credential": answer}), 200, "")
		x := e.srv.Client()
		begin(x)
		e.want(e.call(x, "POST", "/api/v1/signin/passkey/finish", map[string]any{"credential": answer}), 401, "invalid_credential")
		// Another browser's ceremony (no cookie): refused.
		y := e.srv.Client()
		e.want(e.call(y, "POST", "/api/v1/signin/passkey/finish", map[string]any{"credential": a.key.assert(t, begin(d))}), 401, "invalid_credential")
		// Unknown passkey: the same answer as a wrong one.
		stranger := e.newKey(true, false)
		stranger.auth.Options.UserHandle = []byte("someone")
		e.want(e.call(x, "POST", "/api/v1/signin/passkey/finish", map[string]any{"credential": stranger.assert(t, begin(x))}), 401, "invalid_credential")

		// Without user verification: one step, then the second as usual.
		noUV := *a.key
		noUV.auth.Options.UserNotVerified = true
		z := e.srv.Client()
		r = e.call(z, "POST", "/api/v1/signin/passkey/finish", map[string]any{"credential": noUV.assert(t, begin(z))})
		e.want(r, 200, "")
		if r.str("status") != "second_factor_required" {
			t.Fatalf("finish without UV = %s, want second_factor_required", r.Body)
		}
		e.want(e.call(z, "GET", "/api/v1/me", nil), 401, "unauthenticated")
		e.want(e.call(z, "POST", "/api/v1/signin/verify", map[string]any{"method_id": a.recID, "code": a.recovery[0]}), 200, "")
		e.wantAMR(z, "swk", "otp", "mfa")
	})
}

func TestPasskeysSwitchedOff(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			clock := testenv.NewClock()
			cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
			cfg.TwoStep.Passkeys = false
			e := &env{t: t, srv: testenv.Start(t, cfg, app.Options{Now: clock.Now}), clock: clock}
			a := e.enrollKey("off@example.com", true, false)
			c := e.srv.Client()
			e.want(e.call(c, "POST", "/api/v1/signin/passkey/begin", nil), 403, "passkeys_disabled")
			e.want(e.call(c, "POST", "/api/v1/signin/passkey/finish", map[string]any{"credential": map[string]any{}}), 403, "passkeys_disabled")
			// The passkey still works as a second step.
			b, r := e.keySignIn(a, a.key)
			e.want(r, 200, "")
			e.wantAMR(b, "pwd", "hwk", "mfa")
		})
	}
}

func TestSecurityKeyStepUpAndRemoval(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		a := e.enrollKey("stepup@example.com", false, false)
		b, r := e.keySignIn(a, a.key)
		e.want(r, 200, "")
		e.advance(11 * time.Minute)
		e.want(e.call(b, "DELETE", "/api/v1/factors/"+a.keyID, nil), 403, "step_up_required")
		send := e.call(b, "POST", "/api/v1/stepup/send", map[string]any{"method_id": a.keyID})
		e.want(send, 200, "")
		// The options of this session's step-up are not another session's.
		e.want(e.call(a.client, "POST", "/api/v1/stepup/verify", map[string]any{"method_id": a.keyID, "credential": a.key.assert(t, options(t, send))}), 401, "invalid_credential")
		send = e.call(b, "POST", "/api/v1/stepup/send", map[string]any{"method_id": a.keyID})
		e.want(e.call(b, "POST", "/api/v1/stepup/verify", map[string]any{"method_id": a.keyID, "credential": a.key.assert(t, options(t, send))}), 200, "")
		// The last method that can sign in stays: recovery codes alone are
		// not a method to keep.
		e.want(e.call(b, "DELETE", "/api/v1/factors/"+a.keyID, nil), 409, "last_factor")
		second := e.addKey(b, e.newKey(false, false), "Spare key", false)
		if second["role"] != "backup" {
			t.Fatalf("second key's role = %v, want backup", second["role"])
		}
		r = e.call(b, "DELETE", "/api/v1/factors/"+a.keyID, nil)
		e.want(r, 204, "")
		found := false
		for _, m := range e.outbox(a.email) {
			found = found || strings.Contains(m.Body, "Blue key was removed")
		}
		if !found {
			t.Fatal("no e-mail saying the key was removed")
		}
		c := e.srv.Client()
		e.password(c, a.email)
		e.want(e.call(c, "POST", "/api/v1/signin/send", map[string]any{"method_id": a.keyID}), 404, "not_found")
	})
}

func TestSecurityKeyCounterRegression(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		a := e.enrollKey("clone@example.com", false, false)
		a.key.cred.Counter = 5
		_, r := e.keySignIn(a, a.key)
		e.want(r, 200, "")
		// A copy of the key, whose counter is behind: the key is marked.
		clone := *a.key
		clone.cred.Counter = 3
		_, r = e.keySignIn(a, &clone)
		e.want(r, 403, "key_suspected_cloned")
		// Refused from now on, even with a counter ahead, until re-added.
		a.key.cred.Counter = 10
		_, r = e.keySignIn(a, a.key)
		e.want(r, 403, "key_suspected_cloned")
		mails := 0
		for _, m := range e.outbox(a.email) {
			if strings.Contains(m.Subject, "may have been copied") {
				mails++
			}
		}
		if mails != 1 {
			t.Fatalf("%d e-mails about the copied key, want 1", mails)
		}
		// The owner signs in another way and re-adds the key.
		b := e.srv.Client()
		e.password(b, a.email)
		e.want(e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": a.recID, "code": a.recovery[0]}), 200, "")
		events := string(e.call(b, "GET", "/api/v1/events", nil).Body)
		if !strings.Contains(events, `"kind":"key_cloned"`) {
			t.Fatalf("no key_cloned event: %s", events)
		}
		spare := e.addKey(b, e.newKey(false, false), "Spare", false)
		e.want(e.call(b, "DELETE", "/api/v1/factors/"+a.keyID, nil), 204, "")
		readd := e.addKey(b, a.key, "Blue key again", false)
		e.want(e.call(b, "DELETE", "/api/v1/factors/"+spare["id"].(string), nil), 204, "")
		a.keyID = readd["id"].(string)
		a.key.cred.Counter = 11
		_, r = e.keySignIn(a, a.key)
		e.want(r, 200, "")
	})
}

func TestSecurityKeyBudget(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		a := e.enrollKey("budget@example.com", false, false)
		thief := *a.key
		thief.cred = newCredential() // not the account's key
		b := e.srv.Client()
		e.password(b, a.email)
		for left := 4; left >= 0; left-- {
			send := e.call(b, "POST", "/api/v1/signin/send", map[string]any{"method_id": a.keyID})
			e.want(send, 200, "")
			r := e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": a.keyID, "credential": thief.assert(t, options(t, send))})
			e.want(r, 401, "invalid_credential")
			if r.JSON["attempts_left"] != float64(left) {
				t.Fatalf("attempts_left = %v, want %d", r.JSON["attempts_left"], left)
			}
		}
		e.want(e.call(b, "POST", "/api/v1/signin/send", map[string]any{"method_id": a.keyID}), 401, "signin_expired")
		// The account's budget of wrong codes (10 an hour) is shared with
		// codes: five more wrong answers spend it, and then even the right
		// key is refused on a browser that never passed a second step.
		e.password(b, a.email)
		for range 5 {
			send := e.call(b, "POST", "/api/v1/signin/send", map[string]any{"method_id": a.keyID})
			e.want(e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": a.keyID, "credential": thief.assert(t, options(t, send))}), 401, "invalid_credential")
			if send.Status != 200 {
				t.Fatalf("send = %s", send.Body)
			}
			e.password(b, a.email)
		}
		send := e.call(b, "POST", "/api/v1/signin/send", map[string]any{"method_id": a.keyID})
		e.want(e.call(b, "POST", "/api/v1/signin/verify", map[string]any{"method_id": a.keyID, "credential": a.key.assert(t, options(t, send))}), 429, "rate_limited")
	})
}
