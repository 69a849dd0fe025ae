package audit_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"twostep/internal/audit"
	"twostep/internal/delivery"
	"twostep/internal/store"
)

// kindConstants are the Kind constants declared in this package, read from
// its source so that a kind added without a description fails
// TestEveryKindIsDescribed.
func kindConstants(t *testing.T) []audit.Kind {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "kind.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []audit.Kind
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			if id, ok := v.Type.(*ast.Ident); !ok || id.Name != "Kind" {
				continue
			}
			lit := v.Values[0].(*ast.BasicLit)
			kinds = append(kinds, audit.Kind(strings.Trim(lit.Value, `"`)))
		}
	}
	if len(kinds) < 20 {
		t.Fatalf("found %d kinds in kind.go; the parser missed some", len(kinds))
	}
	return kinds
}

func TestEveryKindIsDescribed(t *testing.T) {
	labels := map[string]audit.Kind{}
	for _, k := range kindConstants(t) {
		label := k.Label()
		if label == string(k) || label == "" {
			t.Errorf("kind %q has no words for the activity list", k)
		}
		if other, ok := labels[label]; ok {
			t.Errorf("kinds %q and %q both read %q", k, other, label)
		}
		labels[label] = k
	}
	// Rows of a kind no longer recorded show as stored rather than blank.
	if got := audit.Kind("retired_kind").Label(); got != "retired_kind" {
		t.Errorf("unknown kind label = %q, want it as stored", got)
	}
}

// TestAccountRecordsTypedKinds: the account flows (and the flows that
// moved out of account into packages of their own) name kinds and outcomes
// by their constants. A string literal would compile (Kind is a string
// type) and could record a kind nothing describes.
func TestAccountRecordsTypedKinds(t *testing.T) {
	// The argument positions of the kind and outcome in each helper.
	typed := map[string][]int{"record": {3, 4}, "event": {2, 3}, "throttled": {3},
		"Record": {3, 4}, "Event": {2, 3}, "Throttled": {3}, "CheckPassword": {4}}
	var files []string
	for _, dir := range []string{"account", "session", "device", "stepup"} {
		more, _ := filepath.Glob("../" + dir + "/*.go")
		files = append(files, more...)
	}
	fset := token.NewFileSet()
	calls := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			for _, i := range typed[sel.Sel.Name] {
				if i >= len(call.Args) {
					continue
				}
				calls++
				if lit, ok := call.Args[i].(*ast.BasicLit); ok {
					t.Errorf("%s: %s(…) is given %s: use the audit constant", fset.Position(call.Pos()), sel.Sel.Name, lit.Value)
				}
			}
			return true
		})
	}
	if calls < 40 {
		t.Fatalf("found %d typed arguments in ../account; the scan missed the calls", calls)
	}
}

func TestOutcomes(t *testing.T) {
	for _, tc := range []struct {
		o      audit.Outcome
		failed bool
		label  string
	}{
		{audit.Success, false, "success"},
		{audit.Failure, true, "failure"},
		{audit.Pending, false, "pending"},
		{audit.Throttled, true, "throttled"},
		{audit.Locked, true, "locked"},
		{audit.Lockout, true, "lockout"},
		{audit.SecondFactorRequired, false, "second factor required"},
		{audit.Exhausted, false, "exhausted"},
		{audit.UnknownEmail, true, "unknown email"},
	} {
		if got := tc.o.Failed(); got != tc.failed {
			t.Errorf("%s.Failed() = %v, want %v", tc.o, got, tc.failed)
		}
		if got := tc.o.Label(); got != tc.label {
			t.Errorf("%s.Label() = %q, want %q", tc.o, got, tc.label)
		}
	}
}

// TestEveryNoticeHasASubject: each notice is of a kind whose e-mail
// subject is written down.
func TestEveryNoticeHasASubject(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, n := range []audit.Notice{
		audit.AppAdded("a@example.com", "Phone app"),
		audit.MethodAdded("a@example.com", "SMS ••• 42"),
		audit.MethodRemoved("a@example.com", "Phone app"),
		audit.RecoveryCodesMade("a@example.com"),
		audit.RecoveryCodeUsedToSignIn("a@example.com", 7),
		audit.TwoStepOn("a@example.com"),
		audit.TwoStepOff("a@example.com"),
		audit.BrowserRemembered("a@example.com", "Firefox on Linux", "192.0.2.1"),
		audit.PasswordChanged("a@example.com", at),
		audit.PasswordWasReset("a@example.com", at, audit.Reset{TwoStepOn: true}),
		audit.PasswordWasReset("a@example.com", at, audit.Reset{TwoStepCleared: true}),
		audit.SecondStepLocked("a@example.com", at, "https://id.example"),
	} {
		if n.Kind.Subject() == "" {
			t.Errorf("notice of kind %q has no subject", n.Kind)
		}
		if !strings.Contains(n.Body, "a@example.com") {
			t.Errorf("notice %q does not name the account: %q", n.Kind, n.Body)
		}
	}
	if got := audit.PasswordWasReset("a@example.com", at, audit.Reset{TwoStepCleared: true}).Body; !strings.Contains(got, "Two-step verification had been set up") {
		t.Errorf("reset notice after clearing two-step = %q, want it to say so", got)
	}
}

// TestNoticesSayCountsAndWhatHappened: counts are in words ("1 code is
// left", never "1 codes are left"); the lockout e-mail says what to do
// first, once; the reset e-mail says what happened to two-step, sessions
// and remembered browsers.
func TestNoticesSayCountsAndWhatHappened(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	u := store.User{Email: "a@example.com"}
	for _, tc := range []struct {
		name      string
		n         audit.Notice
		want, not []string
	}{
		{"one recovery code", audit.RecoveryCodeUsedToSignIn("a@example.com", 1), []string{"1 code is left."}, []string{"1 codes"}},
		{"recovery codes", audit.RecoveryCodeUsedToSignIn("a@example.com", 9), []string{"9 codes are left."}, nil},
		{"lockout", audit.SecondStepLocked("a@example.com", at.Add(time.Hour), "https://id.example"),
			[]string{"Someone who knows your password is trying to get past two-step verification", "Change your password now: https://id.example/forgot-password",
				"Until Tue, 4 Mar 2025 06:06 UTC", "even the right code", "Changing your password ends this"},
			[]string{"If this was not you"}},
		{"reset keeps browsers", audit.PasswordWasReset("a@example.com", at, audit.Reset{TwoStepOn: true}),
			[]string{"Every session was signed out", "Remembered browsers stay remembered", "Two-step verification is still on", "If this was not you"}, []string{"forgotten"}},
		{"reset forgets browsers", audit.PasswordWasReset("a@example.com", at, audit.Reset{TwoStepOn: true, BrowsersForgotten: true}),
			[]string{"Remembered browsers were forgotten", "Two-step verification is still on"}, []string{"stay remembered"}},
		{"reset without two-step", audit.PasswordWasReset("a@example.com", at, audit.Reset{}),
			[]string{"Every session was signed out"}, []string{"Two-step verification is still on", "Remembered browsers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.n.Message(u, "https://id.example").Body
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(body, w) {
					t.Errorf("body says %q:\n%s", w, body)
				}
			}
		})
	}
}

type events struct{ got []store.Event }

func (e *events) AddEvent(ctx context.Context, ev store.Event) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	e.got = append(e.got, ev)
	return nil
}

type queued struct {
	userID, kind string
	m            delivery.Message
}

func TestRecorder(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	ev := &events{}
	var mail []queued
	r := audit.New(audit.Options{
		Events: ev, BaseURL: "https://id.example", Now: func() time.Time { return now },
		Mail: func(_ context.Context, userID, kind string, m delivery.Message) error {
			mail = append(mail, queued{userID, kind, m})
			return nil
		},
	})

	// A cancelled request still records what happened; a long User-Agent
	// is cut at a character boundary.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ua := strings.Repeat("é", 300) // 600 bytes
	r.Record(ctx, audit.Client{IP: "192.0.2.1", UserAgent: ua}, "u1", audit.SignIn, audit.Failure, "wrong password")
	if len(ev.got) != 1 {
		t.Fatalf("recorded %d events, want 1", len(ev.got))
	}
	e := ev.got[0]
	if e.Kind != "signin" || e.Outcome != "failure" || e.UserID != "u1" || e.IP != "192.0.2.1" || e.Detail != "wrong password" || !e.CreatedAt.Equal(now) || e.ID == "" {
		t.Errorf("event = %+v", e)
	}
	if len(e.UserAgent) != 512 || !strings.HasPrefix(ua, e.UserAgent) {
		t.Errorf("user agent kept %d bytes, want 512 whole characters", len(e.UserAgent))
	}

	r.Notify(ctx, store.User{ID: "u1", Email: "a@example.com"}, audit.TwoStepOff("a@example.com"))
	if len(mail) != 1 {
		t.Fatalf("queued %d messages, want 1", len(mail))
	}
	q := mail[0]
	want := "Two-step verification was turned off for a@example.com. All its methods and remembered browsers were removed.\n\nIf this was not you, reset your password now: https://id.example/forgot-password\n"
	if q.userID != "u1" || q.kind != audit.MailKind || q.m.Channel != delivery.Email || q.m.To != "a@example.com" ||
		q.m.Subject != "Two-step verification is off" || q.m.Body != want || q.m.Code != "" {
		t.Errorf("queued %+v", q)
	}

	// A notice that cannot be queued is logged; the change stands.
	r = audit.New(audit.Options{Events: ev, Mail: func(context.Context, string, string, delivery.Message) error { return errors.New("disk full") }})
	r.Notify(context.Background(), store.User{ID: "u1", Email: "a@example.com"}, audit.TwoStepOn("a@example.com"))
}
