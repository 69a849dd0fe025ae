package twilio

import (
	"net/url"
	"testing"
)

// Twilio's documented example request: a <Gather> result posted to
// https://mycompany.com/myapp.php?foo=1&bar=2, signed with the auth token
// 12345. The expected signatures were also recomputed independently
// (HMAC-SHA1 in Python) before being written here.
var twilioVectors = []struct {
	name string
	form url.Values
	want string
}{
	{
		name: "current docs",
		form: url.Values{
			"CallSid": {"CA1234567890ABCDE"},
			"Caller":  {"+12349013030"},
			"Digits":  {"1234"},
			"From":    {"+12349013030"},
			"To":      {"+18005551212"},
		},
		want: "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
	},
	{
		name: "older docs",
		form: url.Values{
			"CallSid": {"CA1234567890ABCDE"},
			"Caller":  {"+14158675309"},
			"Digits":  {"1234"},
			"From":    {"+14158675309"},
			"To":      {"+18005551212"},
		},
		want: "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
	},
}

const vectorURL = "https://mycompany.com/myapp.php?foo=1&bar=2"

func TestVerifySignatureVectors(t *testing.T) {
	for _, v := range twilioVectors {
		t.Run(v.name, func(t *testing.T) {
			if got := sign("12345", vectorURL, v.form); got != v.want {
				t.Errorf("sign = %s, want %s", got, v.want)
			}
			if !VerifySignature("12345", vectorURL, v.form, v.want) {
				t.Error("VerifySignature rejected Twilio's example")
			}
		})
	}
}

func TestVerifySignatureRejects(t *testing.T) {
	v := twilioVectors[0]
	tampered := url.Values{}
	for k, vs := range v.form {
		tampered[k] = vs
	}
	tampered.Set("Digits", "1235")
	extra := url.Values{}
	for k, vs := range v.form {
		extra[k] = vs
	}
	extra.Set("MessageStatus", "delivered")

	tests := []struct {
		name, token, url string
		form             url.Values
		sig              string
	}{
		{"tampered param", "12345", vectorURL, tampered, v.want},
		{"added param", "12345", vectorURL, extra, v.want},
		{"other url", "12345", "https://mycompany.com/myapp.php?foo=1&bar=3", v.form, v.want},
		{"http instead of https", "12345", "http://mycompany.com/myapp.php?foo=1&bar=2", v.form, v.want},
		{"wrong token", "54321", vectorURL, v.form, v.want},
		{"empty token", "", vectorURL, v.form, v.want},
		{"empty signature", "12345", vectorURL, v.form, ""},
		{"truncated signature", "12345", vectorURL, v.form, v.want[:10]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if VerifySignature(tt.token, tt.url, tt.form, tt.sig) {
				t.Error("VerifySignature = true, want false")
			}
		})
	}
}

func TestVerifySignatureDefaultPort(t *testing.T) {
	form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}
	withPort := sign("tok", "https://shop.example:443/twilio/status", form)
	withoutPort := sign("tok", "https://shop.example/twilio/status", form)
	if !VerifySignature("tok", "https://shop.example/twilio/status", form, withPort) {
		t.Error("signature over the URL with :443 rejected for the URL without it")
	}
	if !VerifySignature("tok", "https://shop.example:443/twilio/status", form, withoutPort) {
		t.Error("signature over the URL without :443 rejected for the URL with it")
	}
	other := sign("tok", "https://shop.example:8443/twilio/status", form)
	if VerifySignature("tok", "https://shop.example/twilio/status", form, other) {
		t.Error("signature over another port accepted")
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name       string
		form       url.Values
		id, status string
		failed     bool
		errorCode  string
	}{
		{"message delivered",
			url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}, "AccountSid": {testSID}},
			"SM1", "delivered", false, ""},
		{"message sent", url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"sent"}}, "SM1", "sent", false, ""},
		{"message undelivered",
			url.Values{"MessageSid": {"SM2"}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}},
			"SM2", "undelivered", true, "30003"},
		{"message failed",
			url.Values{"MessageSid": {"SM3"}, "MessageStatus": {"failed"}, "ErrorCode": {"30008"}},
			"SM3", "failed", true, "30008"},
		{"legacy SmsStatus", url.Values{"MessageSid": {"SM4"}, "SmsStatus": {"delivered"}}, "SM4", "delivered", false, ""},
		{"call completed", url.Values{"CallSid": {"CA1"}, "CallStatus": {"completed"}}, "CA1", "completed", false, ""},
		{"call busy", url.Values{"CallSid": {"CA2"}, "CallStatus": {"busy"}}, "CA2", "busy", true, ""},
		{"call no-answer", url.Values{"CallSid": {"CA3"}, "CallStatus": {"no-answer"}}, "CA3", "no-answer", true, ""},
		{"call failed", url.Values{"CallSid": {"CA4"}, "CallStatus": {"failed"}, "ErrorCode": {"13224"}}, "CA4", "failed", true, "13224"},
		{"call ringing", url.Values{"CallSid": {"CA5"}, "CallStatus": {"ringing"}}, "CA5", "ringing", false, ""},
		{"neither", url.Values{"Foo": {"bar"}}, "", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, status, failed, ec := ParseStatus(tt.form)
			if id != tt.id || status != tt.status || failed != tt.failed || ec != tt.errorCode {
				t.Errorf("ParseStatus = (%q, %q, %v, %q), want (%q, %q, %v, %q)",
					id, status, failed, ec, tt.id, tt.status, tt.failed, tt.errorCode)
			}
		})
	}
}
