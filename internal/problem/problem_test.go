package problem_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"twostep/internal/account"
	"twostep/internal/password"
	"twostep/internal/phone"
	"twostep/internal/problem"
	"twostep/internal/ratelimit"
	"twostep/internal/server"
	"twostep/internal/store"
)

func TestFor(t *testing.T) {
	until := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	methods := []store.Factor{{ID: "f1", Kind: "totp"}}
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
		field  string
		// detail holds words the detail must say; notSaid, words it must not.
		detail, notSaid string
		retry           int
	}{
		{name: "credentials", err: account.ErrInvalidCredentials, status: 401, code: "invalid_credentials", detail: "The e-mail address or password is wrong."},
		{name: "wrapped", err: fmt.Errorf("sign in: %w", account.ErrInvalidCredentials), status: 401, code: "invalid_credentials"},
		{name: "e-mail taken", err: account.ErrEmailTaken, status: 409, code: "email_taken", field: "email"},
		{name: "wrong password", err: account.ErrWrongPassword, status: 403, code: "wrong_password", field: "current_password"},
		{name: "weak password", err: &password.WeakError{Reason: "Too short."}, status: 400, code: "weak_password", field: "password", detail: "Too short."},
		{name: "bad address", err: &account.InvalidEmailError{Reason: "No @."}, status: 400, code: "invalid_email", field: "email", detail: "No @."},
		{name: "bad number", err: &phone.InvalidError{Reason: "Too short for Canada."}, status: 400, code: "invalid_phone", field: "phone", detail: "Too short for Canada."},
		{name: "country", err: account.ErrCountryNotServed, status: 400, code: "invalid_phone", field: "phone"},
		// Phones count as a method: the pages no longer ask for an app.
		{name: "primary", err: account.ErrPrimaryRequired, status: 409, code: "primary_required", detail: "a phone", notSaid: "Set up your authenticator app first"},
		{name: "backup", err: account.ErrBackupRequired, status: 409, code: "backup_required"},
		{name: "not verified", err: account.ErrEmailNotVerified, status: 409, code: "email_not_verified"},
		// E-mail codes fail too: no blaming text and call providers.
		{name: "delivery", err: &account.DeliveryFailedError{Others: methods}, status: 503, code: "delivery_failed", detail: "delivery service", notSaid: "text and call", retry: 60},
		// A method with nothing to send is the person's mistake, not a 500.
		{name: "not sendable", err: account.ErrNotSendable, status: 400, code: "not_sendable", field: "method_id"},
		{name: "label", err: account.ErrInvalidLabel, status: 400, code: "invalid_label", field: "label"},
		{name: "role", err: account.ErrInvalidRole, status: 400, code: "invalid_role", field: "role"},
		{name: "limited", err: &ratelimit.Limited{RetryAfter: 90 * time.Second, Until: until}, status: 429, code: "rate_limited", detail: "2 minutes (after 05:06 UTC)", retry: 90},
		{name: "limited briefly", err: &ratelimit.Limited{RetryAfter: 5 * time.Second, Until: until}, status: 429, code: "rate_limited", detail: "Try again in 5 seconds.", retry: 5},
		{name: "busy", err: &password.BusyError{RetryAfter: 2500 * time.Millisecond}, status: 503, code: "busy", retry: 3},
		{name: "busy bare", err: password.ErrBusy, status: 503, code: "busy", retry: 1},
		{name: "busy via account", err: fmt.Errorf("sign in: %w", account.ErrBusy), status: 503, code: "busy", retry: 1},
		{name: "cross origin", err: server.ErrCrossOrigin, status: 403, code: "cross_origin"},
		{name: "not found leaked", err: fmt.Errorf("load: %w", store.ErrNotFound), status: 500, code: "internal", notSaid: "store"},
		{name: "unknown", err: errors.New("disk on fire"), status: 500, code: "internal", notSaid: "fire"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := problem.For(context.Background(), tc.err)
			if p.Status != tc.status || p.Code != tc.code || p.Field != tc.field || p.RetryAfter != tc.retry {
				t.Errorf("For(%v) = %d %s field %q retry %d, want %d %s field %q retry %d",
					tc.err, p.Status, p.Code, p.Field, p.RetryAfter, tc.status, tc.code, tc.field, tc.retry)
			}
			if p.Title == "" || p.Detail == "" {
				t.Errorf("For(%v) has no title or detail: %+v", tc.err, p)
			}
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q does not say %q", p.Detail, tc.detail)
			}
			if tc.notSaid != "" && strings.Contains(p.Detail, tc.notSaid) {
				t.Errorf("detail %q says %q", p.Detail, tc.notSaid)
			}
			if p.Internal() != (tc.status == 500) {
				t.Errorf("Internal() = %v for status %d", p.Internal(), p.Status)
			}
		})
	}
}

// TestProblemsAreFresh: a surface may set a field on its copy (the API
// names the new password's field) without changing the next answer.
func TestProblemsAreFresh(t *testing.T) {
	p := problem.For(context.Background(), account.ErrWrongPassword)
	p.Field = "password"
	if q := problem.For(context.Background(), account.ErrWrongPassword); q.Field != "current_password" {
		t.Fatalf("second problem has field %q: the first one's change leaked", q.Field)
	}
}

func TestCodes(t *testing.T) {
	left := func(n int) error { return &account.InvalidCodeError{AttemptsLeft: n} }
	for _, tc := range []struct {
		name         string
		err          error
		attemptsLeft *int
		detail, page string
	}{
		{"not counted", left(-1), nil, "That code is not right. Check it and try again.", "That code is not right. Check it and try again."},
		{"tries left", left(2), ptr(2), "That code is not right. Check it and try again.", "That code is not right. Check it and try again. 2 tries left."},
		{"one try left", left(1), ptr(1), "That code is not right. Check it and try again.", "That code is not right. Check it and try again. 1 try left."},
		{"last try", left(0), ptr(0), "That code is not right. Check it and try again. That was the last try for this sign-in: enter your password again.", ""},
		{"clock", &account.InvalidCodeError{AttemptsLeft: -1, ClockOffset: -2 * time.Minute}, nil, "2 minutes behind", "2 minutes behind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := problem.For(context.Background(), tc.err)
			if p.Status != 401 || p.Code != "invalid_code" {
				t.Fatalf("status %d code %s, want 401 invalid_code", p.Status, p.Code)
			}
			if (p.AttemptsLeft == nil) != (tc.attemptsLeft == nil) || p.AttemptsLeft != nil && *p.AttemptsLeft != *tc.attemptsLeft {
				t.Errorf("AttemptsLeft = %v, want %v", p.AttemptsLeft, tc.attemptsLeft)
			}
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q, want %q", p.Detail, tc.detail)
			}
			if tc.page != "" && !strings.Contains(p.Message(), tc.page) {
				t.Errorf("page message %q, want %q", p.Message(), tc.page)
			}
		})
	}
}

func TestStepUp(t *testing.T) {
	p := problem.For(context.Background(), &account.StepUpRequiredError{})
	if p.Status != 403 || p.Code != "step_up_required" || len(p.Methods) != 0 || !strings.Contains(p.Detail, "password") {
		t.Errorf("without methods: %+v", p)
	}
	methods := []store.Factor{{ID: "f1"}, {ID: "f2"}}
	p = problem.For(context.Background(), &account.StepUpRequiredError{Methods: methods})
	if len(p.Methods) != 2 || !strings.Contains(p.Detail, "one of your methods") {
		t.Errorf("with methods: %+v", p)
	}
}

func TestClientGone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if p := problem.For(ctx, fmt.Errorf("query: %w", context.Canceled)); p.Status != 499 || p.Code != "client_closed" || p.Internal() {
		t.Errorf("cancelled request = %d %s, want 499 client_closed", p.Status, p.Code)
	}
	// A cancellation that is not the request's is the server's failure.
	if p := problem.For(context.Background(), context.Canceled); !p.Internal() {
		t.Errorf("stray cancellation = %d %s, want internal", p.Status, p.Code)
	}
}

func TestAProblemPassesThrough(t *testing.T) {
	want := problem.New(415, "unsupported_media_type", "Send JSON", "Send the body as application/json.")
	if got := problem.For(context.Background(), fmt.Errorf("decode: %w", want)); got != want {
		t.Errorf("For(problem) = %+v, want it unchanged", got)
	}
}

func TestHumanDuration(t *testing.T) {
	for s, want := range map[int]string{1: "1 second", 42: "42 seconds", 60: "1 minute", 61: "2 minutes", 3600: "1 hour", 3601: "2 hours"} {
		if got := problem.HumanDuration(s); got != want {
			t.Errorf("HumanDuration(%d) = %q, want %q", s, got, want)
		}
	}
}

func ptr(n int) *int { return &n }
