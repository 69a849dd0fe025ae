package text

import (
	"testing"
	"time"
)

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{{0, "0 tries"}, {1, "1 try"}, {2, "2 tries"}, {21, "21 tries"}} {
		if got := Count(c.n, "try", "tries"); got != c.want {
			t.Errorf("Count(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1 second"},
		{400 * time.Millisecond, "1 second"},
		{time.Second, "1 second"},
		{30 * time.Second, "30 seconds"},
		{time.Minute, "1 minute"},
		{10 * time.Minute, "10 minutes"},
		{90 * time.Second, "1 minute 30 seconds"},
		{time.Hour, "1 hour"},
		{time.Hour + 30*time.Minute, "1 hour 30 minutes"},
		{time.Hour + 5*time.Second, "1 hour"},
		{72 * time.Hour, "3 days"},
		{27*time.Hour + 59*time.Minute, "1 day 3 hours"},
		{10*time.Minute + 400*time.Millisecond, "10 minutes"},
	} {
		if got := Duration(c.d); got != c.want {
			t.Errorf("Duration(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestWait(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{45 * time.Second, "in 45 seconds"},
		{56*time.Minute + time.Second, "in 57 minutes"},
		{time.Minute, "in 1 minute"},
		{61 * time.Second, "in 2 minutes"},
	} {
		if got := Wait(c.d); got != c.want {
			t.Errorf("Wait(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}
