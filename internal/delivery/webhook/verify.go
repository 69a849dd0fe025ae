package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a request's timestamp may be from the
// receiver's clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// Errors returned by Verify.
var (
	ErrBadTimestamp = errors.New("webhook: malformed timestamp")
	ErrStale        = errors.New("webhook: timestamp outside tolerance")
	ErrBadSignature = errors.New("webhook: signature mismatch")
)

// Sign returns the X-Twostep-Signature value for body sent at timestamp
// (unix seconds, as in X-Twostep-Timestamp): "v1=" followed by the hex
// HMAC-SHA256 of timestamp + "." + body keyed with secret.
func Sign(secret, timestamp string, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a delivery request on the receiving side: timestamp and
// signature are the X-Twostep-Timestamp and X-Twostep-Signature headers,
// body the raw request body, now the receiver's clock.
//
// It returns ErrStale when the timestamp is more than tolerance away from
// now in either direction (DefaultTolerance when tolerance is not
// positive), so a captured request cannot be replayed later, and
// ErrBadSignature unless signature holds a "v1=" entry that matches.
// signature may list several comma-separated entries, to let a sender
// sign with an old and a new secret while the receiver rotates. The
// comparison takes constant time.
func Verify(secret, timestamp string, body []byte, signature string, now time.Time, tolerance time.Duration) error {
	if secret == "" {
		return ErrBadSignature
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	skew := now.Sub(time.Unix(sec, 0))
	if skew > tolerance || skew < -tolerance {
		return ErrStale
	}
	want := mac(secret, timestamp, body)
	ok := false
	for entry := range strings.SplitSeq(signature, ",") {
		v, found := strings.CutPrefix(strings.TrimSpace(entry), "v1=")
		if !found {
			continue
		}
		got, err := hex.DecodeString(v)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}
