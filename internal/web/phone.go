package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"twostep/internal/account"
	"twostep/internal/i18n"
	"twostep/internal/phone"
	"twostep/internal/store"
)

// Adding a phone: the number, shown back normalised before any code is
// sent, then the code in the wizard (setup.go).

type countryOption struct {
	Code, Name  string
	CallingCode int
	Selected    bool
}

type phoneData struct {
	Page          page
	FormError     string
	Step          int
	Countries     []countryOption
	PhoneField    field
	Channel       string
	Checked, E164 string
	// Wizard: two-step verification is off and this is one of its steps;
	// adding a phone later is no wizard.
	Wizard bool
}

func (w *Web) phoneForm(rw http.ResponseWriter, r *http.Request, status int, u store.User, step int, country, input, channel, errMsg string) {
	if country == "" {
		country = phone.CountryFromAcceptLanguage(r.Header.Get("Accept-Language"))
	}
	l := w.loc(r)
	d := phoneData{Page: w.page(l.T("phone.title"), &u), Step: step, Channel: channel, Wizard: step > 0 && !u.TwoStepEnabled,
		PhoneField: field{Name: "phone", Label: l.T("phone.number"), Type: "tel", Value: input, Autocomplete: "tel-national", Required: true, Autofocus: true, Error: errMsg, Inputmode: "tel"}}
	// Countries are named in the page's language (CLDR's names, through
	// x/text/language/display) and listed in its alphabetical order.
	names := display.Regions(l.Tag())
	for _, c := range phone.Countries() {
		name := c.Name
		if reg, err := language.ParseRegion(c.Code); err == nil && names != nil && l.Tag() != i18n.English {
			if n := names.Name(reg); n != "" {
				name = n
			}
		}
		d.Countries = append(d.Countries, countryOption{Code: c.Code, Name: name, CallingCode: c.CallingCode, Selected: c.Code == country})
	}
	if l.Tag() != i18n.English {
		order := collate.New(l.Tag())
		slices.SortStableFunc(d.Countries, func(a, b countryOption) int { return order.CompareString(a.Name, b.Name) })
	}
	w.render(rw, status, "phone", d)
}

func (w *Web) phonePage(rw http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	step, _ := strconv.Atoi(r.URL.Query().Get("step"))
	w.phoneForm(rw, r, http.StatusOK, u, step, "", "", "sms", "")
}

// phoneCheck shows the number back, normalised, before any code is sent.
func (w *Web) phoneCheck(rw http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	step, _ := strconv.Atoi(r.PostFormValue("step"))
	country, input, channel := r.PostFormValue("country"), r.PostFormValue("phone"), r.PostFormValue("channel")
	if channel != "voice" {
		channel = "sms"
	}
	num, err := phone.Parse(input, country, channel)
	if err != nil {
		var bad *phone.InvalidError
		msg := w.loc(r).T("phone.not_accepted")
		if errors.As(err, &bad) {
			msg = bad.Reason
		}
		w.phoneForm(rw, r, http.StatusBadRequest, u, step, country, input, channel, msg)
		return
	}
	w.render(rw, http.StatusOK, "phone", phoneData{Page: w.page(w.loc(r).T("phone.check_title"), &u), Step: step, Channel: channel, Checked: num.International(), E164: num.E164, Wizard: step > 0 && !u.TwoStepEnabled})
}

func (w *Web) phoneSend(rw http.ResponseWriter, r *http.Request, sess store.Session, u store.User) {
	if err := parseForm(rw, r); err != nil {
		w.badForm(rw)
		return
	}
	step, _ := strconv.Atoi(r.PostFormValue("step"))
	p := pending{Action: actAddPhone, Phone: r.PostFormValue("phone"), Via: r.PostFormValue("channel"), Step: step}
	f, _, err := w.acct.AddPhone(r.Context(), w.client(r), sess, u, p.Phone, "", p.Via, "")
	if err != nil {
		var su *account.StepUpRequiredError
		if errors.As(err, &su) { // the phone is added once they have confirmed
			w.stepUpFor(rw, r, p)
			return
		}
		status, msg := w.why(r, err)
		if status >= 500 && status != http.StatusServiceUnavailable {
			w.fail(rw, r, err)
			return
		}
		w.phoneForm(rw, r, status, u, step, "", "", p.Via, msg)
		return
	}
	http.Redirect(rw, r, "/account/two-step/setup?step="+strconv.Itoa(max(step, 1))+"&factor="+f.ID, http.StatusSeeOther)
}
