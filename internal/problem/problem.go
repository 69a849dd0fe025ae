// Package problem is twostep's one vocabulary for refusals: every error a
// flow can return maps here to a status, a stable code, a title and a
// message a person can act on, and the input at fault. The API renders a
// Problem as RFC 9457 JSON, the pages as a message beside the field, so
// the two surfaces cannot say different things about the same error.
package problem

import (
	"context"
	"errors"
	"net/http"

	"twostep/internal/i18n"
	"twostep/internal/store"
)

// english says problems found without a request's language (tests, the
// commands): the embedded catalogues, read once and never changed.
var english = i18n.MustLoad("twostep").In(i18n.English)

// Problem is a refusal as both surfaces show it.
type Problem struct {
	// Status is the HTTP status.
	Status int
	// Code is the stable, machine-readable name (API.md): never reworded.
	Code  string
	Title string
	// Detail says what happened and what to do, in a sentence.
	Detail string
	// Field names the input at fault ("email", "phone"), if one is.
	Field string
	// RetryAfter is the seconds to wait before trying again, with 429 and
	// 503.
	RetryAfter int
	// AttemptsLeft is how many codes a pending sign-in still accepts; nil
	// when the code was not counted against one.
	AttemptsLeft *int
	// Methods are the ways to re-verify (step_up_required) or to sign in
	// instead (delivery_failed).
	Methods []store.Factor
	// loc is the language Title and Detail are in, for Message.
	loc *i18n.Localizer
}

// New returns a problem without a field.
func New(status int, code, title, detail string) *Problem {
	return &Problem{Status: status, Code: code, Title: title, Detail: detail}
}

// Error lets a Problem travel up as an error: For returns it unchanged.
func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// Internal reports the server's own failure, which the surfaces log and
// never explain.
func (p *Problem) Internal() bool { return p.Status == http.StatusInternalServerError }

// Message is the detail as a page shows it: the tries left, which the API
// gives as a field of their own, are said in words.
func (p *Problem) Message() string {
	if p.AttemptsLeft != nil && *p.AttemptsLeft > 0 {
		l := p.loc
		if l == nil {
			l = english
		}
		return p.Detail + " " + l.N("problem.tries_left", *p.AttemptsLeft)
	}
	return p.Detail
}

// say is the problem key of the catalogues names (problem.<key>.title and
// .detail), in l's language, with the detail's data as name, value pairs.
func say(l *i18n.Localizer, status int, code, key string, pairs ...any) *Problem {
	return &Problem{Status: status, Code: code, Title: l.T("problem." + key + ".title"), Detail: l.T("problem."+key+".detail", pairs...), loc: l}
}

// For is the problem for err, from a request whose context is ctx, in the
// request's language (i18n.From; English without one). A *Problem is
// returned as it is; an error caused by the client going away is
// client_closed; an error no rule knows is internal.
func For(ctx context.Context, err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	l := i18n.From(ctx)
	if l == nil {
		l = english
	}
	if p, ok := lookup(err, l); ok {
		if p.loc == nil {
			p.loc = l
		}
		return p
	}
	if ctx != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return say(l, 499, "client_closed", "client_closed")
	}
	return internal(l)
}

func internal(l *i18n.Localizer) *Problem {
	return say(l, http.StatusInternalServerError, "internal", "internal")
}

// lookup is the first rule that knows err.
func lookup(err error, l *i18n.Localizer) (*Problem, bool) {
	for _, r := range rules {
		if p := r.match(err, l); p != nil {
			return p, true
		}
	}
	return nil, false
}

// rule maps the errors it knows to their problem in l's language, and nil
// otherwise.
type rule struct {
	match func(err error, l *i18n.Localizer) *Problem
}

// is maps a sentinel (matched with errors.Is) to the problem whose words
// are problem.<key> in the catalogues. The problem is made for each
// error, so callers may change theirs.
func is(target error, status int, code, key, field string) rule {
	return rule{match: func(err error, l *i18n.Localizer) *Problem {
		if !errors.Is(err, target) {
			return nil
		}
		p := say(l, status, code, key)
		p.Field = field
		return p
	}}
}

// isWith maps a sentinel to a problem built from the whole error.
func isWith(target error, build func(error, *i18n.Localizer) *Problem) rule {
	return rule{match: func(err error, l *i18n.Localizer) *Problem {
		if !errors.Is(err, target) {
			return nil
		}
		return build(err, l)
	}}
}

// as maps an error type (matched with errors.As) to a problem built from
// the error's value.
func as[E error](build func(E, *i18n.Localizer) *Problem) rule {
	return rule{match: func(err error, l *i18n.Localizer) *Problem {
		var e E
		if !errors.As(err, &e) {
			return nil
		}
		return build(e, l)
	}}
}

// isInternal marks an error that reaching a surface would be a bug or an
// outage (a row missing, a key gone): it is logged, and the person is told
// only that something went wrong.
func isInternal(target error) rule {
	return rule{match: func(err error, l *i18n.Localizer) *Problem {
		if !errors.Is(err, target) {
			return nil
		}
		return internal(l)
	}}
}

// asInternal is isInternal for an error type.
func asInternal[E error]() rule {
	return as(func(_ E, l *i18n.Localizer) *Problem { return internal(l) })
}
