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

	"twostep/internal/store"
	"twostep/internal/text"
)

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
		return p.Detail + " " + text.Count(*p.AttemptsLeft, "try", "tries") + " left."
	}
	return p.Detail
}

// For is the problem for err, from a request whose context is ctx. A
// *Problem is returned as it is; an error caused by the client going away
// is client_closed; an error no rule knows is internal.
func For(ctx context.Context, err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	if p, ok := lookup(err); ok {
		return p
	}
	if ctx != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return New(499, "client_closed", "Request cancelled", "The request was cancelled.")
	}
	return internal()
}

func internal() *Problem {
	return New(http.StatusInternalServerError, "internal", "Internal error", "Something went wrong on our side. Try again.")
}

// lookup is the first rule that knows err.
func lookup(err error) (*Problem, bool) {
	for _, r := range rules {
		if p := r.match(err); p != nil {
			return p, true
		}
	}
	return nil, false
}

// rule maps the errors it knows to their problem, and nil otherwise.
type rule struct {
	match func(error) *Problem
}

// is maps a sentinel (matched with errors.Is) to a fixed problem. The
// problem is copied for each error, so callers may change theirs.
func is(target error, status int, code, title, detail, field string) rule {
	return rule{match: func(err error) *Problem {
		if !errors.Is(err, target) {
			return nil
		}
		p := New(status, code, title, detail)
		p.Field = field
		return p
	}}
}

// isWith maps a sentinel to a problem built from the whole error.
func isWith(target error, build func(error) *Problem) rule {
	return rule{match: func(err error) *Problem {
		if !errors.Is(err, target) {
			return nil
		}
		return build(err)
	}}
}

// as maps an error type (matched with errors.As) to a problem built from
// the error's value.
func as[E error](build func(E) *Problem) rule {
	return rule{match: func(err error) *Problem {
		var e E
		if !errors.As(err, &e) {
			return nil
		}
		return build(e)
	}}
}

// isInternal marks an error that reaching a surface would be a bug or an
// outage (a row missing, a key gone): it is logged, and the person is told
// only that something went wrong.
func isInternal(target error) rule {
	return rule{match: func(err error) *Problem {
		if !errors.Is(err, target) {
			return nil
		}
		return internal()
	}}
}

// asInternal is isInternal for an error type.
func asInternal[E error]() rule {
	return as(func(E) *Problem { return internal() })
}
