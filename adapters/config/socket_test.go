package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSocketForms(t *testing.T) {
	tests := []struct {
		name, spec string
		want       Socket
	}{
		{"path", `'/omd/sites/b/tmp/run/live'`, Socket{Network: "unix", Address: "/omd/sites/b/tmp/run/live"}},
		{"unix url", `'unix:/omd/sites/b/tmp/run/live'`, Socket{Network: "unix", Address: "/omd/sites/b/tmp/run/live"}},
		{"host port", `('10.0.0.2', 6557)`, Socket{Network: "tcp", Address: "10.0.0.2:6557"}},
		{"host port list", `['mon.example.com', 6557]`, Socket{Network: "tcp", Address: "mon.example.com:6557"}},
		{"ipv6 host port", `('::1', 6557)`, Socket{Network: "tcp", Address: "[::1]:6557"}},
		{"tcp url", `'tcp:10.0.0.2:6557'`, Socket{Network: "tcp", Address: "10.0.0.2:6557"}},
		{"tcp6 url", `'tcp6:fe80::1:6557'`, Socket{Network: "tcp6", Address: "[fe80::1]:6557"}},
		{"unix family", `('unix', {'path': '/run/live'})`, Socket{Network: "unix", Address: "/run/live"}},
		// Checkmk's GUI writes its own site so when that site is proxied too.
		{"local site", `('local', None)`, Socket{Network: "unix", Address: "ROOT/" + LocalSocket}},
		{"tcp plain", `('tcp', {'address': ('10.0.0.2', 6557), 'tls': ('plain_text', {})})`,
			Socket{Network: "tcp", Address: "10.0.0.2:6557"}},
		{"tcp no tls key", `('tcp', {'address': ('10.0.0.2', 6557)})`, Socket{Network: "tcp", Address: "10.0.0.2:6557"}},
		{"tcp6 plain", `('tcp6', {'address': ('2001:db8::2', 6557), 'tls': ('plain_text', {})})`,
			Socket{Network: "tcp6", Address: "[2001:db8::2]:6557"}},
		{"tcp encrypted default CA", `('tcp', {'address': ('h', 6557), 'tls': ('encrypted', {'verify': True})})`,
			Socket{Network: "tcp", Address: "h:6557", TLS: true, Verify: true, CAFile: "ROOT/" + CABundle}},
		{"tcp encrypted no verify", `('tcp', {'address': ('h', 6557), 'tls': ('encrypted', {'verify': False})})`,
			Socket{Network: "tcp", Address: "h:6557", TLS: true, Verify: false, CAFile: "ROOT/" + CABundle}},
		{"tcp encrypted empty dict verifies", `('tcp', {'address': ('h', 6557), 'tls': ('encrypted', {})})`,
			Socket{Network: "tcp", Address: "h:6557", TLS: true, Verify: true, CAFile: "ROOT/" + CABundle}},
		{"tcp6 encrypted own CA", `('tcp6', {'address': ('::1', 6557), 'tls': ('encrypted', {'verify': True, 'ca_file_path': '/etc/ssl/ca.pem'})})`,
			Socket{Network: "tcp6", Address: "[::1]:6557", TLS: true, Verify: true, CAFile: "/etc/ssl/ca.pem"}},
		{"relative CA under root", `('tcp', {'address': ('h', 1), 'tls': ('encrypted', {'ca_file_path': 'etc/ca.pem'})})`,
			Socket{Network: "tcp", Address: "h:1", TLS: true, Verify: true, CAFile: "ROOT/etc/ca.pem"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := writeRoot(t, "sites.update({'s': {'socket': "+tc.spec+"}})\n", nil)
			want := tc.want
			want.CAFile = strings.Replace(want.CAFile, "ROOT", root, 1)
			want.Address = strings.Replace(want.Address, "ROOT", root, 1)
			want.CAFile = filepath.Clean(want.CAFile)
			if want.CAFile == "." {
				want.CAFile = ""
			}
			got := siteByName(t, mustLoad(t, root), "s").Socket
			if got != want {
				t.Errorf("socket %s\n got %+v\nwant %+v", tc.spec, got, want)
			}
		})
	}
}

func TestSocketErrors(t *testing.T) {
	long := "/" + strings.Repeat("x", maxUnixPath)
	tests := []struct{ spec, msg string }{
		{`'relative/sock'`, "must be an absolute UNIX socket path"},
		{`'` + long + `'`, "over the kernel's limit of 107"},
		{`('unix', {'path': 'rel'})`, "UNIX socket path must be absolute"},
		{`('unix', {'pth': '/x'})`, "unknown key \"pth\" (known: path)"},
		{`('unix', '/x')`, "must be a dict"},
		{`('udp', {'address': ('h', 1)})`, "socket family must be 'unix', 'tcp' or 'tcp6', got \"udp\""},
		{`('h', 0)`, "port must be from 1 to 65535, got 0"},
		{`('h', 70000)`, "port must be from 1 to 65535, got 70000"},
		{`('', 6557)`, "host must be a host name or IP address"},
		{`('h', '6557')`, "address must be (host, port)"},
		{`('tcp', {'tls': ('plain_text', {})})`, "needs 'address'"},
		{`('tcp', {'address': ('h', 1), 'tls': ('ssl', {})})`, "tls must be ('plain_text', {})"},
		{`('tcp', {'address': ('h', 1), 'tls': ('encrypted', {'verify': 'yes'})})`, "tls verify must be True or False"},
		{`('tcp', {'address': ('h', 1), 'tls': ('encrypted', {'ca_file_path': 5})})`, "ca_file_path must be a file path"},
		{`('tcp', {'address': ('h', 1), 'tls': ('plain_text', {'verify': True})})`, "unexpected key \"verify\""},
		{`('tcp', {'address': ('h', 1), 'adress': 1})`, "unknown key \"adress\""},
		{`'tcp:nohostport'`, "must be tcp:HOST:PORT"},
		{`6557`, "must be an absolute UNIX socket path"},
		{`('local', {})`, "must be ('local', None)"},
		{`('a', 'b', 'c')`, "must be an absolute UNIX socket path"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			root := writeRoot(t, "sites.update({\n  's': {\n    'socket': "+tc.spec+",\n  },\n})\n", nil)
			e := loadErr(t, root)
			if e.Line != 3 || e.Site != "s" || e.Key != "socket" || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got %v (line %d, site %q, key %q), want line 3 site s key socket containing %q",
					e, e.Line, e.Site, e.Key, tc.msg)
			}
		})
	}
}
