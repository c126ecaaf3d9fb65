package config

import (
	"fmt"
	"net/netip"
	"strings"

	"go.starlark.net/starlark"
)

// parseTCP reads {'port': int, 'only_from': [addr, ...], 'tls': bool}.
func parseTCP(v starlark.Value) (*TCP, string) {
	m, msg := strDict(v, "port", "only_from", "tls")
	if msg != "" {
		return nil, msg
	}
	t := &TCP{}
	port, ok := intValue(m["port"])
	if !ok || port < 1 || port > 65535 {
		return nil, "'port' must be from 1 to 65535, got " + brief(m["port"])
	}
	t.Port = int(port)
	if of := m["only_from"]; of != nil && of != starlark.None {
		seq, ok := of.(starlark.Indexable)
		if _, isStr := of.(starlark.String); !ok || isStr {
			return nil, "'only_from' must be a list of addresses, got " + brief(of)
		}
		for i := 0; i < seq.Len(); i++ {
			a, ok := seq.Index(i).(starlark.String)
			if !ok {
				return nil, "'only_from' must be a list of addresses, got " + brief(of)
			}
			p, msg := parseAllowed(string(a))
			if msg != "" {
				return nil, fmt.Sprintf("'only_from' entry %s: %s", brief(a), msg)
			}
			t.OnlyFrom = append(t.OnlyFrom, p)
		}
	}
	if tls := m["tls"]; tls != nil {
		b, ok := tls.(starlark.Bool)
		if !ok {
			return nil, "'tls' must be True or False, got " + brief(tls)
		}
		t.TLS = bool(b)
	}
	return t, ""
}

// parseAllowed reads one only_from entry: an IPv4 or IPv6 address, or a
// CIDR range. Host names are refused: the listener matches the peer's
// address, and a name resolved once at load would silently go stale.
// A range with host bits set (10.0.0.1/8) is refused too, since it is as
// likely a typo of an address as of a range. IPv4-mapped IPv6 entries
// become IPv4, the form in which the listener compares its peers.
func parseAllowed(s string) (netip.Prefix, string) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, "not an IP address or CIDR range (like 10.0.0.0/8 or 2001:db8::/32)"
		}
		if p != p.Masked() {
			return netip.Prefix{}, fmt.Sprintf("has host bits set; the range is %s", p.Masked())
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p, ""
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, "not an IP address or CIDR range (like 10.0.0.0/8 or 2001:db8::/32)"
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), ""
}
