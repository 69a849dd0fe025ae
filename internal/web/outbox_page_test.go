package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"twostep/internal/delivery"
)

// TestOutboxShowsCallCodes adds a phone that gets its codes by voice
// call, as a person does in the wizard: the outbox page says what the call
// says, code included. The call's kept body is only the introduction (the
// code travels beside it, to be read digit by digit), so the page showed
// "Your twostep code is" and nothing else.
func TestOutboxShowsCallCodes(t *testing.T) {
	s := newSite(t)
	st, _, _ := s.do("POST", "/signup", url.Values{"email": {"caller@example.com"}, "password": {"correct horse battery"}})
	if st != http.StatusSeeOther {
		t.Fatalf("sign-up = %d", st)
	}
	s.verifyEmail("caller@example.com")
	st, loc, body := s.do("POST", "/account/two-step/phone/send", url.Values{"phone": {"+447400123456"}, "channel": {"voice"}, "step": {"1"}})
	if st != http.StatusSeeOther || !strings.Contains(loc, "factor=") {
		t.Fatalf("send by call = %d %s\n%.600s", st, loc, body)
	}
	s.srv.App.Account.Flush()
	msgs, err := s.srv.App.Outbox.List(t.Context(), "+447400123456", 5)
	if err != nil || len(msgs) != 1 || msgs[0].Channel != delivery.Voice || msgs[0].Code == "" {
		t.Fatalf("outbox holds %+v, %v; want one call with a code", msgs, err)
	}
	code := msgs[0].Code
	spoken := strings.Join(strings.Split(code, ""), " ")
	st, _, body = s.do("GET", "/dev/outbox", nil)
	s.want(200, st, body, spoken+".", `<strong class="key">`+code+`</strong>`, "Phone call")
}

// TestOutboxMakesLinksClickableAndSafe: the web addresses in a message
// become links, so the confirmation link is one click away; nothing else
// does, and the message's own markup is shown as text.
func TestOutboxMakesLinksClickableAndSafe(t *testing.T) {
	s := newSite(t)
	hostile := "Confirm your address: https://login.example/verify-email?token=abc&next=%2F.\n" +
		"<script>alert(1)</script>\n" +
		`<a href="javascript:alert(2)">click</a> javascript:alert(3) data:text/html,<b>x</b>` + "\n" +
		`http://ok.example/"onmouseover="alert(4) and (see https://docs.example/a).`
	if err := s.srv.App.Outbox.Send(t.Context(), delivery.Message{Channel: delivery.Email, To: "links@example.com", Subject: "Links <b>bold</b>", Body: hostile}); err != nil {
		t.Fatal(err)
	}
	st, _, body := s.do("GET", "/dev/outbox", nil)
	s.want(200, st, body,
		`<a href="https://login.example/verify-email?token=abc&amp;next=%2F" rel="noopener noreferrer">https://login.example/verify-email?token=abc&amp;next=%2F</a>.`,
		`<a href="http://ok.example/" rel="noopener noreferrer">http://ok.example/</a>&#34;onmouseover=&#34;alert(4)`,
		`(see <a href="https://docs.example/a" rel="noopener noreferrer">https://docs.example/a</a>).`,
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"&lt;a href=&#34;javascript:alert(2)&#34;&gt;click&lt;/a&gt; javascript:alert(3) data:text/html,&lt;b&gt;x&lt;/b&gt;",
		"Links &lt;b&gt;bold&lt;/b&gt;")
	for _, bad := range []string{"<script>alert", `href="javascript:`, `href="data:text`, "<b>", `onmouseover="`} {
		if strings.Contains(body, bad) {
			t.Errorf("the page carries %q from the message", bad)
		}
	}
	if n := strings.Count(body, `rel="noopener noreferrer"`); n != 3 {
		t.Errorf("%d links in the message, want 3", n)
	}
}

// TestOutboxTimesAreTimeElements: the time a message was sent is a
// <time> element with the exact instant for the browser's script, and
// UTC text, naming its zone, for a browser without script.
func TestOutboxTimesAreTimeElements(t *testing.T) {
	s := newSite(t)
	s.clock.Advance(97*time.Minute + 13*time.Second) // any instant: the clock starts at testenv.ClockStart
	sent := s.clock.Now()
	if err := s.srv.App.Outbox.Send(t.Context(), delivery.Message{Channel: delivery.SMS, To: "+447400123456", Body: "Your code is 123456."}); err != nil {
		t.Fatal(err)
	}
	st, _, body := s.do("GET", "/dev/outbox", nil)
	u := sent.UTC()
	s.want(200, st, body,
		`<time datetime="`+u.Format(time.RFC3339)+`">`+u.Format("2 Jan 2006, 15:04 UTC")+`</time>`,
		`<script src="/static/time.js" defer></script>`)
	st, _, js := s.do("GET", "/static/time.js", nil)
	s.want(200, st, js, "Intl.DateTimeFormat", `querySelectorAll("time[datetime]")`)
}
