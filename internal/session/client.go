package session

import "twostep/internal/audit"

// Client describes who is asking: recorded with every event and session.
type Client struct {
	// IP is the client's address, as recorded with sessions and events.
	IP string
	// Network is what the client's address limits are counted under: the
	// address itself for IPv4, its /64 for IPv6 (LimitKey). Empty means
	// IP.
	Network   string
	UserAgent string
	// BrowserID is the raw value of the browser's twostep cookie, if any.
	BrowserID string
	// DeviceTokens are the remembered-device tokens the browser holds, one
	// per account that trusted it.
	DeviceTokens []string
}

// Audit is the client as events record it.
func (c Client) Audit() audit.Client { return audit.Client{IP: c.IP, UserAgent: c.UserAgent} }

// LimitAddr is the client's address as rate limits count it.
func (c Client) LimitAddr() string {
	if c.Network != "" {
		return c.Network
	}
	return c.IP
}
