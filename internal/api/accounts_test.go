package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
)

func TestHealth(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		c := e.srv.Client()
		e.want(e.call(c, "GET", "/healthz", nil), 200, "")
		e.want(e.call(c, "GET", "/readyz", nil), 200, "")
		e.srv.App.DB.Close()
		r := e.call(c, "GET", "/readyz", nil)
		e.want(r, http.StatusServiceUnavailable, "not_ready")
		e.want(e.call(c, "GET", "/healthz", nil), 200, "")
	})
}

func TestSignUpSignOutSignIn(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		c := e.srv.Client()
		r := e.call(c, "POST", "/api/v1/signup", map[string]string{"email": "  Ann@Example.COM ", "password": goodPassword})
		e.want(r, http.StatusCreated, "")
		user := r.JSON["user"].(map[string]any)
		if user["email"] != "ann@example.com" || user["id"] == "" {
			t.Fatalf("user = %v, want email ann@example.com and an id", user)
		}
		ck := cookieNamed(c, e.srv.BaseURL(), "twostep_session")
		if ck == nil || len(ck.Value) != 43 {
			t.Fatalf("session cookie = %v, want a 43-character token", ck)
		}
		setCookie := strings.Join(r.Header.Values("Set-Cookie"), "\n")
		if !strings.Contains(setCookie, "HttpOnly") || !strings.Contains(setCookie, "SameSite=Lax") {
			t.Fatalf("Set-Cookie = %q, want HttpOnly and SameSite=Lax", setCookie)
		}
		// Only the SHA-256 of the token is stored.
		var n int
		if err := rawDB(t, e).QueryRow("SELECT COUNT(*) FROM sessions WHERE token_hash = '" + ck.Value + "'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("raw token found in the database (n=%d, err=%v)", n, err)
		}

		me := e.call(c, "GET", "/api/v1/me", nil)
		e.want(me, 200, "")
		sess := me.JSON["session"].(map[string]any)
		if sess["aal"] != float64(1) {
			t.Fatalf("session.aal = %v, want 1", sess["aal"])
		}
		e.wantAMR(c, "pwd")
		if ts := me.JSON["two_step"].(map[string]any); ts["enabled"] != false {
			t.Fatalf("two_step = %v, want enabled false", ts)
		}

		// The verification link arrives and works once.
		token := e.tokenFrom("ann@example.com", "Confirm your e-mail")
		e.want(e.call(c, "POST", "/api/v1/email/verify", map[string]string{"token": token}), 200, "")
		if !e.call(c, "GET", "/api/v1/me", nil).JSON["user"].(map[string]any)["email_verified"].(bool) {
			t.Fatal("e-mail not verified after using the link")
		}
		e.want(e.call(c, "POST", "/api/v1/email/verify", map[string]string{"token": token}), 400, "invalid_token")

		e.want(e.call(c, "POST", "/api/v1/signout", nil), http.StatusNoContent, "")
		e.want(e.call(c, "GET", "/api/v1/me", nil), 401, "unauthenticated")
		// The old token is dead even if replayed.
		replay := e.srv.Client()
		replay.Jar.SetCookies(mustURL(e.srv.BaseURL()), []*http.Cookie{{Name: "twostep_session", Value: ck.Value}})
		e.want(e.call(replay, "GET", "/api/v1/me", nil), 401, "unauthenticated")

		r = e.call(c, "POST", "/api/v1/signin", map[string]string{"email": "ann@example.com", "password": goodPassword})
		e.want(r, 200, "")
		if r.str("status") != "signed_in" {
			t.Fatalf("status = %q, want signed_in", r.str("status"))
		}
		ck2 := cookieNamed(c, e.srv.BaseURL(), "twostep_session")
		if ck2 == nil || ck2.Value == ck.Value {
			t.Fatal("sign-in did not issue a new session token")
		}
		e.want(e.call(c, "GET", "/api/v1/me", nil), 200, "")
		e.wantAMR(c, "pwd")
	})
}

func TestSignInNeverReusesAPlantedSession(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.signup("fix@example.com")
		c := e.srv.Client()
		planted := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		c.Jar.SetCookies(mustURL(e.srv.BaseURL()), []*http.Cookie{{Name: "twostep_session", Value: planted}})
		e.want(e.call(c, "POST", "/api/v1/signin", map[string]string{"email": "fix@example.com", "password": goodPassword}), 200, "")
		if ck := cookieNamed(c, e.srv.BaseURL(), "twostep_session"); ck == nil || ck.Value == planted {
			t.Fatalf("session cookie after sign-in = %v, want a fresh token", ck)
		}
	})
}

func TestSignUpRefusals(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.signup("taken@example.com")
		c := e.srv.Client()
		cases := []struct {
			name, email, password, code, detail string
			status                              int
		}{
			{"taken", "TAKEN@example.com", goodPassword, "email_taken", "already exists", 409},
			{"common", "new1@example.com", "password123", "weak_password", "common", 400},
			{"short", "new2@example.com", "shørt", "weak_password", "at least 8", 400},
			{"is the e-mail", "new3@example.com", "new3@example.com", "weak_password", "e-mail", 400},
			{"too long", "new4@example.com", strings.Repeat("é", 1025), "weak_password", "too long", 400},
			{"not an e-mail", "not-an-email", goodPassword, "invalid_email", "not an e-mail", 400},
			{"display name", "Ann <ann@example.com>", goodPassword, "invalid_email", "", 400},
			{"empty e-mail", "", goodPassword, "invalid_email", "", 400},
			{"overlong e-mail", strings.Repeat("a", 250) + "@example.com", goodPassword, "invalid_email", "too long", 400},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.call(c, "POST", "/api/v1/signup", map[string]string{"email": tc.email, "password": tc.password})
				e.want(r, tc.status, tc.code)
				if !strings.Contains(r.str("detail"), tc.detail) {
					t.Fatalf("detail = %q, want it to mention %q", r.str("detail"), tc.detail)
				}
			})
		}
		// 1024 characters of two bytes each is fine: characters, not bytes.
		e.want(e.call(c, "POST", "/api/v1/signup", map[string]string{"email": "long@example.com", "password": strings.Repeat("é", 1000) + "x1"}), 201, "")
		if n := countRows(t, e, "users"); n != 2 {
			t.Fatalf("users = %d, want 2 (refused sign-ups must create nothing)", n)
		}
	})
}

func TestUnicodePasswordsMatchAcrossNormalForms(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		nfc := norm.NFC.String("passwôrd ünïcode")
		nfd := norm.NFD.String("passwôrd ünïcode")
		if nfc == nfd {
			t.Fatal("test needs two spellings")
		}
		c := e.srv.Client()
		e.want(e.call(c, "POST", "/api/v1/signup", map[string]string{"email": "u@example.com", "password": nfc}), 201, "")
		e.want(e.call(e.srv.Client(), "POST", "/api/v1/signin", map[string]string{"email": "u@example.com", "password": nfd}), 200, "")
		e.want(e.call(e.srv.Client(), "POST", "/api/v1/signin", map[string]string{"email": "u@example.com", "password": "password ünïcode"}), 401, "invalid_credentials")
	})
}

func TestUnknownEmailAndWrongPasswordLookAlike(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		e.signup("known@example.com")
		wrong := e.call(e.srv.Client(), "POST", "/api/v1/signin", map[string]string{"email": "known@example.com", "password": "not the password"})
		unknown := e.call(e.srv.Client(), "POST", "/api/v1/signin", map[string]string{"email": "nobody@example.com", "password": "not the password"})
		e.want(wrong, 401, "invalid_credentials")
		e.want(unknown, 401, "invalid_credentials")
		if string(wrong.Body) != string(unknown.Body) {
			t.Fatalf("bodies differ:\n%s\n%s", wrong.Body, unknown.Body)
		}
	})
}

// TestPasswordGuessingCannotLockOutTheOwner: an attacker's wrong guesses
// throttle the account with growing delays, but the owner's browser, which
// signed in before, keeps its own counter and gets in.
func TestPasswordGuessingCannotLockOutTheOwner(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		owner := e.signup("owner@example.com")
		attacker := e.srv.Client()
		guess := map[string]string{"email": "owner@example.com", "password": "guess guess guess"}
		for i := 0; i < 5; i++ { // free failures
			e.want(e.call(attacker, "POST", "/api/v1/signin", guess), 401, "invalid_credentials")
		}
		e.want(e.call(attacker, "POST", "/api/v1/signin", guess), 401, "invalid_credentials") // sets a 1 s delay
		r := e.call(attacker, "POST", "/api/v1/signin", guess)
		e.want(r, 429, "rate_limited")
		if r.JSON["retry_after_s"] != float64(1) || r.Header.Get("Retry-After") != "1" {
			t.Fatalf("retry_after_s = %v, Retry-After = %q; want 1 and \"1\"", r.JSON["retry_after_s"], r.Header.Get("Retry-After"))
		}
		// Even the right password from an unknown browser waits.
		right := map[string]string{"email": "owner@example.com", "password": goodPassword}
		e.want(e.call(e.srv.Client(), "POST", "/api/v1/signin", right), 429, "rate_limited")
		// The owner's browser is judged by its own counter.
		e.want(e.call(owner, "POST", "/api/v1/signin", right), 200, "")

		// Delays grow: 1 s, 2 s, 4 s …
		for want := 2; want <= 8; want *= 2 {
			e.advance(time.Duration(want/2) * time.Second)
			e.want(e.call(attacker, "POST", "/api/v1/signin", guess), 401, "invalid_credentials")
			r := e.call(attacker, "POST", "/api/v1/signin", guess)
			e.want(r, 429, "rate_limited")
			if got := r.Header.Get("Retry-After"); got != strconv.Itoa(want) {
				t.Fatalf("Retry-After = %s, want %d", got, want)
			}
		}
		// Unknown accounts are throttled the same way: no enumeration.
		ghost := map[string]string{"email": "ghost@example.com", "password": "guess guess guess"}
		for i := 0; i < 6; i++ {
			e.want(e.call(attacker, "POST", "/api/v1/signin", ghost), 401, "invalid_credentials")
		}
		e.want(e.call(attacker, "POST", "/api/v1/signin", ghost), 429, "rate_limited")

		// Every failure is a security event of the account.
		events := e.call(owner, "GET", "/api/v1/events", nil)
		e.want(events, 200, "")
		if !strings.Contains(string(events.Body), `"outcome":"failure"`) || !strings.Contains(string(events.Body), `"outcome":"throttled"`) {
			t.Fatalf("events lack failure/throttled: %s", events.Body)
		}
	})
}

func TestChangePassword(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		c := e.signup("chg@example.com")
		other := e.srv.Client()
		e.want(e.call(other, "POST", "/api/v1/signin", map[string]string{"email": "chg@example.com", "password": goodPassword}), 200, "")

		r := e.call(c, "POST", "/api/v1/password", map[string]string{"current_password": "wrong wrong wrong", "new_password": "a brand new passphrase"})
		e.want(r, 403, "wrong_password")
		r = e.call(c, "POST", "/api/v1/password", map[string]string{"current_password": goodPassword, "new_password": "qwerty123"})
		e.want(r, 400, "weak_password")
		if r.str("field") != "new_password" {
			t.Fatalf("field = %q, want new_password", r.str("field"))
		}
		e.want(e.call(other, "GET", "/api/v1/me", nil), 200, "") // refused changes end nothing

		e.want(e.call(c, "POST", "/api/v1/password", map[string]string{"current_password": goodPassword, "new_password": "a brand new passphrase"}), 200, "")
		e.want(e.call(c, "GET", "/api/v1/me", nil), 200, "")
		e.want(e.call(other, "GET", "/api/v1/me", nil), 401, "unauthenticated")
		e.want(e.call(e.srv.Client(), "POST", "/api/v1/signin", map[string]string{"email": "chg@example.com", "password": goodPassword}), 401, "invalid_credentials")
		e.want(e.call(e.srv.Client(), "POST", "/api/v1/signin", map[string]string{"email": "chg@example.com", "password": "a brand new passphrase"}), 200, "")
		e.tokenFrom("chg@example.com", "password was changed")
		e.want(e.call(e.srv.Client(), "POST", "/api/v1/password", map[string]string{"current_password": "x", "new_password": "y"}), 401, "unauthenticated")
	})
}

func TestPasswordReset(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		c := e.signup("reset@example.com")
		anon := e.srv.Client()
		known := e.call(anon, "POST", "/api/v1/password/reset", map[string]string{"email": "reset@example.com"})
		unknown := e.call(anon, "POST", "/api/v1/password/reset", map[string]string{"email": "nobody@example.com"})
		e.want(known, 202, "")
		e.want(unknown, 202, "")
		if string(known.Body) != string(unknown.Body) {
			t.Fatalf("reset answers differ:\n%s\n%s", known.Body, unknown.Body)
		}
		if n := len(e.outbox("nobody@example.com")); n != 0 {
			t.Fatalf("%d messages to an unknown address, want 0", n)
		}
		token := e.tokenFrom("reset@example.com", "Reset your")

		// A refused password does not use the link up.
		e.want(e.call(anon, "POST", "/api/v1/password/reset/confirm", map[string]string{"token": token, "new_password": "12345678"}), 400, "weak_password")
		e.want(e.call(anon, "POST", "/api/v1/password/reset/confirm", map[string]string{"token": "forged", "new_password": "reset to something new"}), 400, "invalid_token")
		e.want(e.call(anon, "POST", "/api/v1/password/reset/confirm", map[string]string{"token": token, "new_password": "reset to something new"}), 200, "")
		e.want(e.call(anon, "POST", "/api/v1/password/reset/confirm", map[string]string{"token": token, "new_password": "reset to something else"}), 400, "invalid_token")
		e.want(e.call(c, "GET", "/api/v1/me", nil), 401, "unauthenticated") // every session ended
		e.want(e.call(anon, "POST", "/api/v1/signin", map[string]string{"email": "reset@example.com", "password": "reset to something new"}), 200, "")

		// Links expire after an hour.
		e.want(e.call(anon, "POST", "/api/v1/password/reset", map[string]string{"email": "reset@example.com"}), 202, "")
		late := e.tokenFrom("reset@example.com", "Reset your")
		e.advance(61 * time.Minute)
		e.want(e.call(anon, "POST", "/api/v1/password/reset/confirm", map[string]string{"token": late, "new_password": "too late for this one"}), 400, "invalid_token")

		e.want(e.call(anon, "POST", "/api/v1/password/reset", map[string]string{"email": "bad address"}), 400, "invalid_email")
	})
}

func TestSessionsAndEvents(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		a := e.signup("multi@example.com")
		b := e.srv.Client()
		e.want(e.call(b, "POST", "/api/v1/signin", map[string]string{"email": "multi@example.com", "password": goodPassword}), 200, "")
		third := e.srv.Client()
		e.want(e.call(third, "POST", "/api/v1/signin", map[string]string{"email": "multi@example.com", "password": goodPassword}), 200, "")

		list := e.call(a, "GET", "/api/v1/sessions", nil)
		e.want(list, 200, "")
		sessions := decodeList(t, list.Body)
		if len(sessions) != 3 {
			t.Fatalf("%d sessions, want 3: %s", len(sessions), list.Body)
		}
		var mine, bID string
		bMe := e.call(b, "GET", "/api/v1/me", nil).JSON["session"].(map[string]any)["id"].(string)
		for _, s := range sessions {
			if s["current"] == true {
				mine = s["id"].(string)
			}
			if s["id"] == bMe {
				bID = bMe
			}
			if s["ip"] == "" || s["user_agent"] == "" || s["aal"] != float64(1) {
				t.Fatalf("session lacks ip/user agent/aal: %v", s)
			}
		}
		if mine == "" || bID == "" {
			t.Fatalf("current=%q b=%q in %s", mine, bID, list.Body)
		}
		e.want(e.call(a, "DELETE", "/api/v1/sessions/"+bID, nil), 204, "")
		e.want(e.call(b, "GET", "/api/v1/me", nil), 401, "unauthenticated")
		e.want(e.call(a, "DELETE", "/api/v1/sessions/"+bID, nil), 404, "not_found")
		e.want(e.call(a, "DELETE", "/api/v1/sessions/nonexistent", nil), 404, "not_found")

		// Another user cannot end my sessions.
		stranger := e.signup("stranger@example.com")
		e.want(e.call(stranger, "DELETE", "/api/v1/sessions/"+mine, nil), 404, "not_found")
		e.want(e.call(a, "GET", "/api/v1/me", nil), 200, "")

		r := e.call(a, "POST", "/api/v1/sessions/revoke-others", nil)
		e.want(r, 200, "")
		e.want(e.call(third, "GET", "/api/v1/me", nil), 401, "unauthenticated")
		e.want(e.call(a, "GET", "/api/v1/me", nil), 200, "")

		ev := e.call(a, "GET", "/api/v1/events", nil)
		e.want(ev, 200, "")
		events := decodeList(t, ev.Body)
		kinds := []string{}
		for _, x := range events {
			kinds = append(kinds, x["kind"].(string))
		}
		got := strings.Join(kinds, ",")
		if !strings.HasPrefix(got, "sessions_revoked,session_revoked,signin,signin,signin,signup") {
			t.Fatalf("events newest first = %s", got)
		}
		if strings.Contains(string(ev.Body), "stranger") {
			t.Fatal("events leak another user's activity")
		}
	})
}

func TestSessionTimeouts(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		idle := e.signup("idle@example.com")
		e.advance(23 * time.Hour)
		e.want(e.call(idle, "GET", "/api/v1/me", nil), 200, "")
		e.advance(24*time.Hour + time.Second)
		e.want(e.call(idle, "GET", "/api/v1/me", nil), 401, "unauthenticated")

		busy := e.signup("busy@example.com")
		for day := 0; day < 29; day++ {
			e.advance(24*time.Hour - time.Minute)
			e.want(e.call(busy, "GET", "/api/v1/me", nil), 200, "")
		}
		e.advance(24 * time.Hour)
		e.want(e.call(busy, "GET", "/api/v1/me", nil), 401, "unauthenticated") // 30-day absolute lifetime
	})
}

func TestSignOutEverywhere(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		a := e.signup("all@example.com")
		b := e.srv.Client()
		e.want(e.call(b, "POST", "/api/v1/signin", map[string]string{"email": "all@example.com", "password": goodPassword}), 200, "")
		e.want(e.call(a, "POST", "/api/v1/signout/everywhere", nil), 204, "")
		e.want(e.call(a, "GET", "/api/v1/me", nil), 401, "unauthenticated")
		e.want(e.call(b, "GET", "/api/v1/me", nil), 401, "unauthenticated")
	})
}

func TestSignUpsAreRateLimitedPerAddress(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		c := e.srv.Client()
		for i := 0; i < 20; i++ {
			e.want(e.call(c, "POST", "/api/v1/signup", map[string]string{"email": "s" + strconv.Itoa(i) + "@example.com", "password": goodPassword}), 201, "")
		}
		r := e.call(c, "POST", "/api/v1/signup", map[string]string{"email": "s20@example.com", "password": goodPassword})
		e.want(r, 429, "rate_limited")
		if r.JSON["retry_after_s"] != float64(3600) {
			t.Fatalf("retry_after_s = %v, want 3600", r.JSON["retry_after_s"])
		}
		e.advance(time.Hour)
		e.want(e.call(c, "POST", "/api/v1/signup", map[string]string{"email": "s20@example.com", "password": goodPassword}), 201, "")
	})
}

func TestConcurrentSignUpsOfOneAddressCreateOneAccount(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		var wg sync.WaitGroup
		statuses := make(chan int, 10)
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses <- e.call(e.srv.Client(), "POST", "/api/v1/signup", map[string]string{"email": "race@example.com", "password": goodPassword}).Status
			}()
		}
		wg.Wait()
		close(statuses)
		created, taken := 0, 0
		for s := range statuses {
			switch s {
			case 201:
				created++
			case 409:
				taken++
			default:
				t.Fatalf("status %d", s)
			}
		}
		if created != 1 || taken != 9 {
			t.Fatalf("created %d, taken %d; want 1 and 9", created, taken)
		}
	})
}
