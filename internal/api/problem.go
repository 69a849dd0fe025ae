package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"twostep/internal/i18n"
	"twostep/internal/problem"
	"twostep/internal/server"
)

// Problem is a refusal in twostep's one vocabulary (package problem),
// rendered here as an RFC 9457 problem document.
type Problem = problem.Problem

// problemJSON is the RFC 9457 document, with twostep's stable code.
type problemJSON struct {
	Type        string `json:"type"`
	Title       string `json:"title"`
	Status      int    `json:"status"`
	Code        string `json:"code"`
	Detail      string `json:"detail,omitempty"`
	RetryAfterS int    `json:"retry_after_s,omitempty"`
	Field       string `json:"field,omitempty"`
	// AttemptsLeft is how many codes a pending sign-in still accepts.
	AttemptsLeft *int `json:"attempts_left,omitempty"`
	// Methods are the ways to re-verify, with step_up_required.
	Methods []methodJSON `json:"methods,omitempty"`
}

// WriteProblem renders p.
func WriteProblem(w http.ResponseWriter, p *Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	if p.Status == http.StatusTooManyRequests || p.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(max(p.RetryAfter, 1)))
	}
	w.WriteHeader(p.Status)
	doc := problemJSON{Type: "about:blank", Title: p.Title, Status: p.Status, Code: p.Code, Detail: p.Detail,
		RetryAfterS: p.RetryAfter, Field: p.Field, AttemptsLeft: p.AttemptsLeft}
	if len(p.Methods) > 0 {
		doc.Methods = methodsJSON(p.Methods)
	}
	json.NewEncoder(w).Encode(doc)
}

// WriteError renders err as its problem: the API's error writer, for the
// requests the server refuses before any handler.
func (a *API) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	a.fail(w, r, err)
}

// fail maps an error from a flow to its problem and renders it. Errors with
// no mapping are logged and answered with a bare 500 that reveals nothing.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	WriteProblem(w, a.problemFor(r, err))
}

// problemFor is err's problem in the language the client asks for
// (Accept-Language, else the site's default); code stays the stable name.
func (a *API) problemFor(r *http.Request, err error) *Problem {
	loc := a.acct.Messages().Negotiate("", r.Header.Get("Accept-Language"))
	p := problem.For(i18n.With(r.Context(), loc), err)
	if p.Internal() {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	return p
}

func newProblem(status int, code, title, detail string) *Problem {
	return problem.New(status, code, title, detail)
}

// decode reads a JSON body into v: at most server.MaxBody bytes, valid UTF-8, one
// object, no unknown fields, fields of the right type.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		if strings.TrimSpace(strings.ToLower(mt)) != "application/json" {
			return newProblem(http.StatusUnsupportedMediaType, "unsupported_media_type", "Send JSON", "Send the body as application/json.")
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, server.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return newProblem(http.StatusRequestEntityTooLarge, "body_too_large", "Body too large", fmt.Sprintf("The request body is larger than %d bytes.", server.MaxBody))
		}
		return newProblem(http.StatusBadRequest, "invalid_body", "Unreadable body", "The request body could not be read.")
	}
	return DecodeJSON(body, v)
}

// DecodeJSON is the body check of decode, separate so it can be fuzzed.
func DecodeJSON(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return newProblem(http.StatusBadRequest, "invalid_json", "Body required", "Send a JSON object in the request body.")
	}
	if !utf8.Valid(body) {
		return newProblem(http.StatusBadRequest, "invalid_utf8", "Invalid text", "The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr):
			p := newProblem(http.StatusBadRequest, "invalid_json", "Wrong type", fmt.Sprintf("Field %q must be a %s.", typeErr.Field, jsonKind(typeErr.Type.String())))
			p.Field = typeErr.Field
			return p
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			p := newProblem(http.StatusBadRequest, "unknown_field", "Unknown field", fmt.Sprintf("Field %q is not accepted here.", name))
			p.Field = name
			return p
		case errors.As(err, &syntaxErr):
			return newProblem(http.StatusBadRequest, "invalid_json", "Malformed JSON", fmt.Sprintf("The body is not valid JSON (at byte %d).", syntaxErr.Offset))
		default:
			return newProblem(http.StatusBadRequest, "invalid_json", "Malformed JSON", "The body must be one JSON object.")
		}
	}
	if dec.More() {
		return newProblem(http.StatusBadRequest, "invalid_json", "Malformed JSON", "The body must hold exactly one JSON object.")
	}
	var rest json.RawMessage
	if err := dec.Decode(&rest); err != io.EOF {
		return newProblem(http.StatusBadRequest, "invalid_json", "Malformed JSON", "The body must hold exactly one JSON object.")
	}
	return nil
}

func jsonKind(goType string) string {
	switch goType {
	case "string":
		return "string"
	case "bool":
		return "boolean (true or false)"
	case "int", "int64", "float64":
		return "number"
	}
	if strings.HasPrefix(goType, "api.") || strings.HasPrefix(goType, "struct") {
		return "object"
	}
	return goType
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}
