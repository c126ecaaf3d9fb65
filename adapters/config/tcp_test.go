package config

import (
	"net/netip"
	"slices"
	"testing"
)

// only_from entries become prefixes the listener can match directly:
// single addresses are full-length prefixes, IPv4-mapped IPv6 entries
// become IPv4, and an empty or missing list means everyone.
func TestTCPOnlyFromForms(t *testing.T) {
	root := writeRoot(t, `sites.update({
 'a': {'socket': '/run/a', 'tcp': {'port': 6560, 'tls': True,
       'only_from': ['10.1.2.3', '10.0.0.0/8', '::1', '2001:db8::/32', '::ffff:192.0.2.7', '::ffff:198.51.100.0/120']}},
 'b': {'socket': '/run/b', 'tcp': {'port': 6561, 'only_from': []}},
 'c': {'socket': '/run/c', 'tcp': {'port': 6562}},
})
`, nil)
	c := mustLoad(t, root)
	a := siteByName(t, c, "a").TCP
	want := []netip.Prefix{
		netip.MustParsePrefix("10.1.2.3/32"), netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("198.51.100.0/24"),
	}
	if a == nil || a.Port != 6560 || !a.TLS || !slices.Equal(a.OnlyFrom, want) {
		t.Errorf("a: %+v, want port 6560, tls, only_from %v", a, want)
	}
	for _, name := range []string{"b", "c"} {
		if tcp := siteByName(t, c, name).TCP; tcp == nil || tcp.TLS || len(tcp.OnlyFrom) != 0 {
			t.Errorf("%s: %+v, want plain TCP open to everyone", name, tcp)
		}
	}
}
