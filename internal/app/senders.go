package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"twostep/internal/config"
	"twostep/internal/delivery"
	"twostep/internal/delivery/chain"
	"twostep/internal/delivery/outbox"
	"twostep/internal/delivery/twilio"
	"twostep/internal/delivery/webhook"
	"twostep/internal/metrics"
	"twostep/internal/phone"
	"twostep/internal/store"
)

// usesOutbox reports whether any channel delivers to the developer outbox.
func usesOutbox(cfg config.Config) bool {
	for _, list := range []string{cfg.Delivery.Email, cfg.SMSProviders(), cfg.VoiceProviders()} {
		for _, p := range strings.Split(list, ",") {
			if strings.TrimSpace(p) == "outbox" {
				return true
			}
		}
	}
	return false
}

// codeSenders builds the per-channel senders for codes: each channel's
// providers in failover order, with retries, every attempt recorded
// (recipient masked, never the code).
func codeSenders(cfg config.Config, db *store.DB, box *outbox.Outbox, email delivery.Sender, m *metrics.Metrics, now func() time.Time, log *slog.Logger) (map[delivery.Channel]delivery.Sender, error) {
	record := func(a delivery.Attempt) {
		m.Delivered(string(a.Channel), a.Provider, a.OK, a.Duration)
		status, errText := "sent", ""
		if !a.OK {
			status, errText = "failed", a.Error
		}
		d := store.Delivery{ID: store.NewID(), Channel: string(a.Channel), Provider: a.Provider, Recipient: maskRecipient(a.To),
			ProviderID: a.ProviderID, Status: status, Error: errText, DurationMS: a.Duration.Milliseconds(), CreatedAt: a.At, UpdatedAt: a.At}
		if err := db.AddDelivery(context.Background(), d); err != nil {
			log.Error("record delivery", "err", err)
		}
	}
	opts := chain.Options{Retries: cfg.Delivery.Retries, Record: record, Now: now}
	if cfg.Delivery.Retries == 0 {
		opts.Retries = -1
	}
	out := map[delivery.Channel]delivery.Sender{
		delivery.Email: chain.New(opts, chain.Provider{Name: cfg.Delivery.Email, Sender: email}),
	}
	for ch, list := range map[delivery.Channel]string{delivery.SMS: cfg.SMSProviders(), delivery.Voice: cfg.VoiceProviders()} {
		var providers []chain.Provider
		for _, name := range strings.Split(list, ",") {
			name = strings.TrimSpace(name)
			var s delivery.Sender
			switch name {
			case "":
				continue
			case "outbox":
				s = box
			case "twilio":
				t := cfg.Delivery.Twilio
				c, err := twilio.New(twilio.Config{AccountSID: t.AccountSID, AuthToken: t.AuthToken, From: t.From, BaseURL: t.BaseURL,
					StatusCallback: cfg.BaseURL() + twilio.StatusPath, Timeout: cfg.Delivery.Timeout.D(), VoiceLanguage: t.VoiceLanguage})
				if err != nil {
					return nil, fmt.Errorf("config: delivery.twilio: %w", err)
				}
				s = c
			case "webhook":
				w, err := webhook.New(webhook.Config{URL: cfg.Delivery.Webhook.URL, Secret: cfg.Delivery.Webhook.Secret, Timeout: cfg.Delivery.Timeout.D()})
				if err != nil {
					return nil, fmt.Errorf("config: delivery.webhook: %w", err)
				}
				s = w
			default:
				return nil, fmt.Errorf("config: unknown provider %q", name)
			}
			providers = append(providers, chain.Provider{Name: name, Sender: s})
		}
		if len(providers) > 0 {
			out[ch] = chain.New(opts, providers...)
		}
	}
	return out, nil
}

// maskRecipient hides all but the end of a phone number or e-mail
// address for the delivery log.
func maskRecipient(to string) string {
	if strings.Contains(to, "@") {
		local, domain, _ := strings.Cut(to, "@")
		if len(local) > 2 {
			local = local[:1] + "•••" + local[len(local)-1:]
		}
		return local + "@" + domain
	}
	if n, err := phone.Parse(to, "", "voice"); err == nil {
		return n.Masked()
	}
	if len(to) > 3 {
		return strings.Repeat("•", len(to)-3) + to[len(to)-3:]
	}
	return "•••"
}
