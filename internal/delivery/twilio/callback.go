package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/url"
	"slices"
	"strings"
)

// SignatureHeader is the request header carrying Twilio's signature.
const SignatureHeader = "X-Twilio-Signature"

// VerifySignature reports whether signature (the X-Twilio-Signature header)
// was made by Twilio with authToken for a POST of form to fullURL.
//
// Twilio signs the full URL it called, query string included, followed by
// every POST parameter sorted by name, each name immediately followed by
// its value, with HMAC-SHA1 keyed by the auth token, in base64. fullURL
// must be the URL as Twilio called it (the configured callback URL), not
// as a proxy rewrote it. Like Twilio's own helper libraries, it also
// accepts the URL with the default port added or removed, since Twilio
// may sign either form.
//
// The comparison takes constant time.
func VerifySignature(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	got := []byte(signature)
	ok := false
	for _, u := range urlVariants(fullURL) {
		want := []byte(sign(authToken, u, form))
		// Every variant is compared, so timing does not depend on which
		// one matched.
		if subtle.ConstantTimeCompare(got, want) == 1 {
			ok = true
		}
	}
	return ok
}

// sign computes Twilio's request signature.
func sign(authToken, fullURL string, form url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		values := slices.Clone(form[k])
		slices.Sort(values)
		for _, v := range values {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// urlVariants returns raw and, for http(s) URLs, the same URL with the
// scheme's default port toggled.
func urlVariants(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return []string{raw}
	}
	var port string
	switch u.Scheme {
	case "https":
		port = "443"
	case "http":
		port = "80"
	default:
		return []string{raw}
	}
	alt := *u
	if u.Port() == "" {
		alt.Host = net.JoinHostPort(u.Hostname(), port)
	} else if u.Port() == port {
		alt.Host = u.Hostname()
		if strings.Contains(alt.Host, ":") {
			alt.Host = "[" + alt.Host + "]"
		}
	} else {
		return []string{raw}
	}
	return []string{raw, alt.String()}
}

// ParseStatus reads a status callback of a message (MessageSid,
// MessageStatus) or a call (CallSid, CallStatus). providerID is the SID
// SendTracked returned; status is Twilio's word for the new state
// ("sent", "delivered", "completed", …). failed is true for a final state
// in which the recipient got nothing: a message that is "failed",
// "undelivered" or "canceled", a call that is "failed", "busy",
// "no-answer" or "canceled". errorCode is Twilio's ErrorCode, if any
// (e.g. "30003" for an unreachable handset).
//
// Check the request with VerifySignature first.
func ParseStatus(form url.Values) (providerID, status string, failed bool, errorCode string) {
	errorCode = form.Get("ErrorCode")
	if sid := form.Get("MessageSid"); sid != "" {
		status = form.Get("MessageStatus")
		if status == "" {
			status = form.Get("SmsStatus") // the older name, still sent
		}
		switch status {
		case "failed", "undelivered", "canceled":
			failed = true
		}
		return sid, status, failed, errorCode
	}
	if sid := form.Get("CallSid"); sid != "" {
		status = form.Get("CallStatus")
		switch status {
		case "failed", "busy", "no-answer", "canceled":
			failed = true
		}
		return sid, status, failed, errorCode
	}
	return "", "", false, errorCode
}
