package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"twostep/internal/delivery"
)

const secret = "0123456789abcdef-test-secret"

// gateway is a receiver as an operator would write one: it checks the
// request with Verify and keeps what it accepted.
type gateway struct {
	secret string
	now    func() time.Time
	status int // answer for verified requests; 204 when zero

	mu       sync.Mutex
	got      []Payload
	rejected []error
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	if err := Verify(g.secret, r.Header.Get(TimestampHeader), body, r.Header.Get(SignatureHeader), g.now(), time.Minute); err != nil {
		g.mu.Lock()
		g.rejected = append(g.rejected, err)
		g.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		http.Error(w, "content type", http.StatusUnsupportedMediaType)
		return
	}
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "json", http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	g.got = append(g.got, p)
	g.mu.Unlock()
	if g.status != 0 {
		http.Error(w, "echo: code "+p.Code, g.status)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func newSender(t *testing.T, h http.Handler, mod func(*Config)) *Sender {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := Config{URL: srv.URL + "/sms", Secret: secret}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestSendSigned(t *testing.T) {
	sentAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	g := &gateway{secret: secret, now: func() time.Time { return sentAt.Add(10 * time.Second) }}
	s := newSender(t, g, func(c *Config) { c.Now = func() time.Time { return sentAt } })

	m := delivery.Message{Channel: delivery.Voice, To: "+14155550100", Body: "Your code is 123456", Code: "123456"}
	rcpt, err := s.SendTracked(context.Background(), m)
	if err != nil {
		t.Fatalf("SendTracked: %v", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.got) != 1 {
		t.Fatalf("gateway accepted %d requests (rejected: %v), want 1", len(g.got), g.rejected)
	}
	p := g.got[0]
	want := Payload{ID: rcpt.ProviderID, Channel: delivery.Voice, To: m.To, Body: m.Body, Code: m.Code, SentAt: "2026-01-02T02:04:05Z"}
	if p != want {
		t.Errorf("payload = %+v, want %+v", p, want)
	}
	if len(p.ID) < 16 {
		t.Errorf("id %q is too short to be unique", p.ID)
	}
}

func TestSendIDsDiffer(t *testing.T) {
	g := &gateway{secret: secret, now: time.Now}
	s := newSender(t, g, nil)
	m := delivery.Message{Channel: delivery.SMS, To: "+14155550100", Body: "b", Code: "1"}
	a, err1 := s.SendTracked(context.Background(), m)
	b, err2 := s.SendTracked(context.Background(), m)
	if err1 != nil || err2 != nil {
		t.Fatalf("SendTracked: %v, %v", err1, err2)
	}
	if a.ProviderID == b.ProviderID {
		t.Errorf("two sends share id %q", a.ProviderID)
	}
}

func TestSendStatuses(t *testing.T) {
	const code = "775533"
	tests := []struct {
		status   int
		wantTemp bool
	}{
		{http.StatusBadRequest, false},
		{http.StatusUnauthorized, false},
		{http.StatusNotFound, false},
		{http.StatusTooManyRequests, true},
		{http.StatusInternalServerError, true},
		{http.StatusServiceUnavailable, true},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			g := &gateway{secret: secret, now: time.Now, status: tt.status}
			s := newSender(t, g, nil)
			err := s.Send(context.Background(), delivery.Message{Channel: delivery.SMS, To: "+14155550100", Body: "code " + code, Code: code})
			var de *delivery.Error
			if !errors.As(err, &de) {
				t.Fatalf("Send = %v, want a *delivery.Error", err)
			}
			if de.Provider != "webhook" || de.Status != tt.status || de.Temporary != tt.wantTemp {
				t.Errorf("error = {%s %d temporary=%v}, want {webhook %d temporary=%v}",
					de.Provider, de.Status, de.Temporary, tt.status, tt.wantTemp)
			}
			if strings.Contains(err.Error(), code) {
				t.Errorf("error %q contains the code the gateway echoed", err)
			}
		})
	}
}

func TestSendDoesNotFollowRedirects(t *testing.T) {
	var hits int
	var mu sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("/sms", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	})
	s := newSender(t, mux, nil)
	err := s.Send(context.Background(), delivery.Message{Channel: delivery.SMS, To: "+1", Body: "b", Code: "1"})
	if err == nil || delivery.IsTemporary(err) {
		t.Errorf("Send = %v, want a permanent error", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 {
		t.Errorf("redirect target got %d requests", hits)
	}
}

func TestSendNetworkErrorsAreTemporary(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	s, err := New(Config{URL: u, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), delivery.Message{Channel: delivery.SMS, To: "+1", Body: "b", Code: "1"})
	var de *delivery.Error
	if !errors.As(err, &de) || !de.Temporary || de.Status != 0 {
		t.Errorf("Send = %#v, want a temporary *delivery.Error without status", err)
	}
}

func TestSendTimeout(t *testing.T) {
	release := make(chan struct{})
	s := newSender(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}), func(c *Config) { c.Timeout = 50 * time.Millisecond })
	defer close(release)
	err := s.Send(context.Background(), delivery.Message{Channel: delivery.SMS, To: "+1", Body: "b", Code: "1"})
	if !delivery.IsTemporary(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send = %v, want a temporary deadline error", err)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"https", Config{URL: "https://gw.example/sms", Secret: secret}, true},
		{"http on loopback", Config{URL: "http://127.0.0.1:9000/sms", Secret: secret}, true},
		{"http on localhost", Config{URL: "http://localhost/sms", Secret: secret}, true},
		{"http elsewhere", Config{URL: "http://gw.example/sms", Secret: secret}, false},
		{"relative url", Config{URL: "/sms", Secret: secret}, false},
		{"other scheme", Config{URL: "ftp://gw.example/sms", Secret: secret}, false},
		{"short secret", Config{URL: "https://gw.example/sms", Secret: "short"}, false},
		{"negative timeout", Config{URL: "https://gw.example/sms", Secret: secret, Timeout: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("New error = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "webhook: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_767_225_600, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := []byte(`{"id":"x","channel":"sms","to":"+14155550100","body":"b","code":"123456","sent_at":"2026-01-01T00:00:00Z"}`)
	sig := Sign(secret, ts, body)

	if !strings.HasPrefix(sig, "v1=") || len(sig) != 3+64 {
		t.Fatalf("Sign = %q, want v1= and 64 hex digits", sig)
	}
	tampered := []byte(strings.Replace(string(body), "123456", "654321", 1))
	tests := []struct {
		name      string
		secret    string
		timestamp string
		body      []byte
		signature string
		now       time.Time
		tolerance time.Duration
		want      error
	}{
		{"valid", secret, ts, body, sig, now, time.Minute, nil},
		{"valid at the edge of tolerance", secret, ts, body, sig, now.Add(time.Minute), time.Minute, nil},
		{"valid with a rotated secret listed", secret, ts, body, Sign("old-secret-0123456789", ts, body) + "," + sig, now, time.Minute, nil},
		{"zero tolerance means the default", secret, ts, body, sig, now.Add(4 * time.Minute), 0, nil},
		{"tampered body", secret, ts, tampered, sig, now, time.Minute, ErrBadSignature},
		{"wrong secret", "another-secret-0123456789", ts, body, sig, now, time.Minute, ErrBadSignature},
		{"empty secret", "", ts, body, sig, now, time.Minute, ErrBadSignature},
		{"timestamp changed", secret, strconv.FormatInt(now.Unix()+1, 10), body, sig, now, time.Minute, ErrBadSignature},
		{"stale", secret, ts, body, sig, now.Add(time.Minute + time.Second), time.Minute, ErrStale},
		{"from the future", secret, ts, body, sig, now.Add(-2 * time.Minute), time.Minute, ErrStale},
		{"default tolerance exceeded", secret, ts, body, sig, now.Add(6 * time.Minute), 0, ErrStale},
		{"malformed timestamp", secret, "yesterday", body, sig, now, time.Minute, ErrBadTimestamp},
		{"no scheme prefix", secret, ts, body, strings.TrimPrefix(sig, "v1="), now, time.Minute, ErrBadSignature},
		{"other scheme", secret, ts, body, "v0=" + strings.TrimPrefix(sig, "v1="), now, time.Minute, ErrBadSignature},
		{"not hex", secret, ts, body, "v1=zz", now, time.Minute, ErrBadSignature},
		{"empty", secret, ts, body, "", now, time.Minute, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.timestamp, tt.body, tt.signature, tt.now, tt.tolerance)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// A receiver must reject what was not signed with its secret or arrives
// too late, even through the real HTTP path.
func TestGatewayRejects(t *testing.T) {
	t.Run("wrong secret", func(t *testing.T) {
		g := &gateway{secret: "the-gateway-has-another-secret", now: time.Now}
		s := newSender(t, g, nil)
		err := s.Send(context.Background(), delivery.Message{Channel: delivery.SMS, To: "+1", Body: "b", Code: "1"})
		var de *delivery.Error
		if !errors.As(err, &de) || de.Status != http.StatusUnauthorized || de.Temporary {
			t.Errorf("Send = %v, want a permanent 401", err)
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if len(g.rejected) != 1 || !errors.Is(g.rejected[0], ErrBadSignature) {
			t.Errorf("gateway rejections = %v, want [ErrBadSignature]", g.rejected)
		}
	})
	t.Run("stale", func(t *testing.T) {
		g := &gateway{secret: secret, now: time.Now}
		s := newSender(t, g, func(c *Config) { c.Now = func() time.Time { return time.Now().Add(-time.Hour) } })
		if err := s.Send(context.Background(), delivery.Message{Channel: delivery.SMS, To: "+1", Body: "b", Code: "1"}); err == nil {
			t.Fatal("Send of an hour-old request succeeded")
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if len(g.rejected) != 1 || !errors.Is(g.rejected[0], ErrStale) {
			t.Errorf("gateway rejections = %v, want [ErrStale]", g.rejected)
		}
	})
}
