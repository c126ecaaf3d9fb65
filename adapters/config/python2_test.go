package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

func TestFromPython2(t *testing.T) {
	cases := []struct{ in, want string }{
		{`x = u'a'`, `x = 'a'`},
		{`x = {U"k": u'''v'''}`, `x = {"k": '''v'''}`},
		{`x = u'Gr\xfcn'`, `x = 'Gr\u00fcn'`},
		{`x = 'Gr\xc3\xbcn'`, "x = 'Gr\xc3\xbcn'"},
		{`x = u'\x41\\xfc'`, `x = '\x41\\xfc'`},
		{`x = ur'\xfc'`, `x = r'\xfc'`},
		{`x = b'\xfc'`, `x = b'\xfc'`},
		{`x = menu + 'u'  # u'comment'`, `x = menu + 'u'  # u'comment'`},
		{`x = 'it\'s u' + u"q"`, `x = 'it\'s u' + "q"`},
		{"x = u'a\n'b'", "x = 'a\n'b'"}, // unterminated: left for Starlark to report
		{`x = fu'a'`, `x = fu'a'`},
	}
	for _, c := range cases {
		if got := string(FromPython2([]byte(c.in))); got != c.want {
			t.Errorf("FromPython2(%s) = %s, want %s", c.in, got, c.want)
		}
		if strings.Count(c.in, "\n") != strings.Count(string(FromPython2([]byte(c.in))), "\n") {
			t.Errorf("line count changed for %q", c.in)
		}
	}
}

// The rewritten Python 2 values evaluate to the text Python 2 meant.
func TestFromPython2Values(t *testing.T) {
	src := "a = u'Gr\\xfcn'\nb = 'Gr\\xc3\\xbcn'\nc = u'\\u00fc\\n'\n"
	g, err := starlark.ExecFileOptions(&syntax.FileOptions{}, &starlark.Thread{}, "t.mk", FromPython2([]byte(src)), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a": "Grün", "b": "Grün", "c": "ü\n"} {
		if got, ok := starlark.AsString(g[name]); !ok || got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

// checkmk16Main is liveproxyd.mk as Checkmk 1.6 (Python 2) wrote it: the
// GUI's site IDs and strings with u prefixes, pprint layout.
const checkmk16Main = `# Written by Checkmk store

sites.update({u'remote1': {'channels': 5,
              'heartbeat': (5, 2.0),
              'socket': ('tcp', {'address': (u'10.0.0.1', 6557), 'tls': ('plain_text', {})})},
 u'remote2': {'socket': u'tcp:10.0.0.2:6557'}})
`

// TestPython2LiteralsLoadInEveryFile: Checkmk up to 1.6 wrote u'...' into
// every .mk file, not only sites.mk, so the daemon reads them everywhere.
func TestPython2LiteralsLoadInEveryFile(t *testing.T) {
	root := writeRoot(t, checkmk16Main, map[string]string{
		"wato/global.mk": "# Written by WATO\n# encoding: utf-8\n\n" +
			"liveproxyd_default_connection_params = {u'channel_timeout': 3.0, u'query_timeout': 90.0}\n",
		"zz_extra.mk": "liveproxyd_default_connection_params.update({u'connect_retry': 2.0})\n",
	})
	c := mustLoad(t, root)
	r1, r2 := siteByName(t, c, "remote1"), siteByName(t, c, "remote2")
	if r1.Socket.Address != "10.0.0.1:6557" || r1.Core.Channels != 5 || r1.Core.HeartbeatInterval != 5*time.Second {
		t.Errorf("remote1: %+v", r1)
	}
	if r2.Socket.Address != "10.0.0.2:6557" {
		t.Errorf("remote2 socket: %+v", r2.Socket)
	}
	for _, s := range []Site{r1, r2} {
		if s.Core.ChannelTimeout != 3*time.Second || s.Core.QueryTimeout != 90*time.Second || s.Core.ConnectRetry != 2*time.Second {
			t.Errorf("%s: the u'...' globals did not apply: %+v", s.Name, s.Core)
		}
	}
}

// TestCheckmk15ConnectTimeout: Checkmk 1.5's GUI wrote 'connect_timeout'
// (the site's timeout) into every proxied site of liveproxyd.mk.
func TestCheckmk15ConnectTimeout(t *testing.T) {
	root := writeRoot(t, "sites.update({u'r': {'socket': 'tcp:10.0.0.1:6557', 'connect_timeout': 2}})\n", nil)
	if c := siteByName(t, mustLoad(t, root), "r").Core; c.ConnectTimeout != 2*time.Second {
		t.Errorf("connect_timeout: %v, want 2s", c.ConnectTimeout)
	}
}

// TestPython2ErrorsKeepFileAndLine: the rewrite keeps every line where it
// was, so an error still names the file and line the admin wrote.
func TestPython2ErrorsKeepFileAndLine(t *testing.T) {
	root := writeRoot(t, "sites.update({u'a': {u'socket': u'/s'}})\n", map[string]string{
		"wato/global.mk": "# Written by WATO\nliveproxyd_default_connection_params = {\n  u'channels': 2,\n  u'channel_timeout': u'soon',\n}\n",
	})
	e := loadErr(t, root)
	if e.File != filepath.Join(root, GlobalsDir, "wato/global.mk") || e.Line != 4 || e.Key != "channel_timeout" {
		t.Errorf("got %v (file %s, line %d, key %q), want wato/global.mk:4 key channel_timeout", e, e.File, e.Line, e.Key)
	}
	root = writeRoot(t, "sites.update({\n u'a': {u'socket': u'/s',\n  u'channels': -1}})\n", nil)
	if e := loadErr(t, root); e.File != filepath.Join(root, MainFile) || e.Line != 3 || e.Site != "a" || e.Key != "channels" {
		t.Errorf("got %v (line %d, site %q, key %q), want liveproxyd.mk:3 site a key channels", e, e.Line, e.Site, e.Key)
	}
}
