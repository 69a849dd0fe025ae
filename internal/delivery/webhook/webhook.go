package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"twostep/internal/delivery"
)

// Header names of a delivery request.
const (
	TimestampHeader = "X-Twostep-Timestamp"
	SignatureHeader = "X-Twostep-Signature"
)

// DefaultTimeout bounds one delivery request when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// MinSecretLength is the shortest accepted secret, in bytes: the secret is
// an HMAC key, and a short one can be guessed offline from one signed
// request.
const MinSecretLength = 16

const providerName = "webhook"

// Config says where to deliver and how to sign.
type Config struct {
	// URL receives the POST. It must be https, except on a loopback host
	// (a gateway on the same machine, tests): the body holds the code.
	URL string
	// Secret keys the HMAC-SHA256 signature; at least MinSecretLength
	// bytes.
	Secret string
	// Timeout bounds each request; DefaultTimeout when zero.
	Timeout time.Duration
	// HTTPClient, when set, replaces the default client. Timeout applies
	// on top of it.
	HTTPClient *http.Client
	// Now, when set, replaces time.Now for sent_at and the timestamp.
	Now func() time.Time
}

// Payload is the JSON body of a delivery request.
type Payload struct {
	ID      string           `json:"id"`
	Channel delivery.Channel `json:"channel"`
	To      string           `json:"to"`
	Body    string           `json:"body"`
	Code    string           `json:"code"`
	SentAt  string           `json:"sent_at"` // RFC 3339, UTC
}

// Sender delivers messages to one webhook URL. It is safe for concurrent
// use.
type Sender struct {
	url     string
	secret  []byte
	timeout time.Duration
	http    *http.Client
	now     func() time.Time
}

var (
	_ delivery.Sender  = (*Sender)(nil)
	_ delivery.Tracker = (*Sender)(nil)
)

// New checks cfg and returns a Sender for it.
func New(cfg Config) (*Sender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("webhook: parse url: %w", err)
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("webhook: url %q must be an absolute http(s) url", cfg.URL)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return nil, errors.New("webhook: url must use https unless the host is loopback")
	}
	if len(cfg.Secret) < MinSecretLength {
		return nil, fmt.Errorf("webhook: secret must be at least %d bytes", MinSecretLength)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("webhook: timeout %s is negative", cfg.Timeout)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{
			// A redirect would carry the signed code to a URL the
			// operator did not configure.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Sender{url: cfg.URL, secret: []byte(cfg.Secret), timeout: timeout, http: client, now: now}, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send delivers m; see SendTracked.
func (s *Sender) Send(ctx context.Context, m delivery.Message) error {
	_, err := s.SendTracked(ctx, m)
	return err
}

// SendTracked POSTs m as a signed Payload on any channel and returns the
// payload's random id as the receipt.
//
// A 2xx answer means delivered. Other answers and failures are
// *delivery.Error values: 429, 5xx, timeouts and network errors are
// temporary; other 4xx and redirects are not. Errors never carry m.Body,
// m.Code or the gateway's answer.
func (s *Sender) SendTracked(ctx context.Context, m delivery.Message) (delivery.Receipt, error) {
	if strings.TrimSpace(m.To) == "" {
		return delivery.Receipt{}, &delivery.Error{Provider: providerName, Err: errors.New("recipient is required")}
	}
	now := s.now()
	p := Payload{
		ID:      rand.Text(),
		Channel: m.Channel,
		To:      m.To,
		Body:    m.Body,
		Code:    m.Code,
		SentAt:  now.UTC().Format(time.RFC3339),
	}
	body, err := json.Marshal(p)
	if err != nil {
		return delivery.Receipt{}, &delivery.Error{Provider: providerName, Err: errors.New("encode payload")}
	}
	ts := strconv.FormatInt(now.Unix(), 10)

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return delivery.Receipt{}, &delivery.Error{Provider: providerName, Err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, Sign(string(s.secret), ts, body))

	resp, err := s.http.Do(req)
	if err != nil {
		return delivery.Receipt{}, &delivery.Error{Provider: providerName, Temporary: true, Err: fmt.Errorf("post: %w", err)}
	}
	// Drain a little so the connection can be reused; the answer itself
	// is ignored and never quoted, since a gateway may echo the code.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()

	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return delivery.Receipt{ProviderID: p.ID}, nil
	case code == http.StatusTooManyRequests || code >= 500:
		return delivery.Receipt{}, &delivery.Error{Provider: providerName, Status: code, Temporary: true,
			Err: errors.New("gateway unavailable")}
	case code >= 300 && code < 400:
		return delivery.Receipt{}, &delivery.Error{Provider: providerName, Status: code,
			Err: errors.New("gateway redirected; redirects are not followed")}
	default:
		return delivery.Receipt{}, &delivery.Error{Provider: providerName, Status: code,
			Err: errors.New("gateway refused the message")}
	}
}
