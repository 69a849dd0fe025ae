package chain_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"twostep/internal/delivery"
	"twostep/internal/delivery/chain"
	"twostep/internal/delivery/twilio"
	"twostep/internal/delivery/webhook"
)

// The real providers behind a chain: Twilio answering 503 fails over to
// the webhook gateway after the retries, and the attempts name both.
func TestTwilioFailsOverToWebhook(t *testing.T) {
	var twilioCalls int
	tw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		twilioCalls++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"code": 20503, "message": "Service Unavailable", "more_info": "https://www.twilio.com/docs/errors/20503", "status": 503}`)
	}))
	defer tw.Close()
	const secret = "gateway-secret-0123456789"
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header.Get(webhook.TimestampHeader), body, r.Header.Get(webhook.SignatureHeader), time.Now(), time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer gw.Close()

	tc, err := twilio.New(twilio.Config{AccountSID: "AC00000000000000000000000000000001", AuthToken: "t", From: "+15005550006", BaseURL: tw.URL})
	if err != nil {
		t.Fatal(err)
	}
	wh, err := webhook.New(webhook.Config{URL: gw.URL, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	var attempts []delivery.Attempt
	c := chain.New(chain.Options{
		Retries: 1,
		Sleep:   func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		Record:  func(a delivery.Attempt) { attempts = append(attempts, a) },
	}, chain.Provider{Name: "twilio", Sender: tc}, chain.Provider{Name: "gateway", Sender: wh})

	m := delivery.Message{Channel: delivery.SMS, To: "+14155550100", Body: "Your code is 135790", Code: "135790"}
	rcpt, err := c.SendTracked(context.Background(), m)
	if err != nil {
		t.Fatalf("SendTracked: %v", err)
	}
	if twilioCalls != 2 {
		t.Errorf("twilio called %d times, want 2 (one retry)", twilioCalls)
	}
	if len(attempts) != 3 {
		t.Fatalf("attempts = %+v, want 3", attempts)
	}
	for i, want := range []struct {
		provider string
		ok       bool
	}{{"twilio", false}, {"twilio", false}, {"gateway", true}} {
		a := attempts[i]
		if a.Provider != want.provider || a.OK != want.ok {
			t.Errorf("attempt %d = %s ok=%v, want %s ok=%v", i, a.Provider, a.OK, want.provider, want.ok)
		}
		if strings.Contains(a.Error, m.Code) {
			t.Errorf("attempt %d error %q carries the code", i, a.Error)
		}
	}
	if !strings.Contains(attempts[0].Error, "HTTP 503") || !strings.Contains(attempts[0].Error, "twilio error 20503") {
		t.Errorf("twilio attempt error = %q", attempts[0].Error)
	}
	if rcpt.ProviderID == "" || attempts[2].ProviderID != rcpt.ProviderID {
		t.Errorf("receipt %q, recorded id %q; want the same non-empty id", rcpt.ProviderID, attempts[2].ProviderID)
	}
}
