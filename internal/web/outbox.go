package web

import (
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"twostep/internal/delivery"
	"twostep/internal/i18n"
)

// The developer outbox: the messages twostep sent, kept in the database
// instead of delivered, when the outbox is the configured provider.

type outboxRow struct {
	Channel, To, Subject string
	// Body is the message's plain text, escaped, with its web addresses
	// made links (messageHTML).
	Body template.HTML
	// Code is shown beside a call's words: the call reads it aloud, so
	// the kept body does not carry it.
	Code string
	When template.HTML
}

type outboxData struct {
	Page     page
	Count    string
	Messages []outboxRow
}

func (w *Web) outboxPage(rw http.ResponseWriter, r *http.Request) {
	msgs, err := w.outbox.List(r.Context(), r.URL.Query().Get("to"), 100)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	l := w.loc(r)
	d := outboxData{Page: w.page(l.T("outbox.title"), nil), Count: l.N("outbox.count", len(msgs))}
	if _, u, ok := w.current(r); ok {
		d.Page.Email = u.Email
	}
	for _, m := range msgs {
		d.Messages = append(d.Messages, outboxMessage(l, m))
	}
	w.render(rw, http.StatusOK, "outbox", d)
}

// outboxMessage shows m as its recipient would get it. A voice call's
// body is only the introduction the call speaks before reading the code
// digit by digit (twilio.SendTracked), so the page writes the whole of
// what is said, and the code again for copying.
func outboxMessage(l *i18n.Localizer, m delivery.Sent) outboxRow {
	row := outboxRow{Channel: channelWords(l, m.Channel), To: m.To, Subject: m.Subject, When: l.TimeHTML(m.SentAt)}
	body := m.Body
	if m.Channel == delivery.Voice && m.Code != "" {
		row.Code = m.Code
		if !strings.Contains(body, m.Code) {
			body = strings.TrimSpace(body) + " " + strings.Join(strings.Split(m.Code, ""), " ") + "."
		}
	}
	if row.Subject == "" {
		row.Subject = row.Channel
	}
	row.Body = messageHTML(body)
	return row
}

// channelWords names a channel as people do.
func channelWords(l *i18n.Localizer, c delivery.Channel) string {
	switch c {
	case delivery.Email, delivery.SMS, delivery.Voice:
		return l.T("outbox.channel_" + string(c))
	}
	return string(c)
}

// webAddress finds what a mail reader would make a link: an http or https
// address up to a space, a quote or an angle bracket.
var webAddress = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"'` + "`" + `]+`)

// messageHTML is plain text as HTML: everything escaped, and each http(s)
// address a link that opens without giving the new page this one
// (rel=noopener). Nothing else becomes a link, so a message can carry no
// javascript: or data: address, and no markup of its own.
func messageHTML(s string) template.HTML {
	var b strings.Builder
	last := 0
	for _, loc := range webAddress.FindAllStringIndex(s, -1) {
		start, end := loc[0], loc[1]
		// Punctuation that ends a sentence is not part of the address.
		end = start + len(strings.TrimRight(s[start:end], ".,;:!?)]}"))
		addr := s[start:end]
		u, err := url.Parse(addr)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue
		}
		b.WriteString(template.HTMLEscapeString(s[last:start]))
		b.WriteString(`<a href="` + template.HTMLEscapeString(u.String()) + `" rel="noopener noreferrer">` + template.HTMLEscapeString(addr) + `</a>`)
		last = end
	}
	b.WriteString(template.HTMLEscapeString(s[last:]))
	return template.HTML(b.String())
}
