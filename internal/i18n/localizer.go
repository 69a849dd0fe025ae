package i18n

import (
	"context"
	"fmt"
	"html/template"
	"strconv"
	"time"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Localizer says messages in one language, falling back to English for a
// message its catalogue lacks.
type Localizer struct {
	cat *Catalogue
	tag language.Tag
	l   *goi18n.Localizer
}

// English is the English localizer of the same catalogue: for words
// stored in English before the catalogues (a method's default name).
func (l *Localizer) English() *Localizer { return l.cat.In(English) }

// Tag is the language.
func (l *Localizer) Tag() language.Tag { return l.tag }

// Lang is the language as a BCP 47 tag, for <html lang> and <Say
// language>, and as users.language stores it.
func (l *Localizer) Lang() string { return l.tag.String() }

// Dir is "rtl" for a language written right to left, else "ltr".
func (l *Localizer) Dir() string {
	s, _ := l.tag.Script()
	switch s.String() {
	case "Arab", "Hebr", "Thaa", "Syrc", "Nkoo", "Adlm", "Rohg", "Mand", "Samr":
		return "rtl"
	}
	return "ltr"
}

// T is the message id with its data given as name, value pairs:
// T("signin.lead_app", "App", name).
func (l *Localizer) T(id string, pairs ...any) string {
	s, _ := l.localize(id, nil, pairs)
	return s
}

// N is the plural message id for count n ({{.Count}} in the message),
// in the form the language's CLDR rules pick for n.
func (l *Localizer) N(id string, n int, pairs ...any) string {
	s, _ := l.localize(id, n, pairs)
	return s
}

// HTML is T for a page: the catalogue's text is trusted as HTML (it may
// hold a <strong> or a link, and its apostrophes stay as typed), the data
// is escaped unless it is template.HTML already.
func (l *Localizer) HTML(id string, pairs ...any) template.HTML {
	s, _ := l.localize(id, nil, escapeData(pairs))
	return template.HTML(s)
}

// HTMLN is N for a page, as HTML is T.
func (l *Localizer) HTMLN(id string, n int, pairs ...any) template.HTML {
	s, _ := l.localize(id, n, escapeData(pairs))
	return template.HTML(s)
}

func escapeData(pairs []any) []any {
	out := make([]any, len(pairs))
	copy(out, pairs)
	for i := 1; i < len(out); i += 2 {
		switch v := out[i].(type) {
		case template.HTML:
			out[i] = string(v)
		case string:
			out[i] = template.HTMLEscapeString(v)
		}
	}
	return out
}

// localize is the message with its error: a message missing from this
// language (said in English instead), a plural form missing (said in the
// "other" form), or a message missing from every catalogue (said as its
// id, which the tests make impossible).
func (l *Localizer) localize(id string, count any, pairs []any) (string, error) {
	data := map[string]any{"Site": l.cat.site}
	for i := 0; i+1 < len(pairs); i += 2 {
		if k, ok := pairs[i].(string); ok {
			data[k] = pairs[i+1]
		}
	}
	if count != nil {
		data["Count"] = count
	}
	s, err := l.l.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
	if s == "" && err != nil {
		return id, err
	}
	return s, err
}

// Duration says d in its largest whole units, at most two of them ("1
// hour 30 minutes", "2 days"), rounded to the second and never "0".
func (l *Localizer) Duration(d time.Duration) string {
	if d < time.Second {
		d = time.Second
	}
	d = d.Round(time.Second)
	units := []struct {
		size time.Duration
		id   string
	}{
		{24 * time.Hour, "duration.days"},
		{time.Hour, "duration.hours"},
		{time.Minute, "duration.minutes"},
		{time.Second, "duration.seconds"},
	}
	var parts []string
	for _, u := range units {
		if n := int(d / u.size); n > 0 {
			parts = append(parts, l.N(u.id, n))
			d -= time.Duration(n) * u.size
		} else if len(parts) > 0 {
			break // "1 hour 5 seconds" says too much: stop at a gap
		}
		if len(parts) == 2 {
			break
		}
	}
	if len(parts) == 2 {
		return l.T("duration.pair", "First", parts[0], "Second", parts[1])
	}
	return parts[0]
}

// Wait says how long until something is possible again, rounded up to a
// whole minute past one minute ("in 57 minutes"), for lockouts and
// cool-downs, where saying less than the truth misleads.
func (l *Localizer) Wait(d time.Duration) string {
	if d > time.Minute {
		d = ((d + time.Minute - 1) / time.Minute) * time.Minute
	}
	return l.T("duration.in", "Duration", l.Duration(d))
}

// Clock is t's time of day in UTC, the zone named: "14:05 UTC".
func (l *Localizer) Clock(t time.Time) string {
	return l.T("time.clock", "Time", t.UTC().Format("15:04"))
}

// Date is t's day in UTC: "3 December 2026".
func (l *Localizer) Date(t time.Time) string {
	t = t.UTC()
	return l.T("time.date", "Day", t.Day(), "Month", l.month(t), "Year", t.Year())
}

// When is a moment on a page or in an e-mail: "3 Dec 2026, 14:05 UTC"; a
// zero t is "never".
func (l *Localizer) When(t time.Time) string {
	if t.IsZero() {
		return l.T("time.never")
	}
	t = t.UTC()
	return l.T("time.when", "Day", t.Day(), "Month", l.T(fmt.Sprintf("month_short.%d", int(t.Month()))), "Year", t.Year(), "Time", t.Format("15:04"))
}

// Full is a moment in an e-mail, with its weekday: "Tue, 4 Mar 2025
// 06:06 UTC".
func (l *Localizer) Full(t time.Time) string {
	t = t.UTC()
	return l.T("time.full", "Weekday", l.T("weekday_short."+strconv.Itoa(int(t.Weekday()))), "Day", t.Day(),
		"Month", l.T(fmt.Sprintf("month_short.%d", int(t.Month()))), "Year", t.Year(), "Time", t.Format("15:04"))
}

// At says a moment a person waits for, in UTC, the zone named: "14:05 UTC
// on Thursday 3 December", with the year only when it is not now's.
func (l *Localizer) At(t, now time.Time) string {
	t = t.UTC()
	id := "time.at"
	if t.Year() != now.UTC().Year() {
		id = "time.at_year"
	}
	return l.T(id, "Time", t.Format("15:04"), "Weekday", l.T("weekday."+strconv.Itoa(int(t.Weekday()))),
		"Day", t.Day(), "Month", l.month(t), "Year", t.Year())
}

func (l *Localizer) month(t time.Time) string { return l.T(fmt.Sprintf("month.%d", int(t.Month()))) }

// TimeHTML is t for a page: a <time> element whose text is When(t), in
// UTC, and whose datetime attribute lets /static/time.js say it in the
// reader's own time zone and language. Without script the UTC text stays,
// which names its zone. A zero t is "never", with no element.
func (l *Localizer) TimeHTML(t time.Time) template.HTML {
	if t.IsZero() {
		return template.HTML(template.HTMLEscapeString(l.When(t)))
	}
	u := t.UTC()
	return template.HTML(`<time datetime="` + u.Format(time.RFC3339) + `">` + template.HTMLEscapeString(l.When(u)) + `</time>`)
}

type ctxKey struct{}

// With is ctx carrying l, the language of the request it belongs to.
func With(ctx context.Context, l *Localizer) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// From is the localizer ctx carries, or nil.
func From(ctx context.Context) *Localizer {
	if ctx == nil {
		return nil
	}
	l, _ := ctx.Value(ctxKey{}).(*Localizer)
	return l
}
