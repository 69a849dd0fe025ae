package browsertest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/delivery"
	"twostep/internal/testenv"
)

// testPhone is a Canadian number that can take texts and calls, as the
// person types it, and as the server stores it.
const (
	testPhoneTyped = "(506) 234-5678"
	testPhoneE164  = "+15062345678"
)

// startPhone runs twostep, whose codes go to the developer outbox, with
// the resend cooldown given, and a browser with the two-step deadline.
func startPhone(t *testing.T, cooldown time.Duration) (*testenv.Server, *browser) {
	t.Helper()
	chromiumPath(t)
	cfg := testenv.Config(t, testenv.DatabaseURL(t, "sqlite"))
	cfg.Codes.ResendCooldown = config.Duration(cooldown)
	srv := testenv.Start(t, cfg, app.Options{Now: clock.Now})
	if srv.App.Outbox == nil {
		t.Fatal("the test config does not deliver codes to the outbox")
	}
	return srv, newBrowser(t, srv.BaseURL(), twoStepTimeout)
}

// acceptLanguage makes the browser ask for pages in these languages, as a
// browser set up in that language does.
func (b *browser) acceptLanguage(v string) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{}); err != nil {
		b.fatal("enable the network domain: %v", err)
	}
	if _, err := chromedp.Call(b.ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Accept-Language": v},
	}); err != nil {
		b.fatal("set Accept-Language: %v", err)
	}
}

// value is the value of the form control with this id.
func (b *browser) value(id string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById(`+jsString(id)+`).value`))
	if err != nil {
		b.fatal("read #%s: %v", id, err)
	}
	return v
}

// selectOption picks the option with this value in the <select> with this id.
func (b *browser) selectOption(id, value string) {
	b.t.Helper()
	b.do("choose "+value+" in #"+id, chromedp.SetValue(chromedp.ID(id), value))
	if got := b.value(id); got != value {
		b.fatal("#%s holds %q after choosing %q", id, got, value)
	}
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// expectLabels runs the label check of TestAccessibility on the page shown.
func (b *browser) expectLabels(page string) {
	b.t.Helper()
	type result struct {
		Inputs   int      `json:"inputs"`
		Problems []string `json:"problems"`
	}
	r, err := chromedp.Run(b.ctx, chromedp.Evaluate[result](labelProblems))
	if err != nil {
		b.fatal("check labels on %s: %v", page, err)
	}
	if len(r.Problems) > 0 {
		b.fatal("%s: %d inputs, problems:\n  %s", page, r.Inputs, strings.Join(r.Problems, "\n  "))
	}
}

// sentCode is the code of the newest message to the number in the outbox,
// which must have come by channel and be newer than the n messages seen
// before.
func sentCode(t *testing.T, srv *testenv.Server, to string, channel delivery.Channel, before int) string {
	t.Helper()
	srv.App.Account.Flush()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := srv.App.Outbox.List(ctx, to, 10)
	if err != nil {
		t.Fatalf("read the outbox: %v", err)
	}
	if len(msgs) <= before {
		t.Fatalf("the outbox holds %d messages to %s, want more than %d", len(msgs), to, before)
	}
	m := msgs[0]
	if m.Channel != channel {
		t.Fatalf("the newest message to %s came by %q, want %q: %+v", to, m.Channel, channel, m)
	}
	if !sixDigits.MatchString(m.Code) {
		t.Fatalf("the newest message to %s has the code %q, want 6 digits", to, m.Code)
	}
	if channel == delivery.SMS {
		want := "Your twostep code is " + m.Code + ".\n\n@localhost #" + m.Code
		if m.Body != want {
			t.Fatalf("the text says %q, want %q", m.Body, want)
		}
	}
	return m.Code
}

// outboxCount is how many messages to the number the outbox holds, up to 10.
func outboxCount(t *testing.T, srv *testenv.Server, to string) int {
	t.Helper()
	srv.App.Account.Flush()
	msgs, err := srv.App.Outbox.List(context.Background(), to, 10)
	if err != nil {
		t.Fatalf("read the outbox: %v", err)
	}
	return len(msgs)
}

// finishWizard goes through steps 2 and 3 after the main method is
// confirmed: recovery codes, then turn on without remembering the browser.
func (b *browser) finishWizard() {
	b.t.Helper()
	b.expectProgress("Step 2 of 3")
	b.expectHeading("Add a backup")
	b.submit("get recovery codes", `//main//form//button[normalize-space()="Get recovery codes to print or save"]`, 200)
	b.expectHeading("Your recovery codes")
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('main ol.codes li code').length`))
	if err != nil || n != 10 {
		b.fatal("%d recovery codes listed (err %v), want 10", n, err)
	}
	b.click("say the codes are saved", `//input[@id="saved"]`)
	b.submit("continue after saving the codes", `//main//form//button[normalize-space()="Continue"]`, 200)
	b.expectPath("saving the codes", "/account/two-step/setup?step=3")
	b.expectProgress("Step 3 of 3")
	b.expectHeading("Turn it on")
	b.click("untick remember", `//input[@id="remember"]`)
	if b.checked("remember") {
		b.fatal("\"Don't ask for codes on this browser\" is still ticked after a click")
	}
	b.submit("turn two-step verification on", `//main//form//button[normalize-space()="Turn on two-step verification"]`, 200)
	b.expectPath("turning it on", "/account/two-step?notice=two_step_on")
	if got := b.text(`main [role="status"]`); got != "Two-step verification is on." {
		b.fatal("the notice says %q, want %q", got, "Two-step verification is on.")
	}
}

const (
	continueButton = chromedp.Search(`//main//form//button[normalize-space()="Continue"]`)
	// The challenge's send buttons, found by what they send: while the
	// cooldown runs, countdown.js adds the seconds left to their text.
	textButton = chromedp.Search(`//main//form[@action="/signin/send"]//button[@value="sms"]`)
	callButton = chromedp.Search(`//main//form[@action="/signin/send"]//button[@value="voice"]`)
)

func TestPhoneWizard(t *testing.T) {
	srv, b := startPhone(t, 30*time.Second)
	b.acceptLanguage("en-CA,en;q=0.9")
	email := uniqueEmail("alexander.graham-bell")
	b.signUp(email, goodPassword)
	verifyEmail(t, srv, email)

	// The wizard's first step offers a phone to people without an app.
	b.open("/account/two-step", 200)
	b.expectHeading("Two-step verification")
	b.submit("open the wizard", `//main//a[normalize-space()="Turn on two-step verification"]`, 200)
	b.expectPath("opening the wizard", "/account/two-step/setup")
	b.expectProgress("Step 1 of 3")
	b.submit("choose a phone", `//main//a[normalize-space()="No app? Use a phone number instead"]`, 200)
	b.expectPath("choosing a phone", "/account/two-step/phone?step=1")
	b.expectProgress("Step 1 of 3")
	b.expectHeading("Add a phone")
	b.expectStyled()
	b.expectLabels("/account/two-step/phone")
	if got := b.value("country"); got != "CA" {
		b.fatal("the country is %q for a browser in en-CA, want CA", got)
	}
	if got := b.labelOf("phone"); got != "Phone number" {
		b.fatal("the number field is labelled %q", got)
	}
	if !b.checked("ch-sms") || b.checked("ch-voice") {
		b.fatal("\"Text message\" is not the choice at first")
	}
	focused, err := waitFocus(b, "phone")
	if err != nil || focused != "phone" {
		b.fatal("focus is on %q (err %v) on arrival, want the number field", focused, err)
	}
	b.screenshot("phone-form.png")

	// A number too short: the error shows under the field, the input stays.
	b.fill("phone", "12")
	b.submit("send a short number", continueButton, http.StatusBadRequest)
	b.expectHeading("Add a phone")
	msg := b.fieldError("phone")
	t.Logf("short number: %q", msg)
	if !strings.Contains(msg, "short") {
		b.fatal("the short number's error says %q, want it to say it is too short", msg)
	}
	b.expectNoFormAlert()
	if got := b.value("phone"); got != "12" {
		b.fatal("the number field holds %q after the error, want what was typed", got)
	}
	if got := b.value("country"); got != "CA" {
		b.fatal("the country is %q after the error, want CA kept", got)
	}

	// A British landline can't take texts.
	b.selectOption("country", "GB")
	b.fill("phone", "020 7946 0018")
	b.submit("send a landline for texts", continueButton, http.StatusBadRequest)
	b.expectHeading("Add a phone")
	msg = b.fieldError("phone")
	t.Logf("landline for texts: %q", msg)
	if !strings.Contains(msg, "landline") {
		b.fatal("the landline's error says %q, want it to say it is a landline", msg)
	}
	if got := b.value("country"); got != "GB" {
		b.fatal("the country is %q after the error, want GB kept", got)
	}
	if !b.checked("ch-sms") {
		b.fatal("\"Text message\" is no longer chosen after the error")
	}
	b.screenshot("phone-landline-error.png")

	// A Canadian mobile number, by text.
	b.selectOption("country", "CA")
	b.fill("phone", testPhoneTyped)
	b.submit("check the number", continueButton, 200)
	b.expectHeading("Is this your number?")
	b.expectProgress("Step 1 of 3")
	if got := b.text("main .bignum"); got != "+1 506-234-5678" {
		b.fatal("the number shown back is %q, want +1 506-234-5678", got)
	}
	b.expectText("We'll text it a 6-digit code.", "Change the number")
	b.screenshot("phone-check.png")
	if n := outboxCount(t, srv, testPhoneE164); n != 0 {
		b.fatal("%d messages sent before the person confirmed the number", n)
	}

	b.submit("text a code", `//main//form//button[normalize-space()="Text me a code"]`, 200)
	if p := b.path(); !strings.HasPrefix(p, "/account/two-step/setup?step=1&factor=") {
		b.fatal("after \"Text me a code\" the browser is at %s, want the code step", p)
	}
	b.expectProgress("Step 1 of 3")
	b.expectHeading("Enter the code")
	b.expectText("We texted +1 •••-•••-•678 with a 6-digit code.")
	if got := b.labelOf("code"); got != "6-digit code" {
		b.fatal("the code field is labelled %q", got)
	}
	ac, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.ID("code"), "autocomplete"))
	if err != nil || ac.Value != "one-time-code" {
		b.fatal("the code field has autocomplete=%q (err %v), want one-time-code", ac.Value, err)
	}
	// The cooldown runs on the resend button.
	resend, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => {
		const b = document.querySelector('main form[action="/account/two-step/setup/resend"] button');
		return !!b && b.disabled && /^Send the code again \(\d+ s\)$/.test(b.textContent.trim());
	})()`))
	if err != nil || !resend {
		b.fatal("the resend button does not count down the cooldown (err %v)", err)
	}
	b.screenshot("phone-code.png")

	code := sentCode(t, srv, testPhoneE164, delivery.SMS, 0)
	b.fill("code", code)
	b.submit("check the texted code", `//main//form//button[normalize-space()="Check the code"]`, 200)
	b.expectPath("the texted code", "/account/two-step/setup?step=2")
	b.finishWizard()
	b.expectText("Your methods", "Text message", "Recovery codes", "10 of 10 codes left")
}

// enrollPhoneByAPI makes an account with a phone for texts and recovery
// codes and two-step verification on, through the JSON API.
func enrollPhoneByAPI(t *testing.T, srv *testenv.Server, email string) {
	t.Helper()
	c, base := srv.Client(), srv.BaseURL()
	apiCall(t, c, base, "POST", "/api/v1/signup", map[string]string{"email": email, "password": goodPassword}, http.StatusCreated)
	verifyEmail(t, srv, email)
	r := apiCall(t, c, base, "POST", "/api/v1/factors/phone", map[string]string{"phone": testPhoneTyped, "country": "CA", "channel": "sms"}, http.StatusCreated)
	f, _ := r["factor"].(map[string]any)
	id, _ := f["id"].(string)
	if id == "" {
		t.Fatalf("POST /api/v1/factors/phone: no factor id in %v", r)
	}
	code := sentCode(t, srv, testPhoneE164, delivery.SMS, 0)
	apiCall(t, c, base, "POST", "/api/v1/factors/"+id+"/confirm", map[string]string{"code": code}, http.StatusOK)
	rc := apiCall(t, c, base, "POST", "/api/v1/factors/recovery-codes", nil, http.StatusCreated)
	if codes, _ := rc["codes"].([]any); len(codes) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(codes))
	}
	apiCall(t, c, base, "POST", "/api/v1/two-step/enable", nil, http.StatusOK)
}

// sendButtonsReady waits for the challenge's send buttons to be enabled
// (the cooldown of the last code is over) and returns their texts.
func (b *browser) sendButtonsReady() (text, call string) {
	b.t.Helper()
	b.do("wait for the send buttons", chromedp.WaitEnabled(textButton), chromedp.WaitEnabled(callButton))
	return b.text(`main form[action="/signin/send"] button[value="sms"]`), b.text(`main form[action="/signin/send"] button[value="voice"]`)
}

func TestCallMeInstead(t *testing.T) {
	// A short cooldown: the code of the enrolment was sent just before.
	srv, b := startPhone(t, 2*time.Second)
	email := uniqueEmail("lisa.meitner-phone")
	enrollPhoneByAPI(t, srv, email)

	b.signIn(email)
	b.expectPath("the password", "/signin/verify")
	b.expectHeading("Two-step verification")
	b.expectStyled()
	b.expectText("Signing in as "+email, "We'll send a 6-digit code to your phone +1 •••-•••-•678.")
	// Nothing sent yet in this sign-in: one button, ready, and no call
	// offered "instead" of a text that never went out.
	b.do("wait for the text button", chromedp.WaitEnabled(textButton))
	if text := b.text(`main form[action="/signin/send"] button[value="sms"]`); text != "Text me a code" {
		b.fatal("the send button says %q, want \"Text me a code\"", text)
	}
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('main form[action="/signin/send"] button[value="voice"]').length`)); err != nil || n != 0 {
		b.fatal("a call is offered before any text was sent (%d buttons, err %v)", n, err)
	}
	b.screenshot("challenge-phone.png")
	// The enrolment's text is not this sign-in's: nothing counts its
	// cool-down down, and a press within it is told to wait.
	time.Sleep(2 * time.Second)
	b.submit("ask for a text", textButton, 200)
	b.expectText("We texted a code to +1 •••-•••-•678.")
	if text, call := b.sendButtonsReady(); text != "Text it again" || call != "Call me instead" {
		b.fatal("after a text the send buttons say %q and %q, want \"Text it again\" and \"Call me instead\"", text, call)
	}

	before := outboxCount(t, srv, testPhoneE164)
	b.submit("ask for a call", callButton, 200)
	if p := b.path(); !strings.HasPrefix(p, "/signin/verify?method=") || !strings.HasSuffix(p, "&sent=voice") {
		b.fatal("after \"Call me instead\" the browser is at %s, want the challenge with sent=voice", p)
	}
	b.expectHeading("Two-step verification")
	notice := b.text(`main [role="status"]`)
	if !strings.HasPrefix(notice, "We're calling +1 •••-•••-•678") {
		b.fatal("the notice says %q, want \"We're calling +1 •••-•••-•678…\"", notice)
	}
	focused, err := waitFocus(b, "code")
	if err != nil || focused != "code" {
		b.fatal("focus is on %q (err %v) after the call started, want the code field", focused, err)
	}
	b.screenshot("challenge-phone-called.png")
	code := sentCode(t, srv, testPhoneE164, delivery.Voice, before)
	b.fill("code", code)
	b.submit("verify the code of the call", `//main//form//button[normalize-space()="Verify"]`, 200)
	b.expectPath("the code of the call", "/account")
	b.expectHeading("Your account")
	b.expectText(email)

	// The same challenge on a 360 px phone.
	b.signOut()
	b.phone()
	b.signIn(email)
	b.expectPath("the password on the phone", "/signin/verify")
	b.expectHeading("Two-step verification")
	b.do("wait for the text button", chromedp.WaitEnabled(textButton))
	b.screenshot("challenge-phone-mobile.png")
	b.noHorizontalScroll("/signin/verify with a phone")

	// With the notice of a text sent, too.
	b.submit("ask for a text on the phone", textButton, 200)
	b.expectText("We texted a code to +1 •••-•••-•678.")
	b.screenshot("challenge-phone-mobile-sent.png")
	b.noHorizontalScroll("/signin/verify after a text")
}
