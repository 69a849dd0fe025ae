package browsertest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/testenv"
)

// browserRecoveryDelay is the waiting period in Chromium: moved past on
// the running clock.
const browserRecoveryDelay = 3 * time.Hour

// TestLostEveryMethodRecovery walks the recovery with a waiting period in
// Chromium on both engines: from the challenge's "I can't use any of
// these" to the request page and "check your e-mail"; the link's page and
// "ready at"; the notice's cancel link and its page; again to the end,
// where a different browser with the password still gets the challenge
// and the browser that opened the link lands on the completion page,
// then the wizard. Screenshots at 390 px and desktop.
func TestLostEveryMethodRecovery(t *testing.T) {
	chromiumPath(t)
	oathtoolPath(t)
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			clk := &journeyClock{}
			cfg := testenv.Config(t, testenv.DatabaseURL(t, engine))
			cfg.Recovery.Delay = config.Duration(browserRecoveryDelay)
			srv := testenv.Start(t, cfg, app.Options{Now: clk.Now})
			base := srv.BaseURL()
			email := uniqueEmail("ada.lovelace-recover")

			// Enrolment by the API: an authenticator app and recovery codes.
			c := srv.Client()
			apiCall(t, c, base, "POST", "/api/v1/signup", map[string]string{"email": email, "password": goodPassword}, http.StatusCreated)
			verifyEmail(t, srv, email)
			r := apiCall(t, c, base, "POST", "/api/v1/factors/totp", map[string]string{"label": "Phone app"}, http.StatusCreated)
			secret, _ := r["secret"].(string)
			appID, _ := r["factor"].(map[string]any)["id"].(string)
			apiCall(t, c, base, "POST", "/api/v1/factors/"+appID+"/confirm", map[string]string{"code": clk.nextCode(t, secret)}, http.StatusOK)
			apiCall(t, c, base, "POST", "/api/v1/factors/recovery-codes", nil, http.StatusCreated)
			apiCall(t, c, base, "POST", "/api/v1/two-step/enable", nil, http.StatusOK)

			// newest is the code of the newest message to email whose
			// subject holds subject and that is not in seen.
			seen := map[string]bool{}
			newest := func(subject string) string {
				t.Helper()
				srv.App.Account.Flush()
				msgs, err := srv.App.Outbox.List(t.Context(), email, 100)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range msgs {
					if strings.Contains(m.Subject, subject) && !seen[m.Code] {
						seen[m.Code] = true
						return m.Code
					}
				}
				t.Fatalf("no new message %q to %s", subject, email)
				return ""
			}

			// The person lost the phone and the codes: from the challenge.
			lost := newBrowser(t, base, twoStepTimeout)
			ask := func(shots bool) string {
				lost.signIn(email)
				lost.expectHeading("Two-step verification")
				lost.click("try another way", `//main//details[contains(@class,"another")]/summary`)
				lost.click("I can't use any of these", `//*[@id="cant"]/summary`)
				lost.submit("the recovery link", `//*[@id="recover"]`, 200)
				lost.expectHeading("Lost every way to sign in?")
				lost.expectText(email, "3 hours", "E-mail me a recovery link")
				if shots {
					lost.screenshot("recover-ask-desktop.png")
				}
				lost.submit("ask for the link", submitButton, 200)
				lost.expectHeading("Check your e-mail")
				lost.expectText("It works once, for 1 hour.")
				if shots {
					lost.screenshot("recover-sent-desktop.png")
				}
				return newest("Recover your")
			}
			token := ask(true)

			lost.open("/recover?token="+url.QueryEscape(token), 200)
			lost.expectHeading("Recover your account")
			lost.submit("start the waiting period", submitButton, 200)
			lost.expectHeading("Recovery started")
			ready := clk.Now().Add(browserRecoveryDelay)
			when, err := chromedp.Run(lost.ctx, chromedp.Evaluate[string](`document.querySelector('#ready time').getAttribute('datetime')`))
			if err != nil {
				lost.fatal("read the ready time: %v", err)
			}
			if got, err := time.Parse(time.RFC3339, when); err != nil || got.Sub(ready).Abs() > 2*time.Second {
				lost.fatal("ready at %q, want about %v", when, ready.UTC())
			}
			lost.expectText("Your recovery will be ready at", "in this browser")
			lost.screenshot("recover-ready-desktop.png")
			lost.phone()
			lost.noHorizontalScroll("the ready page")
			lost.phone390()
			lost.screenshot("recover-ready-390.png")
			lost.desktop()

			// The owner's other inbox: the notice's one-click cancel link.
			cancel := newest("Someone is recovering")
			owner := newBrowser(t, base, twoStepTimeout)
			owner.phone()
			owner.open("/cancel-recovery?token="+url.QueryEscape(cancel), 200)
			owner.expectHeading("Cancel the recovery?")
			owner.noHorizontalScroll("the cancel page")
			owner.phone390()
			owner.screenshot("recover-cancel-390.png")
			owner.submit("cancel the recovery", submitButton, 200)
			owner.expectHeading("Recovery cancelled")
			owner.expectText("Two-step verification stays on")
			owner.screenshot("recover-cancelled-390.png")
			owner.open("/cancel-recovery?token="+url.QueryEscape(cancel), 409)
			owner.expectHeading("This recovery has already ended")

			// Again, to the end of the wait.
			token = ask(false)
			lost.open("/recover?token="+url.QueryEscape(token), 200)
			lost.submit("start the waiting period", submitButton, 200)
			lost.expectHeading("Recovery started")
			clk.mu.Lock()
			clk.shift += browserRecoveryDelay + time.Minute
			clk.mu.Unlock()

			// Another browser with the right password cannot finish it.
			other := newBrowser(t, base, twoStepTimeout)
			other.signIn(email)
			other.expectHeading("Two-step verification")

			// The browser that opened the link finishes it.
			lost.signIn(email)
			lost.expectPath("the password after the wait", "/recover/done")
			lost.expectHeading("Your account is recovered")
			lost.expectText("Two-step verification is off")
			lost.screenshot("recover-done-desktop.png")
			lost.phone()
			lost.noHorizontalScroll("the completion page")
			lost.phone390()
			lost.screenshot("recover-done-390.png")
			lost.submit("set it up again", `//main//a[@href="/account/two-step/setup"]`, 200)
			if p := lost.path(); !strings.HasPrefix(p, "/account/two-step/setup") {
				lost.fatal("the wizard link leads to %s", p)
			}
		})
	}
}

// desktop sizes the page like a desktop window again after phone.
func (b *browser) desktop() {
	b.t.Helper()
	b.do("back to a desktop window", chromedp.EmulateViewport(1280, 900))
}
