// Package webhook delivers messages by POSTing them, signed, as JSON to a
// URL of the operator's choosing, so any SMS or voice gateway can be
// plugged in with a few lines on its side.
//
// Each request carries the message as a Payload and two headers:
//
//	X-Twostep-Timestamp: 1767225600
//	X-Twostep-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// A receiver checks both with Verify before trusting the body, which
// contains the one-time code. Signing the timestamp with the body lets it
// reject replays of an old request.
package webhook
