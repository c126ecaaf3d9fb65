package omd

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"liveproxyd/adapters/config"
	"liveproxyd/internal/testutil"
)

// checkmkSites is sites.mk as Checkmk >= 1.4 writes it (pprint layout).
const checkmkSites = `# Written by Checkmk store

sites.update({'central': {'alias': 'Local site central',
             'disable_wato': True,
             'disabled': False,
             'proxy': None,
             'socket': ('local', None),
             'timeout': 5},
 'direct': {'alias': 'No proxy',
            'proxy': None,
            'socket': ('tcp', {'address': ('10.0.0.9', 6557), 'tls': ('plain_text', {})})},
 'remote1': {'alias': 'Remote one',
             'proxy': {'params': {'channels': 4,
                                  'heartbeat': (5, 1.5),
                                  'cache': False}},
             'socket': ('tcp', {'address': ('10.0.0.1', 6557), 'tls': ('encrypted', {'verify': False})}),
             'timeout': 2},
 'remote2': {'alias': 'Remote two',
             'proxy': {'params': None, 'tcp': {'port': 6560, 'only_from': ['127.0.0.1'], 'tls': False}},
             'socket': ('tcp6', {'address': ('::1', 6557)})},
 'remote3': {'proxy': {'params': {'query_timeout': 30.0, 'connect_retry': 2.5}},
             'socket': 'unix:/var/run/remote3/live'}})
`

func TestCheckmkForm(t *testing.T) {
	root := newRoot(t, checkmkSites)
	// Global defaults apply where the GUI said "use the global settings"
	// (params None), not where the site has its own values.
	testutil.WriteFile(t, filepath.Join(root, config.GlobalsDir, "global.mk"),
		"liveproxyd_default_connection_params = {'channels': 7}\n")
	out := writeConfig(t, root)
	sites := load(t, root)

	var names []string
	for n := range sites {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"remote1", "remote2", "remote3"}; !slices.Equal(names, want) {
		t.Fatalf("proxied sites %v, want %v", names, want)
	}
	r1 := sites["remote1"].Core
	if r1.Channels != 4 || r1.HeartbeatInterval != 5*time.Second || r1.HeartbeatTimeoutMin != 1500*time.Millisecond {
		t.Errorf("remote1 overrides lost: %+v", r1)
	}
	if r1.ChannelTimeout != 5*time.Second || r1.HeartbeatPercent != 50 || r1.QueryTimeout != 120*time.Second {
		t.Errorf("remote1 design defaults not applied: %+v", r1)
	}
	if sites["remote1"].Cache || !sites["remote1"].Socket.TLS || sites["remote1"].Socket.Verify {
		t.Errorf("remote1 cache/TLS wrong: %+v", sites["remote1"])
	}
	r2 := sites["remote2"]
	if r2.Core.Channels != 7 {
		t.Errorf("remote2 (params None) has %d channels, want the global 7", r2.Core.Channels)
	}
	if r2.Socket.Network != "tcp6" || r2.TCP == nil || r2.TCP.Port != 6560 || !slices.Equal(r2.TCP.OnlyFrom, []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}) {
		t.Errorf("remote2 socket/tcp wrong: %+v %+v", r2.Socket, r2.TCP)
	}
	r3 := sites["remote3"]
	// remote3 set no channels of its own: the global 7 applies to it too.
	if r3.Core.Channels != 7 || r3.Core.QueryTimeout != 30*time.Second || r3.Core.ConnectRetry != 2500*time.Millisecond {
		t.Errorf("remote3: %+v", r3.Core)
	}
	if r3.Socket.Network != "unix" || r3.Socket.Address != "/var/run/remote3/live" {
		t.Errorf("remote3 socket: %+v", r3.Socket)
	}
	for _, s := range []string{"remote1", "remote2", "remote3"} {
		want := s + ": unix:" + filepath.Join(root, config.SocketDir, s) + "\n"
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, s := range []string{"central:", "direct:"} {
		if strings.Contains(out, "\n"+s+" unix:") {
			t.Errorf("output offers a proxy socket for %s\n%s", s, out)
		}
	}
	if !strings.Contains(out, "no "+filepath.Join(root, "tmp/run/liveproxyd.pid")) {
		t.Errorf("output does not say the daemon is not running:\n%s", out)
	}
}

// notesSites uses the design notes' form and Python 2 era u'...' strings.
const notesSites = `sites = {
  u'here': {u'alias': u'Local', u'socket': u'unix:ROOT/tmp/run/live', u'liveproxy': True},
  u'old1': {
    u'alias': u'Gr\xfcn',
    u'socket': u'tcp:127.0.0.1:6557',
    u'liveproxy': True,
    u'liveproxyd': {u'channels': 12, u'channel_timeout': 6, u'heartbeat_interval': 4,
                    u'heartbeat_percent': 60, u'query_timeout': 100},
  },
  'old2': {'socket': ('unix', {'path': '/srv/old2/live'}), 'liveproxy': True},
  'old3': {'socket': 'tcp:10.1.1.1:6557', 'liveproxyd': {'heartbeat_timeout': 0.5}},
  'off': {'socket': 'tcp:10.1.1.2:6557', 'liveproxy': False, 'liveproxyd': {'channels': 3}},
}
`

func TestNotesForm(t *testing.T) {
	root := newRoot(t, "")
	testutil.WriteFile(t, filepath.Join(root, SitesFile), strings.ReplaceAll(notesSites, "ROOT", root))
	out := writeConfig(t, root)
	sites := load(t, root)
	if len(sites) != 4 {
		t.Fatalf("want here, old1, old2, old3, got %v", sites)
	}
	if s := sites["here"].Socket; s.Network != "unix" || s.Address != filepath.Join(root, config.LocalSocket) {
		t.Errorf("here (local, proxy checked) socket: %+v", s)
	}
	o1 := sites["old1"].Core
	if o1.Channels != 12 || o1.ChannelTimeout != 6*time.Second || o1.HeartbeatInterval != 4*time.Second ||
		o1.HeartbeatTimeoutMin != 2*time.Second || o1.HeartbeatPercent != 60 || o1.QueryTimeout != 100*time.Second {
		t.Errorf("old1: %+v", o1)
	}
	if s := sites["old1"].Socket; s.Network != "tcp" || s.Address != "127.0.0.1:6557" {
		t.Errorf("old1 socket: %+v", s)
	}
	o2 := sites["old2"].Core
	if o2.Channels != 10 || o2.HeartbeatInterval != 3*time.Second || o2.QueryTimeout != 120*time.Second {
		t.Errorf("old2 (checkbox, no values) should get the design defaults: %+v", o2)
	}
	if o3 := sites["old3"].Core; o3.HeartbeatTimeoutMin != 500*time.Millisecond || o3.HeartbeatInterval != 3*time.Second {
		t.Errorf("old3 heartbeat: %+v", o3)
	}
	if _, ok := sites["off"]; ok {
		t.Error("a site with 'liveproxy': False is proxied")
	}
	if !strings.Contains(out, "here: proxied, it is this site's own Livestatus") {
		t.Errorf("output does not explain proxying the local site:\n%s", out)
	}
	// The written file must still be Python: no u prefixes, and explicit values.
	text := readFile(t, filepath.Join(root, config.MainFile))
	if strings.Contains(text, "u'") {
		t.Errorf("written file has a u prefix:\n%s", text)
	}
	for _, want := range []string{"'channels': 12,", "'heartbeat': (4, 2.0),", "'channel_timeout': 6,", "'socket': 'tcp:127.0.0.1:6557',"} {
		if !strings.Contains(text, want) {
			t.Errorf("written file lacks %q:\n%s", want, text)
		}
	}
}

// TestOnlyTheGUIsKeysAreWritten: a site whose GUI entry sets only channels
// keeps the admin's global defaults (liveproxyd.d/) for every other key;
// write-config must not fill them in from built-in defaults.
func TestOnlyTheGUIsKeysAreWritten(t *testing.T) {
	root := newRoot(t, `sites.update({'remote1': {'alias': 'Remote one',
             'proxy': {'params': {'channels': 8}},
             'socket': ('tcp', {'address': ('10.0.0.1', 6557), 'tls': ('plain_text', {})}),
             'timeout': 2}})
`)
	testutil.WriteFile(t, filepath.Join(root, config.GlobalsDir, "wato/global.mk"),
		"liveproxyd_default_connection_params = {'channels': 3, 'channel_timeout': 9.0, 'query_timeout': 60.0,\n"+
			"    'heartbeat': (4, 1.0), 'heartbeat_percent': 80, 'connect_retry': 7.0, 'cache': False}\n")
	writeConfig(t, root)
	text := readFile(t, filepath.Join(root, config.MainFile))
	for _, key := range []string{"channel_timeout", "query_timeout", "heartbeat", "connect_retry", "cache"} {
		if strings.Contains(text, "'"+key+"'") {
			t.Errorf("written file sets %s, which the GUI did not:\n%s", key, text)
		}
	}
	r1 := load(t, root)["remote1"]
	c := r1.Core
	if c.Channels != 8 {
		t.Errorf("channels %d, want the GUI's 8", c.Channels)
	}
	if c.ChannelTimeout != 9*time.Second || c.QueryTimeout != 60*time.Second || c.HeartbeatInterval != 4*time.Second ||
		c.HeartbeatTimeoutMin != time.Second || c.HeartbeatPercent != 80 || c.ConnectRetry != 7*time.Second || r1.Cache {
		t.Errorf("the global defaults did not apply: %+v cache=%v", c, r1.Cache)
	}
}

// localProxied is sites.mk as Checkmk 2.x writes its own site when the
// admin ticks "Use Livestatus Proxy Daemon" for it (params None: the
// global defaults).
const localProxied = `sites.update({'central': {'alias': 'Local site central',
             'disable_wato': True,
             'disabled': False,
             'insecure': False,
             'multisiteurl': '',
             'persist': False,
             'proxy': {'params': None},
             'replicate_ec': False,
             'replication': None,
             'socket': ('local', None),
             'status_host': None,
             'timeout': 5,
             'url_prefix': '/central/',
             'user_login': True}})
`

// TestLocalSiteProxied: the GUI then asks liveproxyd's socket for its own
// site, so write-config must emit it and the daemon must load it.
func TestLocalSiteProxied(t *testing.T) {
	root := newRoot(t, localProxied)
	out := writeConfig(t, root)
	if text := readFile(t, filepath.Join(root, config.MainFile)); !strings.Contains(text, "'socket': ('local', None)") {
		t.Errorf("written file lacks Checkmk's local socket:\n%s", text)
	}
	c, ok := load(t, root)["central"]
	if !ok {
		t.Fatalf("central not proxied; output:\n%s", out)
	}
	if c.Socket.Network != "unix" || c.Socket.Address != filepath.Join(root, config.LocalSocket) {
		t.Errorf("central socket %+v, want the site's own %s", c.Socket, config.LocalSocket)
	}
	if want := "central: unix:" + filepath.Join(root, config.SocketDir, "central") + "\n"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}

func TestInvalidValueKeepsOldFile(t *testing.T) {
	root := newRoot(t, checkmkSites)
	writeConfig(t, root)
	target := filepath.Join(root, config.MainFile)
	before := readFile(t, target)
	dirBefore := dirEntries(t, filepath.Dir(target))

	bad := strings.Replace(checkmkSites, "'channels': 4,", "'channels': 0,", 1)
	testutil.WriteFile(t, filepath.Join(root, SitesFile), bad)
	var out bytes.Buffer
	err := WriteConfig(root, &out)
	if err == nil {
		t.Fatalf("channels 0 accepted; wrote:\n%s", readFile(t, target))
	}
	ce := configError(t, err)
	if ce.File != filepath.Join(root, SitesFile) || ce.Line != lineOfText(t, bad, "'channels': 0") ||
		ce.Site != "remote1" || ce.Key != "proxy.params.channels" {
		t.Errorf("error not placed on the admin's line: %+v", ce)
	}
	if got := readFile(t, target); got != before {
		t.Errorf("old file changed to:\n%s", got)
	}
	if got := dirEntries(t, filepath.Dir(target)); !slices.Equal(got, dirBefore) {
		t.Errorf("directory was %v, now %v (temporary file left?)", dirBefore, got)
	}
}

func TestMalformedSitesMk(t *testing.T) {
	cases := []struct{ name, src, at string }{
		{"syntax", "sites.update({\n 'a': {'socket': 'tcp:h:1',\n 'proxy': {'params': {'channels': 2}}}\n", ""},
		{"unknown value key", "sites.update({'a': {'socket': 'tcp:h:1',\n 'proxy': {'params': {\n 'chanels': 2}}}})\n", "'chanels'"},
		{"not a dict", "sites.update({'a': {'socket': 'tcp:h:1',\n 'proxy': 5}})\n", "'proxy': 5"},
		{"both forms", "sites.update({'a': {'socket': 'tcp:h:1', 'liveproxyd': {},\n 'proxy': {'params': None}}})\n", "'proxy'"},
		{"undefined name", "x = 1\nsites.update(foo)\n", "foo"},
		{"proxy loop", "sites.update({'a': {'proxy': {'params': None},\n 'socket': 'unix:ROOT/tmp/run/liveproxy/a'}})\n", "'socket'"},
		{"empty socket tuple", "sites.update({'a': {'proxy': {'params': None},\n 'socket': ()}})\n", ""},
		{"bad heartbeat", "sites.update({'a': {'socket': 'tcp:h:1', 'proxy': {'params': {\n'heartbeat': 3}}}})\n", "'heartbeat'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := newRoot(t, "")
			c.src = strings.ReplaceAll(c.src, "ROOT", root)
			testutil.WriteFile(t, filepath.Join(root, SitesFile), c.src)
			err := WriteConfig(root, &bytes.Buffer{})
			if err == nil {
				t.Fatal("accepted")
			}
			ce := configError(t, err)
			if ce.File != filepath.Join(root, SitesFile) || ce.Line == 0 {
				t.Errorf("error does not name sites.mk and a line: %v", err)
			}
			if c.at != "" && ce.Line != lineOfText(t, c.src, c.at) {
				t.Errorf("line %d, want the line of %s: %v", ce.Line, c.at, err)
			}
			if _, err := os.Stat(filepath.Join(root, config.MainFile)); !os.IsNotExist(err) {
				t.Errorf("liveproxyd.mk written despite the error (stat: %v)", err)
			}
		})
	}
}

// An error the loader finds in liveproxyd.d/ is reported there, and the
// old file stays.
func TestGlobalsErrorKeepsOldFile(t *testing.T) {
	root := newRoot(t, checkmkSites)
	writeConfig(t, root)
	target := filepath.Join(root, config.MainFile)
	before := readFile(t, target)
	global := filepath.Join(root, config.GlobalsDir, "global.mk")
	testutil.WriteFile(t, global, "liveproxyd_default_connection_params = {\n'channels': -1}\n")
	err := WriteConfig(root, &bytes.Buffer{})
	ce := configError(t, err)
	if ce.File != global || ce.Line != 2 {
		t.Errorf("want %s:2, got %v", global, err)
	}
	if readFile(t, target) != before {
		t.Error("old file changed")
	}
}

// The file is replaced by a rename: a reader that opened the old file
// keeps reading it whole, never a mix.
func TestReplaceIsAtomic(t *testing.T) {
	root := newRoot(t, checkmkSites)
	target := filepath.Join(root, config.MainFile)
	testutil.WriteFile(t, target, "# old\nsites.update({})\n")
	if err := os.Chmod(target, 0o640); err != nil {
		t.Fatal(err)
	}
	old, err := os.Open(target)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	writeConfig(t, root)
	b := make([]byte, 100)
	n, _ := old.Read(b)
	if string(b[:n]) != "# old\nsites.update({})\n" {
		t.Errorf("the old file was rewritten in place: %q", b[:n])
	}
	if !strings.Contains(readFile(t, target), "'remote1'") {
		t.Error("new file lacks remote1")
	}
	if st, err := os.Stat(target); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("mode not kept: %v %v", st.Mode(), err)
	}
}

func TestNoSitesFile(t *testing.T) {
	root := newRoot(t, "")
	out := writeConfig(t, root)
	if sites := load(t, root); len(sites) != 0 {
		t.Errorf("sites from nowhere: %v", sites)
	}
	if !strings.Contains(out, "no remote sites") {
		t.Errorf("output: %s", out)
	}
}

func TestNotASiteRoot(t *testing.T) {
	dir := t.TempDir()
	if err := WriteConfig(dir, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "etc/check_mk") {
		t.Errorf("want a not-a-site error, got %v", err)
	}
	if es := dirEntries(t, dir); len(es) != 0 {
		t.Errorf("created %v", es)
	}
}
