package config

import (
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"liveproxyd/core"
	"liveproxyd/internal/testutil"
)

func TestDesignDefaults(t *testing.T) {
	root := writeRoot(t, "sites.update({'a': {'socket': '/run/a'}})\n", nil)
	s := siteByName(t, mustLoad(t, root), "a")
	want := core.Config{
		Name: "a", Channels: 10, ChannelTimeout: 5 * time.Second, QueryTimeout: 120 * time.Second,
		ConnectRetry: 4 * time.Second, HeartbeatInterval: 3 * time.Second, HeartbeatTimeoutMin: 2 * time.Second,
		HeartbeatPercent: 50, MaxQueryBytes: core.DefaultMaxQueryBytes, Cache: true,
	}.WithDefaults()
	if s.Core != want {
		t.Errorf("core config\n got %+v\nwant %+v", s.Core, want)
	}
	if !s.Cache || s.TCP != nil {
		t.Errorf("cache %v tcp %v, want cache on and no tcp", s.Cache, s.TCP)
	}
}

// Precedence: design defaults < liveproxyd.d (in path order, later files
// winning) < the site's own keys.
func TestPrecedence(t *testing.T) {
	root := writeRoot(t, `sites.update({
    'own': {'socket': '/run/own', 'channels': 3, 'heartbeat': (9, 8), 'cache': True},
    'inherit': {'socket': '/run/inherit'},
})
`, map[string]string{
		"a.mk":           "liveproxyd_default_connection_params = {'channels': 7, 'heartbeat': (4, 1.5), 'cache': False}\n",
		"wato/global.mk": "liveproxyd_default_connection_params.update({'channels': 8, 'query_timeout': 60})\n",
		"notes.txt":      "this is not a .mk file and would not parse\n",
		".swap.mk":       "this hidden file would not parse either\n",
	})
	c := mustLoad(t, root)
	wantFiles := []string{
		filepath.Join(root, GlobalsDir, "a.mk"),
		filepath.Join(root, GlobalsDir, "wato/global.mk"),
		filepath.Join(root, MainFile),
	}
	if !slices.Equal(c.Files, wantFiles) {
		t.Errorf("files %q, want %q", c.Files, wantFiles)
	}
	if names := []string{c.Sites[0].Name, c.Sites[1].Name}; !slices.Equal(names, []string{"inherit", "own"}) {
		t.Errorf("sites not sorted by name: %q", names)
	}
	in := siteByName(t, c, "inherit")
	if in.Core.Channels != 8 || in.Core.QueryTimeout != 60*time.Second || in.Core.HeartbeatInterval != 4*time.Second ||
		in.Core.HeartbeatTimeoutMin != 1500*time.Millisecond || in.Cache || in.Core.ChannelTimeout != 5*time.Second {
		t.Errorf("inherit: got %+v cache %v, want globals over defaults", in.Core, in.Cache)
	}
	own := siteByName(t, c, "own")
	if own.Core.Channels != 3 || own.Core.HeartbeatInterval != 9*time.Second || own.Core.HeartbeatTimeoutMin != 8*time.Second ||
		!own.Cache || own.Core.QueryTimeout != 60*time.Second {
		t.Errorf("own: got %+v cache %v, want site keys over globals", own.Core, own.Cache)
	}
}

// A file as Checkmk's GUI writes it: encoding line, comments, nested dicts,
// tuples, True/False, floats, a tcp export and every socket family.
func TestRealisticCheckmkFile(t *testing.T) {
	root := writeRoot(t, `# -*- encoding: utf-8 -*-
# Written by Checkmk store

sites.update({'berlin': {'cache': True,
            'channel_timeout': 3.0,
            'channels': 5,
            'connect_retry': 4.0,
            'heartbeat': (5, 2.0),
            'query_timeout': 120.0,
            'socket': ('tcp',
                       {'address': ('10.20.0.5', 6557),
                        'tls': ('encrypted', {'verify': True})}),
            'tcp': {'only_from': ['127.0.0.1', '10.0.0.0/8'], 'port': 6560, 'tls': False}},
 'local': {'socket': ('unix', {'path': '/omd/sites/local/tmp/run/live'})},
 'munich': {'cache': False,
            'socket': ('tcp6', {'address': ('2001:db8::5', 6557), 'tls': ('plain_text', {})})},
 'old': {'socket': ('10.20.0.6', 6557), 'heartbeat_percent': 80, 'max_query_bytes': 1048576}})
`, map[string]string{
		"wato/global.mk": "# Written by Checkmk store\n\nliveproxyd_log_levels = {'cmk.liveproxyd': 20}\n" +
			"liveproxyd_default_connection_params = {'channels': 4, 'heartbeat': (5, 2.0), 'channel_timeout': 3.0}\n",
	})
	c := mustLoad(t, root)
	if len(c.Sites) != 4 {
		t.Fatalf("got %d sites, want 4", len(c.Sites))
	}
	b := siteByName(t, c, "berlin")
	wantSock := Socket{Network: "tcp", Address: "10.20.0.5:6557", TLS: true, Verify: true,
		CAFile: filepath.Join(root, "var/ssl/ca-certificates.crt")}
	if b.Socket != wantSock || b.Core.Channels != 5 || b.Core.ChannelTimeout != 3*time.Second ||
		b.Core.HeartbeatInterval != 5*time.Second || !b.Cache {
		t.Errorf("berlin: %+v", b)
	}
	if b.TCP == nil || b.TCP.Port != 6560 || b.TCP.TLS || !slices.Equal(b.TCP.OnlyFrom, []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}) {
		t.Errorf("berlin tcp: %+v", b.TCP)
	}
	if l := siteByName(t, c, "local"); l.Core.Channels != 4 || l.Socket.Network != "unix" {
		t.Errorf("local: %+v", l)
	}
	if m := siteByName(t, c, "munich"); m.Cache || m.Socket.Address != "[2001:db8::5]:6557" || m.Socket.Network != "tcp6" {
		t.Errorf("munich: %+v", m)
	}
	if o := siteByName(t, c, "old"); o.Core.HeartbeatPercent != 80 || o.Core.MaxQueryBytes != 1<<20 || o.Core.Channels != 4 {
		t.Errorf("old: %+v", o)
	}
}

// Python statement forms beyond sites.update: assignment by index, dict(),
// top-level loops, and a UTF-8 byte order mark with CRLF line ends.
func TestStatementForms(t *testing.T) {
	root := writeRoot(t, "\xef\xbb\xbf# comment\r\n"+
		"sites['a'] = dict(socket='/run/a', channels=2)\r\n"+
		"for n in ['b', 'c']:\r\n"+
		"    sites[n] = {'socket': '/run/' + n}\r\n"+
		"sites['c']['channels'] = 6\r\n"+
		"sites.update(d={'socket': ('h', 1)})\r\n", nil)
	c := mustLoad(t, root)
	got := map[string]int{}
	for _, s := range c.Sites {
		got[s.Name] = s.Core.Channels
	}
	want := map[string]int{"a": 2, "b": 10, "c": 6, "d": 10}
	if len(got) != len(want) {
		t.Fatalf("sites %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("site %s channels %d, want %d", k, got[k], v)
		}
	}
}

func TestNoSitesAndNoGlobalsDir(t *testing.T) {
	c := mustLoad(t, writeRoot(t, "# nothing proxied yet\n", nil))
	if len(c.Sites) != 0 || len(c.Files) != 1 {
		t.Errorf("got %d sites, files %q; want none and the main file", len(c.Sites), c.Files)
	}
}

func TestExplicitMainPath(t *testing.T) {
	root := writeRoot(t, "-", map[string]string{"g.mk": "liveproxyd_default_connection_params['channels'] = 2\n"})
	main := filepath.Join(t.TempDir(), "other.mk")
	testutil.WriteFile(t, main, "sites.update({'x': {'socket': '/run/x'}})\n")
	c, err := Load(root, main)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sites) != 1 || c.Sites[0].Core.Channels != 2 || c.Files[len(c.Files)-1] != main {
		t.Errorf("got %+v", c)
	}
}

func TestEqual(t *testing.T) {
	const base = "sites.update({'a': {'socket': '/run/a', 'tcp': {'port': 6560, 'only_from': ['10.0.0.1']}}})\n"
	load := func(src string) Site {
		return siteByName(t, mustLoad(t, writeRoot(t, src, nil)), "a")
	}
	a := load(base)
	if !a.Equal(load(base)) {
		t.Fatal("the same file loaded twice is not Equal")
	}
	changed := map[string]string{
		"socket":    "sites.update({'a': {'socket': '/run/b', 'tcp': {'port': 6560, 'only_from': ['10.0.0.1']}}})\n",
		"channels":  "sites.update({'a': {'socket': '/run/a', 'channels': 9, 'tcp': {'port': 6560, 'only_from': ['10.0.0.1']}}})\n",
		"heartbeat": "sites.update({'a': {'socket': '/run/a', 'heartbeat': (3, 2.5), 'tcp': {'port': 6560, 'only_from': ['10.0.0.1']}}})\n",
		"cache":     "sites.update({'a': {'socket': '/run/a', 'cache': False, 'tcp': {'port': 6560, 'only_from': ['10.0.0.1']}}})\n",
		"tcp port":  "sites.update({'a': {'socket': '/run/a', 'tcp': {'port': 6561, 'only_from': ['10.0.0.1']}}})\n",
		"only_from": "sites.update({'a': {'socket': '/run/a', 'tcp': {'port': 6560, 'only_from': ['10.0.0.2']}}})\n",
		"no tcp":    "sites.update({'a': {'socket': '/run/a'}})\n",
	}
	for what, src := range changed {
		b := load(src)
		if a.Equal(b) || b.Equal(a) {
			t.Errorf("a change of %s is Equal", what)
		}
	}
	// The same effective value written differently is still Equal.
	if same := load("sites['a'] = {'tcp': {'only_from': ['10.0.0.1'], 'port': 6560}, 'socket': 'unix:/run/a', 'channels': 10}\n"); !a.Equal(same) {
		t.Errorf("equivalent spelling not Equal:\n%+v\n%+v", a, same)
	}
}
