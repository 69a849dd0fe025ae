package web

import (
	"html/template"
	"time"
)

// timeHTML is t for a page: a <time> element whose text is when(t), in
// UTC, and whose datetime attribute lets /static/time.js say it in the
// reader's own time zone and language. Without script the UTC text stays,
// which names its zone. A zero t is "never", with no element.
func timeHTML(t time.Time) template.HTML {
	if t.IsZero() {
		return template.HTML(template.HTMLEscapeString(when(t)))
	}
	u := t.UTC()
	return template.HTML(`<time datetime="` + u.Format(time.RFC3339) + `">` + template.HTMLEscapeString(when(u)) + `</time>`)
}
