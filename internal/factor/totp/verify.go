package totp

import (
	"crypto/hmac"
	"crypto/subtle"
	"time"
)

// Result is the outcome of Verify. Only OK lets the user in; Replay and
// ClockOff say why a code that matched was still refused.
type Result struct {
	// OK: the code matched a step within ±Skew of now, and that step is
	// later than lastStep. Store Step as the new lastStep.
	OK bool
	// Step is the matched step when OK, Replay or ClockOff is set.
	Step int64
	// Replay: the code matched within the window, but its step was already
	// used (step <= lastStep). Refused, as RFC 6238 §5.2 requires. Show the
	// user the same message as for a wrong code.
	Replay bool
	// ClockOff: the code matched a step outside the window but within
	// ±MaxDriftSteps. Refused, but the phone's clock is probably wrong.
	ClockOff bool
	// Offset is (matched step − current step) × period when a step matched:
	// negative when the phone is behind. For "your phone's clock is 2
	// minutes behind".
	Offset time.Duration
}

// MaxDriftSteps is how far Verify looks for a ClockOff match: ±5 minutes at
// 30 s. Such a match is never accepted; it only explains the failure.
const MaxDriftSteps = 10

// Verify checks code at time t. lastStep is the step last accepted for
// this factor (0 = none); a step <= lastStep is never accepted again.
//
// Every step in ±MaxDriftSteps is computed and compared in constant time,
// with no early exit, so timing does not reveal which step matched. When
// several match, a step that can be accepted wins over a replayed one, which
// wins over a clock-off one; within each, the step closest to now wins, and
// the earlier of two equally close steps (accepting the later one would
// burn the next code the user will see). A clock-off match is reported even for a step
// already used: it is refused either way, and a phone that runs behind
// only ever shows codes of steps older than the last accepted one.
// Invalid params or a malformed code are a plain refusal too.
func Verify(key []byte, code string, t time.Time, p Params, lastStep int64) Result {
	if p.Validate() != nil {
		return Result{}
	}
	norm, ok := NormalizeCode(code, p)
	if !ok {
		return Result{}
	}
	want := []byte(norm)
	now := Step(t, p)
	mac := hmac.New(p.Algorithm.newHash(), key)
	sc := new(scratch)
	var buf [9]byte

	// The distance from now of the first match of each kind, or noMatch.
	const noMatch int64 = MaxDriftSteps + 1
	accept, replay, clockOff := noMatch, noMatch, noMatch
	// Distances in order of preference: 0, -1, +1, -2, +2, …
	for i := 0; i <= 2*MaxDriftSteps; i++ {
		d := int64((i + 1) / 2)
		if i%2 == 1 {
			d = -d
		}
		s := now + d
		if s < 0 {
			continue
		}
		got := hotp(mac, sc, uint64(s), buf[:p.Digits])
		if subtle.ConstantTimeCompare(got, want) != 1 {
			continue
		}
		inWindow := d >= -int64(p.Skew) && d <= int64(p.Skew)
		fresh := s > lastStep
		switch {
		case inWindow && fresh && accept == noMatch:
			accept = d
		case inWindow && !fresh && replay == noMatch:
			replay = d
		case !inWindow && clockOff == noMatch:
			clockOff = d
		}
	}

	r := Result{}
	switch {
	case accept != noMatch:
		r.OK, r.Step = true, now+accept
	case replay != noMatch:
		r.Replay, r.Step = true, now+replay
	case clockOff != noMatch:
		r.ClockOff, r.Step = true, now+clockOff
	default:
		return r
	}
	r.Offset = time.Duration(r.Step-now) * time.Duration(p.Period) * time.Second
	return r
}
