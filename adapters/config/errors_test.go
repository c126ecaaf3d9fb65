package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// Each bad input must be reported with the exact file, line, site and key.
// In every main file the offending value sits alone on its line.
func TestBadValuesExactPosition(t *testing.T) {
	tests := []struct {
		name, main string
		line       int
		site, key  string
		msg        string
	}{
		{"typo key", "sites.update({\n 'a': {\n  'socket': '/s',\n  'chanels': 5,\n }})\n", 4, "a", "chanels",
			"unknown key (known: answer_buffer, cache, channel_timeout, channels, connect_retry, connect_timeout, heartbeat, heartbeat_percent, max_query_bytes, query_timeout, socket, tcp)"},
		{"negative channels", "sites.update({'a': {\n  'socket': '/s',\n  'channels': -1,\n}})\n", 3, "a", "channels",
			"must be an integer from 1 to 1000, got -1"},
		{"too many channels", "sites.update({'a': {'socket': '/s',\n 'channels': 1001}})\n", 2, "a", "channels",
			"must be an integer from 1 to 1000, got 1001"},
		{"channels as string", "sites.update({'a': {'socket': '/s',\n 'channels': '5'}})\n", 2, "a", "channels",
			"must be an integer from 1 to 1000, got \"5\""},
		{"channels as bool", "sites.update({'a': {'socket': '/s',\n 'channels': True}})\n", 2, "a", "channels",
			"must be an integer from 1 to 1000, got True"},
		{"zero timeout", "sites.update({'a': {'socket': '/s',\n\n 'channel_timeout': 0}})\n", 3, "a", "channel_timeout",
			"must be a number of seconds from 0.001 to 86400, got 0"},
		{"over a day", "sites.update({'a': {'socket': '/s',\n 'query_timeout': 86400.5}})\n", 2, "a", "query_timeout",
			"must be a number of seconds from 0.001 to 86400, got 86400.5"},
		{"nan retry", "sites.update({'a': {'socket': '/s',\n 'connect_retry': float('nan')}})\n", 2, "a", "connect_retry",
			"must be a number of seconds from 0.001 to 86400, got nan"},
		{"huge int timeout", "sites.update({'a': {'socket': '/s',\n 'query_timeout': 1 << 70}})\n", 2, "a", "query_timeout",
			"must be a number of seconds from 0.001 to 86400, got 1180591620717411303424"},
		{"heartbeat shape", "sites.update({'a': {'socket': '/s',\n 'heartbeat': (3,)}})\n", 2, "a", "heartbeat",
			"must be (interval seconds, timeout seconds), got (3,)"},
		{"heartbeat timeout", "sites.update({'a': {'socket': '/s',\n 'heartbeat': (3, -2)}})\n", 2, "a", "heartbeat",
			"timeout must be a number of seconds from 0.001 to 86400, got -2"},
		{"percent zero", "sites.update({'a': {'socket': '/s',\n 'heartbeat_percent': 0}})\n", 2, "a", "heartbeat_percent",
			"must be an integer from 1 to 1000, got 0"},
		{"query bytes", "sites.update({'a': {'socket': '/s',\n 'max_query_bytes': 10}})\n", 2, "a", "max_query_bytes",
			"must be an integer from 1024 to 1073741824, got 10"},
		{"cache string", "sites.update({'a': {'socket': '/s',\n 'cache': 'yes'}})\n", 2, "a", "cache",
			"must be True or False, got \"yes\""},
		{"tcp port", "sites.update({'a': {'socket': '/s',\n 'tcp': {'port': 0}}})\n", 2, "a", "tcp",
			"'port' must be from 1 to 65535, got 0"},
		{"tcp only_from", "sites.update({'a': {'socket': '/s',\n 'tcp': {'port': 1, 'only_from': '1.2.3.4'}}})\n", 2, "a", "tcp",
			"'only_from' must be a list of addresses, got \"1.2.3.4\""},
		{"tcp only_from host name", "sites.update({'a': {'socket': '/s',\n 'tcp': {'port': 1, 'only_from': ['10.0.0.1', 'viewer.example.com']}}})\n", 2, "a", "tcp",
			"'only_from' entry \"viewer.example.com\": not an IP address or CIDR range (like 10.0.0.0/8 or 2001:db8::/32)"},
		{"tcp only_from bad range", "sites.update({'a': {'socket': '/s',\n 'tcp': {'port': 1, 'only_from': ['10.0.0.0/33']}}})\n", 2, "a", "tcp",
			"'only_from' entry \"10.0.0.0/33\": not an IP address or CIDR range (like 10.0.0.0/8 or 2001:db8::/32)"},
		{"tcp only_from host bits", "sites.update({'a': {'socket': '/s',\n 'tcp': {'port': 1, 'only_from': ['10.1.2.3/8']}}})\n", 2, "a", "tcp",
			"'only_from' entry \"10.1.2.3/8\": has host bits set; the range is 10.0.0.0/8"},
		{"tcp only_from not a string", "sites.update({'a': {'socket': '/s',\n 'tcp': {'port': 1, 'only_from': [10]}}})\n", 2, "a", "tcp",
			"'only_from' must be a list of addresses, got [10]"},
		{"tcp tls string", "sites.update({'a': {'socket': '/s',\n 'tcp': {'port': 6560, 'tls': 'yes'}}})\n", 2, "a", "tcp",
			"'tls' must be True or False, got \"yes\""},
		{"tcp missing port", "sites.update({'a': {'socket': '/s',\n 'tcp': {'tls': False}}})\n", 2, "a", "tcp",
			"'port' must be from 1 to 65535, got <unset>"},
		{"missing socket", "sites.update({\n 'a': {'channels': 2},\n})\n", 2, "a", "socket", "required key is missing"},
		{"site not dict", "sites.update({\n 'a': '/s',\n})\n", 2, "a", "", "must be a dict of settings, got \"/s\""},
		{"site name slash", "sites.update({\n 'a/b': {'socket': '/s'},\n})\n", 2, "a/b", "", "site name \"a/b\" contains '/'"},
		{"site name dotdot", "sites.update({\n '..': {'socket': '/s'},\n})\n", 2, "..", "", "site name \"..\" is not usable as a file name"},
		{"site name empty", "sites.update({\n '': {'socket': '/s'},\n})\n", 1, "", "", "site name is empty"},
		{"site name control", "sites.update({\n 'a\\nb': {'socket': '/s'},\n})\n", 2, "a\nb", "", "site name \"a\\nb\" contains control characters"},
		{"site name not string", "x = 1\nsites.update({1: {'socket': '/s'}})\n", 2, "", "", "site names must be strings, got 1"},
		{"key not string", "sites.update({'a': {'socket': '/s',\n 2: 3}})\n", 1, "a", "", "keys must be strings, got 2"},
		{"sites rebound", "x = 1\nsites = ['a']\n", 2, "", "", "sites must be a dict, got [\"a\"]"},
		{"index assignment", "sites['a'] = {'socket': '/s'}\nsites['a']['channels'] = 0\n", 2, "a", "channels",
			"must be an integer from 1 to 1000, got 0"},
		{"keyword update", "sites.update(\n  a={'socket': '/s', 'cache': 1},\n)\n", 2, "a", "cache", "must be True or False, got 1"},
		{"dict call", "sites.update({'a': dict(\n socket='/s',\n channels=0)})\n", 3, "a", "channels",
			"must be an integer from 1 to 1000, got 0"},
		{"value from variable", "p = {'socket': '/s', 'channels': 0}\nsites.update({\n 'a': p})\n", 3, "a", "channels",
			"must be an integer from 1 to 1000, got 0"},
		{"later statement wins", "sites.update({'a': {'socket': '/s', 'channels': 1}})\nsites.update({'a': {'socket': '/s',\n 'channels': 0}})\n",
			3, "a", "channels", "must be an integer from 1 to 1000, got 0"},
		{"socket in defaults", "liveproxyd_default_connection_params.update({\n 'socket': '/s'})\n", 2, "", "socket",
			"only allowed in a site's own settings"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := writeRoot(t, tc.main, nil)
			e := loadErr(t, root)
			want := &Error{File: filepath.Join(root, MainFile), Line: tc.line, Site: tc.site, Key: tc.key, Msg: tc.msg}
			if *e != *want {
				t.Errorf("got  %s\nwant %s", e, want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "f.mk", Line: 3, Site: "x", Key: "channels", Msg: "must be a positive integer, got -1"},
			"f.mk:3: site 'x' key 'channels': must be a positive integer, got -1"},
		{Error{File: "f.mk", Line: 2, Site: "x", Msg: "m"}, "f.mk:2: site 'x': m"},
		{Error{File: "f.mk", Line: 1, Key: "cache", Msg: "m"}, "f.mk:1: liveproxyd_default_connection_params key 'cache': m"},
		{Error{File: "f.mk", Msg: "m"}, "f.mk: m"},
	}
	for _, tc := range tests {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// A bad default is blamed on the globals file that set it, not the main file.
func TestBadDefaultNamesItsFile(t *testing.T) {
	root := writeRoot(t, "sites.update({'a': {'socket': '/s'}})\n", map[string]string{
		"a.mk":           "liveproxyd_default_connection_params = {'channels': 4}\n",
		"wato/global.mk": "# set by the GUI\nliveproxyd_default_connection_params.update({\n  'heartbeat': (5, 0),\n})\n",
		"z.mk":           "liveproxyd_default_connection_params['cache'] = True\n",
	})
	e := loadErr(t, root)
	want := &Error{File: filepath.Join(root, GlobalsDir, "wato/global.mk"), Line: 3, Key: "heartbeat",
		Msg: "timeout must be a number of seconds from 0.001 to 86400, got 0"}
	if *e != *want {
		t.Errorf("got  %s\nwant %s", e, want)
	}
}

// Starlark's own errors keep the position Starlark reports.
func TestStarlarkErrors(t *testing.T) {
	tests := []struct {
		name, main string
		line       int
		msg        string
	}{
		{"python2 print", "# -*- encoding: utf-8 -*-\nprint 'hello'\n", 2, "not valid Starlark"},
		{"import", "import os\n", 1, "not valid Starlark"},
		{"unclosed", "sites.update({'a': {'socket': '/s'}\n\n", 3, "not valid Starlark"},
		{"undefined name", "x = 1\nsites.update(other)\n", 2, "undefined: other"},
		{"update with int", "x = 1\n\nsites.update(1)\n", 3, "update"},
		{"fail", "x = 1\nfail('broken')\n", 2, "broken"},
		{"too many steps", "x = 1\nn = [i for i in range(1000000) for j in range(1000000)]\n", 2, "too many steps"},
		{"huge range", "x = 1\ny = list(range(2000000000))\n", 2, "over the configuration limit"},
		{"frozen sites via load", "load('x.star', 'y')\n", 1, "load"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := writeRoot(t, tc.main, nil)
			e := loadErr(t, root)
			if e.File != filepath.Join(root, MainFile) || e.Line != tc.line || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got %v (line %d), want line %d containing %q", e, e.Line, tc.line, tc.msg)
			}
		})
	}
}

func TestMissingMainFile(t *testing.T) {
	root := writeRoot(t, "-", nil)
	e := loadErr(t, root)
	want := filepath.Join(root, MainFile)
	if e.File != want || !strings.Contains(e.Error(), want) || !strings.Contains(e.Msg, "no such file") {
		t.Errorf("got %v, want an error naming %s", e, want)
	}
}

func TestSiteNameTooLongForSocket(t *testing.T) {
	name := strings.Repeat("n", 120)
	root := writeRoot(t, fmt.Sprintf("sites.update({'%s': {'socket': '/s'}})\n", name), nil)
	e := loadErr(t, root)
	if e.Site != name || e.Line != 1 || !strings.Contains(e.Msg, "over the kernel's limit of 107") {
		t.Errorf("got %v", e)
	}
}
