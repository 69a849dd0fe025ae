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

	"twostep/internal/account"
	"twostep/internal/password"
	"twostep/internal/phone"
	"twostep/internal/ratelimit"
)

// MaxBody is the largest request body accepted.
const MaxBody = 64 << 10

// Problem is an RFC 9457 problem document with twostep's stable code.
type Problem struct {
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

// Error satisfies error so a Problem can travel up from decode.
func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

func problem(status int, code, title, detail string) *Problem {
	return &Problem{Type: "about:blank", Title: title, Status: status, Code: code, Detail: detail}
}

// WriteProblem renders p.
func WriteProblem(w http.ResponseWriter, p *Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	if p.Status == http.StatusTooManyRequests || p.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(max(p.RetryAfterS, 1)))
	}
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// fail maps an error from a flow to its problem and renders it. Errors with
// no mapping are logged and answered with a bare 500 that reveals nothing.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	WriteProblem(w, a.problemFor(r, err))
}

func (a *API) problemFor(r *http.Request, err error) *Problem {
	var (
		p       *Problem
		weak    *password.WeakError
		bad     *account.InvalidEmailError
		limited *ratelimit.Limited
		badCode *account.InvalidCodeError
		stepUp  *account.StepUpRequiredError
		badNum  *phone.InvalidError
		noSend  *account.DeliveryFailedError
	)
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &badCode):
		p := problem(http.StatusUnauthorized, "invalid_code", "Wrong code", "That code is not right. Check it and try again.")
		if hint := badCode.ClockHint(); hint != "" {
			p.Detail = hint
		}
		if badCode.AttemptsLeft >= 0 {
			n := badCode.AttemptsLeft
			p.AttemptsLeft = &n
			if n == 0 {
				p.Detail += " That was the last try for this sign-in: enter your password again."
			}
		}
		return p
	case errors.As(err, &stepUp):
		p := problem(http.StatusForbidden, "step_up_required", "Confirm it's you", "For your security, confirm it's you first: enter your password, or a code once two-step verification is on.")
		if len(stepUp.Methods) > 0 {
			p.Detail = "For your security, confirm it's you with a code from one of your methods first."
		}
		p.Methods = methodsJSON(stepUp.Methods)
		return p
	case errors.Is(err, account.ErrLastFactor):
		return problem(http.StatusConflict, "last_factor", "Last method", "This is your last sign-in method. To stop using codes, turn two-step verification off instead.")
	case errors.Is(err, account.ErrBackupRequired):
		return problem(http.StatusConflict, "backup_required", "Backup method needed", "Add a backup method (another app or recovery codes) before turning two-step verification on.")
	case errors.Is(err, account.ErrEmailNotVerified):
		return problem(http.StatusConflict, "email_not_verified", "E-mail address not confirmed", "Confirm your e-mail address with the link we sent before turning two-step verification on.")
	case errors.Is(err, account.ErrPrimaryRequired):
		return problem(http.StatusConflict, "primary_required", "Method needed", "Add and confirm a method (an authenticator app or a phone) before turning two-step verification on.")
	case errors.Is(err, account.ErrPolicyRequiresTwoStep):
		return problem(http.StatusForbidden, "policy_requires_two_step", "Two-step verification required", "This site requires two-step verification; it cannot be turned off.")
	case errors.Is(err, account.ErrSignInExpired):
		return problem(http.StatusUnauthorized, "signin_expired", "Sign-in expired", "This sign-in has expired or had too many wrong codes. Enter your e-mail and password again.")
	case errors.Is(err, account.ErrFactorNotFound):
		return problem(http.StatusNotFound, "not_found", "No such method", "You have no active method with that id.")
	case errors.Is(err, account.ErrDeviceNotFound):
		return problem(http.StatusNotFound, "not_found", "No such browser", "You have no remembered browser with that id.")
	case errors.Is(err, account.ErrAlreadyConfirmed):
		return problem(http.StatusConflict, "already_confirmed", "Already confirmed", "This method is already confirmed.")
	case errors.Is(err, account.ErrInvalidLabel):
		p := problem(http.StatusBadRequest, "invalid_label", "Label not accepted", "A label is 1 to 64 characters, on one line.")
		p.Field = "label"
		return p
	case errors.Is(err, account.ErrInvalidRole):
		p := problem(http.StatusBadRequest, "invalid_role", "Role not accepted", "Role must be \"primary\" or \"backup\"; recovery codes are always a backup.")
		p.Field = "role"
		return p
	case errors.As(err, &badNum):
		p := problem(http.StatusBadRequest, "invalid_phone", "Phone number not accepted", badNum.Reason)
		p.Field = "phone"
		return p
	case errors.Is(err, account.ErrCountryNotServed):
		p := problem(http.StatusBadRequest, "invalid_phone", "Country not served", "Codes can't be sent to numbers in that country here. Use an authenticator app instead.")
		p.Field = "phone"
		return p
	case errors.As(err, &noSend):
		p := problem(http.StatusServiceUnavailable, "delivery_failed", "We couldn't send the code", "We couldn't send the code: the delivery service is not answering. Try again in a minute, or use another way to sign in.")
		p.Methods = methodsJSON(noSend.Others)
		p.RetryAfterS = 60
		return p
	case errors.Is(err, account.ErrMethodNotAllowed):
		return problem(http.StatusForbidden, "method_not_allowed", "Method not offered", "This kind of method (or channel) is not offered on this site.")
	case errors.Is(err, account.ErrNotSendable):
		p := problem(http.StatusBadRequest, "not_sendable", "Nothing to send", "This method has no code to send: read it from your authenticator app or your recovery codes.")
		p.Field = "method_id"
		return p
	case errors.Is(err, account.ErrAlreadyEnabled):
		return problem(http.StatusConflict, "already_enabled", "Already on", "Two-step verification is already on.")
	case errors.Is(err, account.ErrTwoStepOff):
		return problem(http.StatusBadRequest, "two_step_off", "No methods", "You have no second-factor method; confirm with your password instead.")
	case errors.As(err, &limited):
		detail := fmt.Sprintf("Too many attempts. Try again in %s.", HumanDuration(limited.Seconds()))
		if limited.Seconds() >= 60 && !limited.Until.IsZero() {
			detail = fmt.Sprintf("Too many attempts. Try again in %s (after %s).", HumanDuration(limited.Seconds()), limited.Until.UTC().Format("15:04 UTC"))
		}
		p := problem(http.StatusTooManyRequests, "rate_limited", "Too many attempts", detail)
		p.RetryAfterS = limited.Seconds()
		return p
	case errors.Is(err, password.ErrBusy):
		p := problem(http.StatusServiceUnavailable, "busy", "Server busy", "The server is busy checking passwords. Try again in a moment.")
		p.RetryAfterS = password.RetryAfterSeconds(err)
		return p
	case errors.As(err, &weak):
		p := problem(http.StatusBadRequest, "weak_password", "Password not accepted", weak.Reason)
		p.Field = "password"
		return p
	case errors.As(err, &bad):
		p := problem(http.StatusBadRequest, "invalid_email", "E-mail address not accepted", bad.Reason)
		p.Field = "email"
		return p
	case errors.Is(err, account.ErrInvalidCredentials):
		return problem(http.StatusUnauthorized, "invalid_credentials", "Sign-in failed", "The e-mail address or password is wrong.")
	case errors.Is(err, account.ErrEmailTaken):
		p := problem(http.StatusConflict, "email_taken", "E-mail already registered", "An account with this e-mail address already exists. Sign in, or reset the password.")
		p.Field = "email"
		return p
	case errors.Is(err, account.ErrWrongPassword):
		p := problem(http.StatusForbidden, "wrong_password", "Current password is wrong", "The current password is wrong.")
		p.Field = "current_password"
		return p
	case errors.Is(err, account.ErrInvalidToken):
		return problem(http.StatusBadRequest, "invalid_token", "Link not valid", "This link is invalid, has expired or was already used. Ask for a new one.")
	case errors.Is(err, account.ErrNoSession):
		return problem(http.StatusUnauthorized, "unauthenticated", "Not signed in", "Sign in first.")
	case errors.Is(err, account.ErrSessionNotFound):
		return problem(http.StatusNotFound, "not_found", "No such session", "You have no live session with that id.")
	case errors.Is(err, r.Context().Err()) && r.Context().Err() != nil:
		return problem(499, "client_closed", "Request cancelled", "The request was cancelled.")
	}
	a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return problem(http.StatusInternalServerError, "internal", "Internal error", "Something went wrong on our side. Try again.")
}

// HumanDuration writes seconds as "42 seconds", "3 minutes", "2 hours".
func HumanDuration(s int) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.Itoa(n) + " " + unit + "s"
	}
	switch {
	case s < 60:
		return plural(s, "second")
	case s < 3600:
		return plural((s+59)/60, "minute")
	default:
		return plural((s+3599)/3600, "hour")
	}
}

// decode reads a JSON body into v: at most MaxBody bytes, valid UTF-8, one
// object, no unknown fields, fields of the right type.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		if strings.TrimSpace(strings.ToLower(mt)) != "application/json" {
			return problem(http.StatusUnsupportedMediaType, "unsupported_media_type", "Send JSON", "Send the body as application/json.")
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return problem(http.StatusRequestEntityTooLarge, "body_too_large", "Body too large", fmt.Sprintf("The request body is larger than %d bytes.", MaxBody))
		}
		return problem(http.StatusBadRequest, "invalid_body", "Unreadable body", "The request body could not be read.")
	}
	return DecodeJSON(body, v)
}

// DecodeJSON is the body check of decode, separate so it can be fuzzed.
func DecodeJSON(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return problem(http.StatusBadRequest, "invalid_json", "Body required", "Send a JSON object in the request body.")
	}
	if !utf8.Valid(body) {
		return problem(http.StatusBadRequest, "invalid_utf8", "Invalid text", "The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr):
			p := problem(http.StatusBadRequest, "invalid_json", "Wrong type", fmt.Sprintf("Field %q must be a %s.", typeErr.Field, jsonKind(typeErr.Type.String())))
			p.Field = typeErr.Field
			return p
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			p := problem(http.StatusBadRequest, "unknown_field", "Unknown field", fmt.Sprintf("Field %q is not accepted here.", name))
			p.Field = name
			return p
		case errors.As(err, &syntaxErr):
			return problem(http.StatusBadRequest, "invalid_json", "Malformed JSON", fmt.Sprintf("The body is not valid JSON (at byte %d).", syntaxErr.Offset))
		default:
			return problem(http.StatusBadRequest, "invalid_json", "Malformed JSON", "The body must be one JSON object.")
		}
	}
	if dec.More() {
		return problem(http.StatusBadRequest, "invalid_json", "Malformed JSON", "The body must hold exactly one JSON object.")
	}
	var rest json.RawMessage
	if err := dec.Decode(&rest); err != io.EOF {
		return problem(http.StatusBadRequest, "invalid_json", "Malformed JSON", "The body must hold exactly one JSON object.")
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
