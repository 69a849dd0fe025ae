package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Proxies are the reverse proxies twostep trusts to say who the client is,
// written as networks or single addresses: "127.0.0.1, 10.0.0.0/8" in the
// environment, the same string or a YAML list in the file. A request's
// X-Forwarded-For entries are believed only as far back as the hops that
// added them are in this list.
type Proxies []netip.Prefix

// Contains reports whether addr is one of the trusted proxies.
func (p Proxies) Contains(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, n := range p {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// UnmarshalText parses a comma-separated list. "false" and "" trust no
// proxy; "true" is refused, because trusting every hop lets any client
// choose its own address (and with it a fresh rate-limit budget).
func (p *Proxies) UnmarshalText(b []byte) error {
	return p.set(strings.Split(string(b), ","))
}

// UnmarshalYAML accepts a string (as UnmarshalText) or a list.
func (p *Proxies) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		return p.UnmarshalText([]byte(n.Value))
	case yaml.SequenceNode:
		var items []string
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: trust_proxy lists addresses or networks, e.g. 10.0.0.0/8", c.Line)
			}
			items = append(items, c.Value)
		}
		return p.set(items)
	}
	return fmt.Errorf("line %d: trust_proxy is a list of addresses or networks, e.g. [127.0.0.1, 10.0.0.0/8]", n.Line)
}

func (p *Proxies) set(items []string) error {
	var out Proxies
	for _, s := range items {
		s = strings.TrimSpace(s)
		switch strings.ToLower(s) {
		case "", "false", "none":
			continue
		case "true":
			return errors.New("trust_proxy no longer takes true (that let every client choose its own address): " +
				"list the proxies' addresses or networks, e.g. 127.0.0.1, 10.0.0.0/8")
		}
		var pre netip.Prefix
		if strings.Contains(s, "/") {
			v, err := netip.ParsePrefix(s)
			if err != nil {
				return fmt.Errorf("trust_proxy: %q is not an address or network (e.g. 10.0.0.0/8, ::1)", s)
			}
			pre = v
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return fmt.Errorf("trust_proxy: %q is not an address or network (e.g. 10.0.0.0/8, ::1)", s)
			}
			pre = netip.PrefixFrom(a, a.BitLen())
		}
		if pre.Addr().Is4In6() {
			bits := pre.Bits() - 96
			if bits < 0 {
				return fmt.Errorf("trust_proxy: %q mixes IPv4 and IPv6; write the IPv4 network", s)
			}
			pre = netip.PrefixFrom(pre.Addr().Unmap(), bits)
		}
		if pre.Bits() == 0 {
			return fmt.Errorf("trust_proxy: %q would trust every address, so any client could choose its own; list only your proxies", s)
		}
		out = append(out, pre.Masked())
	}
	*p = out
	return nil
}

// MarshalText writes the list as UnmarshalText reads it.
func (p Proxies) MarshalText() ([]byte, error) {
	s := make([]string, len(p))
	for i, n := range p {
		if n.IsSingleIP() {
			s[i] = n.Addr().String()
		} else {
			s[i] = n.String()
		}
	}
	return []byte(strings.Join(s, ",")), nil
}
