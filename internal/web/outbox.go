package web

import "net/http"

// The developer outbox: the messages twostep sent, kept in the database
// instead of delivered, when the outbox is the configured provider.

type outboxRow struct {
	Channel, To, Subject, Body, When string
}

type outboxData struct {
	Page     page
	Messages []outboxRow
}

func (w *Web) outboxPage(rw http.ResponseWriter, r *http.Request) {
	msgs, err := w.outbox.List(r.Context(), r.URL.Query().Get("to"), 100)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	d := outboxData{Page: w.page("Developer outbox", nil)}
	if _, u, ok := w.current(r); ok {
		d.Page.Email = u.Email
	}
	for _, m := range msgs {
		d.Messages = append(d.Messages, outboxRow{Channel: string(m.Channel), To: m.To, Subject: m.Subject, Body: m.Body, When: when(m.SentAt)})
	}
	w.render(rw, http.StatusOK, "outbox", d)
}
