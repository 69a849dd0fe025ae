package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"twostep/internal/delivery"
)

const (
	testSID   = "AC00000000000000000000000000000001"
	testToken = "test-auth-token"
	testFrom  = "+15005550006" // Twilio's magic "valid sender"
	// invalidTo is Twilio's magic recipient that fails with 21211 for
	// messages and 21217 for calls.
	invalidTo = "+15005550001"
)

// fakeTwilio speaks the two REST endpoints the client uses, with the
// shapes of Twilio's documentation: form POST with basic auth in, 201 JSON
// resource or JSON error body out.
type fakeTwilio struct {
	t *testing.T

	mu       sync.Mutex
	requests []url.Values
	paths    []string
	// status, when set, is returned instead of a normal answer.
	status int
	// errorBody, when set with status, is the error JSON returned.
	errorBody string
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, twilioCode int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"code": %d, "message": %q, "more_info": "https://www.twilio.com/docs/errors/%d", "status": %d}`,
			twilioCode, msg, twilioCode, code)
	}
	if r.Method != http.MethodPost {
		f.t.Errorf("method = %s, want POST", r.Method)
		fail(http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != testSID || pass != testToken {
		fail(http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		f.t.Errorf("Content-Type = %q, want application/x-www-form-urlencoded", ct)
	}
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("parse form: %v", err)
	}
	form := r.PostForm

	f.mu.Lock()
	f.requests = append(f.requests, form)
	f.paths = append(f.paths, r.URL.Path)
	status, errorBody := f.status, f.errorBody
	f.mu.Unlock()

	if status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, errorBody)
		return
	}

	prefix := "/2010-04-01/Accounts/" + testSID + "/"
	var kind, sidPrefix, content string
	switch r.URL.Path {
	case prefix + "Messages.json":
		kind, sidPrefix, content = "message", "SM", "Body"
	case prefix + "Calls.json":
		kind, sidPrefix, content = "call", "CA", "Twiml"
	default:
		f.t.Errorf("path = %s, want %sMessages.json or Calls.json", r.URL.Path, prefix)
		fail(http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	for _, field := range []string{"To", "From", content} {
		if form.Get(field) == "" {
			fail(http.StatusBadRequest, 21604, fmt.Sprintf("A '%s' is required.", field))
			return
		}
	}
	if form.Get("To") == invalidTo {
		if kind == "message" {
			fail(http.StatusBadRequest, 21211, "Invalid 'To' Phone Number")
		} else {
			fail(http.StatusBadRequest, 21217, "Phone number does not appear to be valid")
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{
		"account_sid": testSID,
		"api_version": "2010-04-01",
		"sid":         sidPrefix + "0123456789abcdef0123456789abcdef",
		"status":      "queued",
		"to":          form.Get("To"),
		"from":        form.Get("From"),
		"uri":         prefix + "x.json",
	})
}

func (f *fakeTwilio) last() (string, url.Values) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		f.t.Fatal("no request reached the server")
	}
	return f.paths[len(f.paths)-1], f.requests[len(f.requests)-1]
}

func newTestClient(t *testing.T, mod func(*Config)) (*Client, *fakeTwilio) {
	t.Helper()
	fake := &fakeTwilio{t: t}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cfg := Config{
		AccountSID:    testSID,
		AuthToken:     testToken,
		From:          testFrom,
		BaseURL:       srv.URL,
		VoiceLanguage: "en-GB",
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, fake
}

func TestNewValidates(t *testing.T) {
	good := Config{AccountSID: testSID, AuthToken: testToken, From: testFrom}
	if _, err := New(good); err != nil {
		t.Fatalf("New(valid config): %v", err)
	}
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"sid without AC", func(c *Config) { c.AccountSID = "XX0000" }},
		{"sid with a slash", func(c *Config) { c.AccountSID = "AC00/../x" }},
		{"no token", func(c *Config) { c.AuthToken = "" }},
		{"no from", func(c *Config) { c.From = " " }},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }},
		{"relative base url", func(c *Config) { c.BaseURL = "api.twilio.com" }},
		{"bad callback", func(c *Config) { c.StatusCallback = "/status" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mod(&cfg)
			c, err := New(cfg)
			if err == nil {
				t.Fatalf("New = %v, nil; want an error", c)
			}
			if !strings.HasPrefix(err.Error(), "twilio: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestSendSMS(t *testing.T) {
	c, fake := newTestClient(t, func(c *Config) { c.StatusCallback = "https://shop.example/twilio/status" })
	rcpt, err := c.SendTracked(context.Background(), delivery.Message{
		Channel: delivery.SMS, To: "+14155550100", Body: "Your Shop code is 123456", Code: "123456",
	})
	if err != nil {
		t.Fatalf("SendTracked: %v", err)
	}
	if want := "SM0123456789abcdef0123456789abcdef"; rcpt.ProviderID != want {
		t.Errorf("ProviderID = %q, want %q", rcpt.ProviderID, want)
	}
	path, form := fake.last()
	if want := "/2010-04-01/Accounts/" + testSID + "/Messages.json"; path != want {
		t.Errorf("path = %q, want %q", path, want)
	}
	want := url.Values{
		"To":             {"+14155550100"},
		"From":           {testFrom},
		"Body":           {"Your Shop code is 123456"},
		"StatusCallback": {"https://shop.example/twilio/status"},
	}
	if got, w := form.Encode(), want.Encode(); got != w {
		t.Errorf("form = %s, want %s", got, w)
	}
}

func TestSendVoice(t *testing.T) {
	c, fake := newTestClient(t, nil)
	rcpt, err := c.SendTracked(context.Background(), delivery.Message{
		Channel: delivery.Voice, To: "+14155550100", Body: "Your <Shop> & co code is", Code: "908172",
	})
	if err != nil {
		t.Fatalf("SendTracked: %v", err)
	}
	if want := "CA0123456789abcdef0123456789abcdef"; rcpt.ProviderID != want {
		t.Errorf("ProviderID = %q, want %q", rcpt.ProviderID, want)
	}
	path, form := fake.last()
	if want := "/2010-04-01/Accounts/" + testSID + "/Calls.json"; path != want {
		t.Errorf("path = %q, want %q", path, want)
	}
	if form.Has("Body") || form.Has("Url") {
		t.Errorf("call form has Body or Url: %v", form)
	}
	if form.Has("StatusCallback") {
		t.Errorf("StatusCallback sent though none is configured")
	}
	tw := form.Get("Twiml")
	want := `<Response><Say language="en-GB">Your &lt;Shop&gt; &amp; co code is 9. 0. 8. 1. 7. 2.</Say>` +
		`<Pause length="1"/><Say language="en-GB">Your &lt;Shop&gt; &amp; co code is 9. 0. 8. 1. 7. 2.</Say></Response>`
	if tw != want {
		t.Errorf("Twiml =\n%s\nwant\n%s", tw, want)
	}
	for _, d := range "908172" {
		if n := strings.Count(tw, string(d)+"."); n != 2 {
			t.Errorf("digit %c spoken %d times, want 2", d, n)
		}
	}
	if strings.Contains(tw, "908172") {
		t.Errorf("Twiml reads the code as one number: %s", tw)
	}
}

func TestTwiML(t *testing.T) {
	tests := []struct {
		name, intro, code, lang string
		want                    string
	}{
		{
			name: "default intro, no language", code: "42",
			want: `<Response><Say>Your code is: 4. 2.</Say><Pause length="1"/><Say>Your code is: 4. 2.</Say></Response>`,
		},
		{
			name: "intro containing the code falls back", intro: "Your code is 4242.", code: "4242",
			want: `<Response><Say>Your code is: 4. 2. 4. 2.</Say><Pause length="1"/><Say>Your code is: 4. 2. 4. 2.</Say></Response>`,
		},
		{
			name: "escapes attribute and text", intro: "Code \"x\"\n'y'", code: "1", lang: `fr"><Hangup/>`,
			want: `<Response><Say language="fr&quot;&gt;&lt;Hangup/&gt;">Code &quot;x&quot; &apos;y&apos; 1.</Say><Pause length="1"/>` +
				`<Say language="fr&quot;&gt;&lt;Hangup/&gt;">Code &quot;x&quot; &apos;y&apos; 1.</Say></Response>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := twiml(tt.intro, tt.code, tt.lang)
			if err != nil {
				t.Fatalf("twiml: %v", err)
			}
			if got != tt.want {
				t.Errorf("twiml =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	for _, code := range []string{"", "12a4", "12 34", "１２"} {
		if _, err := twiml("", code, ""); err == nil {
			t.Errorf("twiml(code %q) succeeded, want an error", code)
		} else if code != "" && strings.Contains(err.Error(), code) {
			t.Errorf("error %q contains the code", err)
		}
	}
	if _, err := twiml(strings.Repeat("long ", 1000), "1", ""); err == nil {
		t.Error("twiml with a 5000-character intro succeeded, want an error")
	}
}

func TestSendErrors(t *testing.T) {
	const code = "864213"
	tests := []struct {
		name      string
		channel   delivery.Channel
		to        string
		status    int
		body      string
		token     string
		wantHTTP  int
		wantTemp  bool
		wantInErr string
	}{
		{name: "invalid sms number", channel: delivery.SMS, to: invalidTo,
			wantHTTP: 400, wantInErr: "twilio error 21211: Invalid 'To' Phone Number"},
		{name: "invalid voice number", channel: delivery.Voice, to: invalidTo,
			wantHTTP: 400, wantInErr: "twilio error 21217"},
		{name: "bad credentials", channel: delivery.SMS, to: "+14155550100", token: "wrong",
			wantHTTP: 401, wantInErr: "twilio error 20003: Authenticate"},
		{name: "rate limited", channel: delivery.SMS, to: "+14155550100", status: 429,
			body:     `{"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}`,
			wantHTTP: 429, wantTemp: true, wantInErr: "twilio error 20429"},
		{name: "server error", channel: delivery.SMS, to: "+14155550100", status: 500,
			body:     `{"code": 20500, "message": "Internal Server Error", "more_info": "https://www.twilio.com/docs/errors/20500", "status": 500}`,
			wantHTTP: 500, wantTemp: true, wantInErr: "twilio error 20500"},
		{name: "gateway error without json", channel: delivery.Voice, to: "+14155550100", status: 502,
			body: "<html>Bad Gateway</html>", wantHTTP: 502, wantTemp: true, wantInErr: "unexpected response"},
		{name: "message echoing the code", channel: delivery.SMS, to: "+14155550100", status: 400,
			body:     `{"code": 21602, "message": "Body 'Your code is 864213' rejected", "status": 400}`,
			wantHTTP: 400, wantInErr: "[code]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, fake := newTestClient(t, func(c *Config) {
				if tt.token != "" {
					c.AuthToken = tt.token
				}
			})
			fake.status, fake.errorBody = tt.status, tt.body
			err := c.Send(context.Background(), delivery.Message{
				Channel: tt.channel, To: tt.to, Body: "Your code is " + code, Code: code,
			})
			var de *delivery.Error
			if !errors.As(err, &de) {
				t.Fatalf("Send error = %v, want a *delivery.Error", err)
			}
			if de.Provider != "twilio" || de.Status != tt.wantHTTP || de.Temporary != tt.wantTemp {
				t.Errorf("error = {%s %d temporary=%v}, want {twilio %d temporary=%v}",
					de.Provider, de.Status, de.Temporary, tt.wantHTTP, tt.wantTemp)
			}
			if delivery.IsTemporary(err) != tt.wantTemp {
				t.Errorf("IsTemporary = %v, want %v", delivery.IsTemporary(err), tt.wantTemp)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantInErr)
			}
			if strings.Contains(err.Error(), code) {
				t.Errorf("error %q contains the code", err)
			}
		})
	}
}

func TestSendNetworkErrors(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		base := srv.URL
		srv.Close()
		c, err := New(Config{AccountSID: testSID, AuthToken: testToken, From: testFrom, BaseURL: base})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Send(context.Background(), delivery.Message{Channel: delivery.SMS, To: "+14155550100", Body: "b 555123", Code: "555123"})
		var de *delivery.Error
		if !errors.As(err, &de) || !de.Temporary || de.Status != 0 {
			t.Fatalf("Send error = %#v, want a temporary *delivery.Error without status", err)
		}
		if strings.Contains(err.Error(), "555123") {
			t.Errorf("error %q contains the code", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		c, err := New(Config{AccountSID: testSID, AuthToken: testToken, From: testFrom, BaseURL: srv.URL, Timeout: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = c.Send(context.Background(), delivery.Message{Channel: delivery.SMS, To: "+14155550100", Body: "b", Code: "1"})
		if !delivery.IsTemporary(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send error = %v, want a temporary deadline error", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send took %s despite a 50ms timeout", d)
		}
	})
}

func TestSendRejectsBadMessages(t *testing.T) {
	c, fake := newTestClient(t, nil)
	tests := []struct {
		name string
		m    delivery.Message
	}{
		{"no recipient", delivery.Message{Channel: delivery.SMS, Body: "hi"}},
		{"empty sms", delivery.Message{Channel: delivery.SMS, To: "+14155550100"}},
		{"voice without code", delivery.Message{Channel: delivery.Voice, To: "+14155550100"}},
		{"voice code not digits", delivery.Message{Channel: delivery.Voice, To: "+14155550100", Code: "ab12cd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Send(context.Background(), tt.m)
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if delivery.IsTemporary(err) {
				t.Errorf("error %v is temporary; retrying cannot fix it", err)
			}
			if tt.m.Code != "" && strings.Contains(err.Error(), tt.m.Code) {
				t.Errorf("error %q contains the code", err)
			}
		})
	}
	err := c.Send(context.Background(), delivery.Message{Channel: delivery.Email, To: "a@b.example", Body: "x"})
	if !errors.Is(err, delivery.ErrUnsupportedChannel) {
		t.Errorf("Send(email) = %v, want ErrUnsupportedChannel", err)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.requests) != 0 {
		t.Errorf("%d invalid messages reached Twilio", len(fake.requests))
	}
}

func TestSendAcceptedWithoutSID(t *testing.T) {
	// A 2xx means Twilio took the message; an unreadable body must not
	// become an error that makes the caller send it again.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, "not json")
	}))
	defer srv.Close()
	c, err := New(Config{AccountSID: testSID, AuthToken: testToken, From: testFrom, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	rcpt, err := c.SendTracked(context.Background(), delivery.Message{Channel: delivery.SMS, To: "+14155550100", Body: "b"})
	if err != nil || rcpt.ProviderID != "" {
		t.Errorf("SendTracked = %+v, %v; want an empty receipt and no error", rcpt, err)
	}
}
