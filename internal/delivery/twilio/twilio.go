package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"twostep/internal/delivery"
)

// DefaultBaseURL is Twilio's REST API host, used when Config.BaseURL is
// empty.
const DefaultBaseURL = "https://api.twilio.com"

// DefaultTimeout bounds one API request when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// providerName is what delivery.Error and attempt records call Twilio.
const providerName = "twilio"

// maxResponse caps how much of a response body is read: Twilio's answers
// are a few kilobytes, and a misbehaving proxy must not exhaust memory.
const maxResponse = 64 << 10

// Config says which Twilio account to use and how to reach it.
type Config struct {
	// AccountSID is the account's SID ("AC…"); it is also the basic-auth
	// user name.
	AccountSID string
	// AuthToken is the account's auth token: the basic-auth password and
	// the key of X-Twilio-Signature on status callbacks.
	AuthToken string
	// From is the sender: a Twilio phone number in E.164 form. For SMS it
	// may also be an alphanumeric sender ID where the destination allows
	// one; calls need a phone number.
	From string
	// BaseURL defaults to DefaultBaseURL; tests point it at a local server.
	BaseURL string
	// StatusCallback, when set, is the absolute URL Twilio posts status
	// changes of each message or call to.
	StatusCallback string
	// Timeout bounds each API request; DefaultTimeout when zero.
	Timeout time.Duration
	// HTTPClient, when set, replaces the default client (for a proxy or
	// custom transport). Timeout applies on top of it.
	HTTPClient *http.Client
	// VoiceLanguage is the language attribute of <Say>, e.g. "en-US" or
	// "fr-FR". Empty leaves Twilio's default (en-US).
	VoiceLanguage string
}

// Client sends SMS and voice calls through one Twilio account. It is safe
// for concurrent use.
type Client struct {
	sid            string
	token          string
	from           string
	messagesURL    string
	callsURL       string
	statusCallback string
	timeout        time.Duration
	http           *http.Client
	language       string
}

var (
	_ delivery.Sender  = (*Client)(nil)
	_ delivery.Tracker = (*Client)(nil)
)

// New checks cfg and returns a Client for it. Nothing is sent until Send.
func New(cfg Config) (*Client, error) {
	if !strings.HasPrefix(cfg.AccountSID, "AC") || !alphanumeric(cfg.AccountSID) {
		return nil, errors.New(`twilio: account sid must start with "AC" and hold only letters and digits`)
	}
	if cfg.AuthToken == "" {
		return nil, errors.New("twilio: auth token is required")
	}
	if strings.TrimSpace(cfg.From) == "" {
		return nil, errors.New("twilio: from number is required")
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("twilio: timeout %s is negative", cfg.Timeout)
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("twilio: parse base url: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("twilio: base url %q must be an absolute http(s) url", base)
	}
	if cfg.StatusCallback != "" {
		cb, err := url.Parse(cfg.StatusCallback)
		if err != nil || (cb.Scheme != "https" && cb.Scheme != "http") || cb.Host == "" {
			return nil, errors.New("twilio: status callback must be an absolute http(s) url")
		}
	}

	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{
			// The API never redirects; following one would resend the
			// credentials and the code somewhere unexpected.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	account := strings.TrimRight(base, "/") + "/2010-04-01/Accounts/" + cfg.AccountSID
	return &Client{
		sid:            cfg.AccountSID,
		token:          cfg.AuthToken,
		from:           cfg.From,
		messagesURL:    account + "/Messages.json",
		callsURL:       account + "/Calls.json",
		statusCallback: cfg.StatusCallback,
		timeout:        timeout,
		http:           client,
		language:       cfg.VoiceLanguage,
	}, nil
}

func alphanumeric(s string) bool {
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

// Send delivers m as a text message (delivery.SMS) or a voice call
// (delivery.Voice); see SendTracked.
func (c *Client) Send(ctx context.Context, m delivery.Message) error {
	_, err := c.SendTracked(ctx, m)
	return err
}

// SendTracked delivers m and returns the SID Twilio gave the message
// ("SM…") or call ("CA…"), which status callbacks carry as MessageSid or
// CallSid.
//
// An SMS carries m.Body as it is. A call reads m.Body as an introduction,
// then m.Code digit by digit, twice. Any other channel returns
// delivery.ErrUnsupportedChannel.
//
// Failures are *delivery.Error values: HTTP 429 and 5xx, timeouts and
// network errors are temporary; other 4xx (an invalid number, bad
// credentials) and invalid messages are not. Errors never carry m.Body or
// m.Code.
func (c *Client) SendTracked(ctx context.Context, m delivery.Message) (delivery.Receipt, error) {
	form := url.Values{}
	var endpoint string
	switch m.Channel {
	case delivery.SMS:
		if m.Body == "" {
			return delivery.Receipt{}, invalid("message body is required")
		}
		endpoint = c.messagesURL
		form.Set("Body", m.Body)
	case delivery.Voice:
		instructions, err := twiml(m.Body, m.Code, voiceLanguage(m.Language, c.language))
		if err != nil {
			return delivery.Receipt{}, &delivery.Error{Provider: providerName, Err: err}
		}
		endpoint = c.callsURL
		form.Set("Twiml", instructions)
	default:
		return delivery.Receipt{}, fmt.Errorf("twilio: send %s: %w", m.Channel, delivery.ErrUnsupportedChannel)
	}
	if strings.TrimSpace(m.To) == "" {
		return delivery.Receipt{}, invalid("recipient is required")
	}
	form.Set("To", m.To)
	form.Set("From", c.from)
	if c.statusCallback != "" {
		form.Set("StatusCallback", c.statusCallback)
	}

	sid, err := c.post(ctx, endpoint, form, m.Code)
	if err != nil {
		return delivery.Receipt{}, err
	}
	return delivery.Receipt{ProviderID: sid}, nil
}

func invalid(msg string) error {
	return &delivery.Error{Provider: providerName, Err: errors.New(msg)}
}

// apiError is Twilio's JSON error body:
// {"code":21211,"message":"…","more_info":"https://www.twilio.com/docs/errors/21211","status":400}.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// resource is the part of a created Message or Call resource we keep.
type resource struct {
	SID    string `json:"sid"`
	Status string `json:"status"`
}

// post creates a resource and returns its SID. code is only used to scrub
// it from anything Twilio echoes back into an error.
func (c *Client) post(ctx context.Context, endpoint string, form url.Values, code string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &delivery.Error{Provider: providerName, Err: fmt.Errorf("build request: %w", err)}
	}
	req.SetBasicAuth(c.sid, c.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	resp, err := c.http.Do(req)
	if err != nil {
		// The request may or may not have reached Twilio; a retry can
		// deliver twice, which is harmless for a one-time code.
		return "", &delivery.Error{Provider: providerName, Temporary: true, Err: fmt.Errorf("post: %w", err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Twilio accepted the message. A body we cannot read or parse
		// must not turn into an error: the chain would send it again.
		var r resource
		if err == nil {
			_ = json.Unmarshal(body, &r)
		}
		return r.SID, nil
	}

	e := &delivery.Error{
		Provider:  providerName,
		Status:    resp.StatusCode,
		Temporary: resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500,
	}
	var ae apiError
	if err == nil && json.Unmarshal(body, &ae) == nil && (ae.Code != 0 || ae.Message != "") {
		e.Err = fmt.Errorf("twilio error %d: %s", ae.Code, scrub(ae.Message, code))
	} else {
		e.Err = fmt.Errorf("unexpected response: %s", http.StatusText(resp.StatusCode))
	}
	return "", e
}

// scrub keeps Twilio's message short and free of the code, should the
// message ever echo a request parameter.
func scrub(msg, code string) string {
	if code != "" {
		msg = strings.ReplaceAll(msg, code, "[code]")
	}
	const max = 200
	if len(msg) > max {
		msg = strings.ToValidUTF8(msg[:max], "") + "…"
	}
	return msg
}
