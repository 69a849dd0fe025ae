package web

import (
	"html/template"
	"net/http"

	"twostep/internal/store"
)

// Remembered browsers, which skip the second step: listed on the two-step
// page, forgotten one by one or all at once.

type deviceRow struct {
	ID, Label, IP     string
	Created, LastUsed template.HTML // <time> elements (i18n.Localizer.TimeHTML)
	LastUsedText      string        // for the Forget button's label
	Current           bool
}

// deviceRows lists the user's remembered browsers for the two-step page
// (the account page links to them).
func (w *Web) deviceRows(r *http.Request, u store.User) ([]deviceRow, error) {
	devices, err := w.acct.Devices(r.Context(), w.client(r), u.ID)
	if err != nil {
		return nil, err
	}
	var rows []deviceRow
	l := w.loc(r)
	for _, dv := range devices {
		rows = append(rows, deviceRow{ID: dv.ID, Label: dv.Label, Created: l.TimeHTML(dv.CreatedAt), LastUsed: l.TimeHTML(dv.LastUsedAt),
			LastUsedText: l.When(dv.LastUsedAt), IP: dv.LastIP, Current: dv.Current})
	}
	return rows, nil
}

func (w *Web) forgetDevice(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	w.manage(rw, r, sess, u, pending{Action: actForget, ID: r.PathValue("id")})
}

func (w *Web) forgetDevices(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	w.manage(rw, r, sess, u, pending{Action: actForgetAll})
}
