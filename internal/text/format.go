package text

import (
	"strconv"
	"strings"
	"time"
)

// Count says n things in words: Count(1, "try", "tries") is "1 try",
// Count(3, "try", "tries") "3 tries". Pages and e-mails say every count
// through it, so "1 tries left" cannot happen.
func Count(n int, one, many string) string {
	if n == 1 || n == -1 {
		return strconv.Itoa(n) + " " + one
	}
	return strconv.Itoa(n) + " " + many
}

// Duration says d the way a person would, in its largest whole units, at
// most two of them: "30 seconds", "1 minute", "10 minutes", "1 hour",
// "1 hour 30 minutes", "2 days", "1 day 3 hours". It rounds to the second
// and never says "0": anything under a second is "1 second".
func Duration(d time.Duration) string {
	if d < time.Second {
		d = time.Second
	}
	d = d.Round(time.Second)
	units := []struct {
		size      time.Duration
		one, many string
	}{
		{24 * time.Hour, "day", "days"},
		{time.Hour, "hour", "hours"},
		{time.Minute, "minute", "minutes"},
		{time.Second, "second", "seconds"},
	}
	var parts []string
	for _, u := range units {
		if n := int(d / u.size); n > 0 {
			parts = append(parts, Count(n, u.one, u.many))
			d -= time.Duration(n) * u.size
		} else if len(parts) > 0 {
			break // "1 hour 5 seconds" says too much: stop at a gap
		}
		if len(parts) == 2 {
			break
		}
	}
	return strings.Join(parts, " ")
}

// Wait says how long until something is possible again, rounded up to a
// whole minute past one minute ("in 57 minutes", "in 45 seconds"), for
// lockouts and cool-downs, where saying less than the truth misleads.
func Wait(d time.Duration) string {
	if d > time.Minute {
		d = ((d + time.Minute - 1) / time.Minute) * time.Minute
	}
	return "in " + Duration(d)
}

// At says a moment a person waits for, in UTC, the zone named:
// "14:05 UTC on Thursday 3 December" (the year only when it is not the
// year of now).
func At(t, now time.Time) string {
	t = t.UTC()
	if t.Year() != now.UTC().Year() {
		return t.Format("15:04 UTC on Monday 2 January 2006")
	}
	return t.Format("15:04 UTC on Monday 2 January")
}
