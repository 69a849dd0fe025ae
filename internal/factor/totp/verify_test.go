package totp

import (
	"strings"
	"testing"
	"time"
)

var (
	verifyKey  = []byte("a 20-byte test key..")
	verifyTime = time.Unix(1_700_000_015, 0) // halfway through a 30 s step
)

// codeAt returns the code d steps from verifyTime's step.
func codeAt(d int64, p Params) string {
	return HOTP(verifyKey, uint64(Step(verifyTime, p)+d), p.Digits, p.Algorithm)
}

func TestVerify(t *testing.T) {
	p := DefaultParams()
	now := Step(verifyTime, p)

	// A six-digit code that matches no step Verify looks at.
	wrong := "000000"
	for d := int64(-MaxDriftSteps); d <= MaxDriftSteps; d++ {
		if codeAt(d, p) == wrong {
			t.Fatalf("test setup: %s matches step %+d", wrong, d)
		}
	}
	withSpace := codeAt(0, p)[:3] + " " + codeAt(0, p)[3:]
	withDash := codeAt(0, p)[:3] + "-" + codeAt(0, p)[3:]

	tests := []struct {
		name     string
		code     string
		p        Params
		lastStep int64
		want     Result
	}{
		{"current step", codeAt(0, p), p, 0, Result{OK: true, Step: now}},
		{"one step behind", codeAt(-1, p), p, 0, Result{OK: true, Step: now - 1, Offset: -30 * time.Second}},
		{"one step ahead", codeAt(1, p), p, 0, Result{OK: true, Step: now + 1, Offset: 30 * time.Second}},
		{"two steps ahead: clock off", codeAt(2, p), p, 0, Result{ClockOff: true, Step: now + 2, Offset: 60 * time.Second}},
		{"two steps behind: clock off", codeAt(-2, p), p, 0, Result{ClockOff: true, Step: now - 2, Offset: -60 * time.Second}},
		{"ten steps ahead: clock off", codeAt(10, p), p, 0, Result{ClockOff: true, Step: now + 10, Offset: 5 * time.Minute}},
		{"ten steps behind: clock off", codeAt(-10, p), p, 0, Result{ClockOff: true, Step: now - 10, Offset: -5 * time.Minute}},
		{"eleven steps ahead: refused", codeAt(11, p), p, 0, Result{}},
		{"eleven steps behind: refused", codeAt(-11, p), p, 0, Result{}},
		{"replay of the accepted step", codeAt(0, p), p, now, Result{Replay: true, Step: now}},
		{"replay of an earlier step", codeAt(-1, p), p, now, Result{Replay: true, Step: now - 1, Offset: -30 * time.Second}},
		{"step before a later accepted one", codeAt(0, p), p, now + 1, Result{Replay: true, Step: now}},
		{"later step after an accepted one", codeAt(1, p), p, now, Result{OK: true, Step: now + 1, Offset: 30 * time.Second}},
		{"old code outside the window: clock behind, even after a later sign-in", codeAt(-5, p), p, now, Result{ClockOff: true, Step: now - 5, Offset: -150 * time.Second}},
		{"wrong code", wrong, p, 0, Result{}},
		{"code with a space", withSpace, p, 0, Result{OK: true, Step: now}},
		{"code with a dash", withDash, p, 0, Result{OK: true, Step: now}},
		{"skew 0: next step is clock off", codeAt(1, p), Params{Digits: 6, Period: 30, Algorithm: SHA1, Skew: 0}, 0,
			Result{ClockOff: true, Step: now + 1, Offset: 30 * time.Second}},
		{"skew 3 accepts three steps", codeAt(-3, p), Params{Digits: 6, Period: 30, Algorithm: SHA1, Skew: 3}, 0,
			Result{OK: true, Step: now - 3, Offset: -90 * time.Second}},
		{"invalid params", codeAt(0, p), Params{Digits: 6, Period: 30, Algorithm: "MD5"}, 0, Result{}},
		{"malformed: 5 digits", "12345", p, 0, Result{}},
		{"malformed: 7 digits", "1234567", p, 0, Result{}},
		{"malformed: letter", "12a456", p, 0, Result{}},
		{"malformed: empty", "", p, 0, Result{}},
		{"malformed: full-width digits", "１２３４５６", p, 0, Result{}},
		{"malformed: code plus a digit", codeAt(0, p) + "0", p, 0, Result{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(verifyKey, tt.code, verifyTime, tt.p, tt.lastStep); got != tt.want {
				t.Errorf("Verify(%q, lastStep %d) = %+v, want %+v (now = %d)", tt.code, tt.lastStep, got, tt.want, now)
			}
		})
	}
}

// TestVerifyOtherParams exercises 8 digits, SHA256 and a 60 s period, where
// Offset is a multiple of the period.
func TestVerifyOtherParams(t *testing.T) {
	p := Params{Digits: 8, Period: 60, Algorithm: SHA256, Skew: 1}
	now := Step(verifyTime, p)
	if got, want := Verify(verifyKey, codeAt(-1, p), verifyTime, p, 0), (Result{OK: true, Step: now - 1, Offset: -time.Minute}); got != want {
		t.Errorf("Verify(-1 step) = %+v, want %+v", got, want)
	}
	if got, want := Verify(verifyKey, codeAt(4, p), verifyTime, p, 0), (Result{ClockOff: true, Step: now + 4, Offset: 4 * time.Minute}); got != want {
		t.Errorf("Verify(+4 steps) = %+v, want %+v", got, want)
	}
	six := DefaultParams()
	if got := Verify(verifyKey, codeAt(0, six), verifyTime, p, 0); got.OK {
		t.Errorf("a 6-digit code verified against 8-digit params: %+v", got)
	}
}

// TestVerifyUsesCode checks that Verify and Code agree at step boundaries,
// where an off-by-one in Step would show.
func TestVerifyUsesCode(t *testing.T) {
	p := DefaultParams()
	for _, unix := range []int64{1_700_000_010, 1_700_000_039, 1_700_000_040} {
		at := time.Unix(unix, 0)
		r := Verify(verifyKey, Code(verifyKey, at, p), at, p, 0)
		if !r.OK || r.Step != Step(at, p) || r.Offset != 0 {
			t.Errorf("Verify(Code(t), t) at %d = %+v, want OK at step %d", unix, r, Step(at, p))
		}
	}
}

func TestVerifyNearEpoch(t *testing.T) {
	p := DefaultParams()
	at := time.Unix(45, 0) // step 1: steps below 0 must be skipped, not wrapped to huge counters
	// Step 0 (1970) is in the window, but lastStep 0 means "none" and 0 <= 0,
	// so it is never accepted; that costs nothing.
	if r, want := Verify(rfcKeySHA1, HOTP(rfcKeySHA1, 0, 6, SHA1), at, p, 0), (Result{Replay: true, Step: 0, Offset: -30 * time.Second}); r != want {
		t.Errorf("Verify(step 0) = %+v, want %+v", r, want)
	}
	if r := Verify(rfcKeySHA1, HOTP(rfcKeySHA1, 1, 6, SHA1), at, p, 0); !r.OK || r.Step != 1 {
		t.Errorf("Verify(step 1) = %+v, want OK at step 1", r)
	}
	if r := Verify(rfcKeySHA1, "123456", time.Unix(-3600, 0), p, 0); r != (Result{}) {
		t.Errorf("Verify before 1970 = %+v, want a refusal", r)
	}
}

func BenchmarkVerify(b *testing.B) {
	p := DefaultParams()
	code := codeAt(0, p)
	b.ReportAllocs()
	for b.Loop() {
		if r := Verify(verifyKey, code, verifyTime, p, 0); !r.OK {
			b.Fatal("not OK")
		}
	}
}

func BenchmarkVerifyWrong(b *testing.B) {
	p := DefaultParams()
	b.ReportAllocs()
	for b.Loop() {
		if r := Verify(verifyKey, strings.Repeat("0", 6), verifyTime, p, 0); r.OK {
			b.Fatal("OK")
		}
	}
}
