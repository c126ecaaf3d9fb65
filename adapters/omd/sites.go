package omd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"liveproxyd/adapters/config"
	"liveproxyd/core"
)

// SitesFile is the GUI's list of sites, relative to the site root.
const SitesFile = "etc/check_mk/multisite.d/wato/sites.mk"

// maxSteps bounds the evaluation of sites.mk: a declarative file of
// thousands of sites needs a few hundred thousand steps.
const maxSteps = 50_000_000

// param is one key of a site in liveproxyd.mk.
type param struct {
	key   string
	value starlark.Value
}

// proxiedSite is one site to write, with where each written key came from
// in sites.mk (as a path below the site's dict) so that a value the proxy
// refuses can be blamed on the admin's line, not on the generated file.
type proxiedSite struct {
	name   string
	params []param
	blame  map[string][]string
}

// sitesFile is sites.mk as read.
type sitesFile struct {
	path  string
	ast   *syntax.File
	sites []proxiedSite // sorted by name
	notes []string      // sites skipped on purpose, for the admin
}

// heartbeatDefault fills the half of the heartbeat pair that a design-notes
// entry leaves out when it sets only heartbeat_interval or
// heartbeat_timeout: liveproxyd.mk has one (interval, timeout) key, so the
// other half must be written too. The built-in defaults are used, the same
// numbers the daemon falls back to.
var heartbeatDefault = starlark.Tuple{
	starlark.MakeInt(int(core.DefaultHeartbeatInterval / time.Second)),
	starlark.Float(core.DefaultHeartbeatTimeoutMin.Seconds()),
}

// paramOrder is the order of keys in the written file.
var paramOrder = []string{"socket", "tcp", "channels", "channel_timeout", "heartbeat", "heartbeat_percent",
	"query_timeout", "connect_retry", "cache", "max_query_bytes"}

// valueKeys are the proxy values a site may set in sites.mk, in either form.
// heartbeat_interval and heartbeat_timeout are the design notes' separate
// fields of Checkmk's (interval, timeout) pair (docs/design.md §20).
var valueKeys = []string{"cache", "channel_timeout", "channels", "connect_retry", "heartbeat",
	"heartbeat_interval", "heartbeat_percent", "heartbeat_timeout", "max_query_bytes", "query_timeout"}

// readSites evaluates sites.mk; a missing file means no remote sites.
func readSites(root, path string) (*sitesFile, error) {
	sf := &sitesFile{path: path}
	src, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		sf.notes = append(sf.notes, fmt.Sprintf("no %s: no remote sites are configured", path))
		return sf, nil
	}
	if err != nil {
		return nil, &config.Error{File: path, Msg: "cannot read: " + err.Error()}
	}
	predeclared := starlark.StringDict{"sites": starlark.NewDict(0)}
	opts := &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true}
	f, prog, err := starlark.SourceProgramOptions(opts, path, config.FromPython2(src), predeclared.Has)
	if err != nil {
		return nil, evalError(path, err)
	}
	sf.ast = f
	th := &starlark.Thread{Name: "sites.mk", Print: func(*starlark.Thread, string) {}}
	th.SetMaxExecutionSteps(maxSteps)
	g, err := prog.Init(th, predeclared)
	if err != nil {
		return nil, evalError(path, err)
	}
	v := g["sites"] // set when the file assigns `sites = {...}`
	if v == nil {
		v = predeclared["sites"]
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, &config.Error{File: path, Msg: "sites must be a dict, got " + v.Type()}
	}
	for _, it := range d.Items() {
		name, ok := it[0].(starlark.String)
		if !ok {
			return nil, &config.Error{File: path, Msg: "site names must be strings, got " + it[0].String()}
		}
		site, proxied, err := sf.site(root, string(name), it[1])
		if err != nil {
			return nil, err
		}
		if proxied {
			sf.sites = append(sf.sites, site)
		}
	}
	slices.SortFunc(sf.sites, func(a, b proxiedSite) int { return strings.Compare(a.name, b.name) })
	return sf, nil
}

// site decides whether one entry of sites.mk goes through the proxy and,
// if so, which keys to write for it.
func (sf *sitesFile) site(root, name string, v starlark.Value) (proxiedSite, bool, error) {
	fail := func(msg string, path ...string) error {
		return &config.Error{File: sf.path, Line: lineOf(sf.ast, name, path), Site: name,
			Key: strings.Join(path, "."), Msg: msg}
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return proxiedSite{}, false, fail("must be a dict, got " + v.Type())
	}
	get := func(d *starlark.Dict, key string) starlark.Value {
		x, found, _ := d.Get(starlark.String(key))
		if !found || x == starlark.None {
			return nil
		}
		return x
	}
	proxy, flag, notes := get(d, "proxy"), get(d, "liveproxy"), get(d, "liveproxyd")
	if proxy != nil && notes != nil {
		return proxiedSite{}, false, fail("has both 'proxy' (Checkmk) and 'liveproxyd' (design notes); keep one", "proxy")
	}
	s := proxiedSite{name: name, blame: map[string][]string{}}
	var values *starlark.Dict // nil: use the global defaults
	var prefix []string
	switch {
	case proxy != nil:
		pd, ok := proxy.(*starlark.Dict)
		if !ok {
			return s, false, fail("must be None or {'params': ..., 'tcp': ...}, got "+proxy.Type(), "proxy")
		}
		if key, msg := onlyKeys(pd, "params", "tcp"); msg != "" {
			return s, false, fail(msg, "proxy", key)
		}
		if p := get(pd, "params"); p != nil {
			if values, ok = p.(*starlark.Dict); !ok {
				return s, false, fail("must be None or a dict, got "+p.Type(), "proxy", "params")
			}
		}
		prefix = []string{"proxy", "params"}
		if tcp := get(pd, "tcp"); tcp != nil {
			s.set("tcp", tcp, "proxy", "tcp")
		}
	case flag != nil && flag != starlark.True:
		return s, false, nil // the checkbox is off; its values are kept for later
	case flag != nil || notes != nil:
		prefix = []string{"liveproxyd"}
		values = starlark.NewDict(0)
		if notes != nil {
			if values, ok = notes.(*starlark.Dict); !ok {
				return s, false, fail("must be a dict of proxy values, got "+notes.Type(), "liveproxyd")
			}
		}
	default:
		return s, false, nil
	}
	sock := get(d, "socket")
	if isLocal(root, sock) {
		// The GUI asked for its own site through the proxy too: it will
		// connect to liveproxyd's socket for it, so the proxy must serve it.
		// Checkmk writes the site's socket as the GUI has it: ('local', None).
		sf.notes = append(sf.notes, fmt.Sprintf("%s: proxied, it is this site's own Livestatus (%s)", name, config.LocalSocket))
		if sock == nil {
			sock = starlark.Tuple{starlark.String("local"), starlark.None}
		}
	}
	// A GUI pointed at the proxy's socket (by hand, in a GUI that does not
	// switch by itself) must not make the proxy connect to itself.
	if p := unixPath(sock); strings.HasPrefix(p, filepath.Join(root, config.SocketDir)+"/") {
		return s, false, fail("is liveproxyd's own socket "+p+"; give the remote site's real address here", "socket")
	}
	s.set("socket", sock, "socket")
	if values == nil {
		return s, true, nil
	}
	// Only the keys the GUI set are written, as Checkmk's GUI does: every
	// other key stays with liveproxyd_default_connection_params
	// (liveproxyd.d/) and the daemon's defaults, so the admin's global
	// settings are not overridden by values nobody chose for this site.
	if key, msg := onlyKeys(values, valueKeys...); msg != "" {
		return s, false, fail(msg, append(prefix, key)...)
	}
	for _, it := range values.Items() {
		key := string(it[0].(starlark.String)) // onlyKeys checked the type
		from := append(slices.Clone(prefix), key)
		switch key {
		case "heartbeat_interval", "heartbeat_timeout":
			hb, _ := s.get("heartbeat").(starlark.Tuple)
			if hb == nil {
				hb = heartbeatDefault
			}
			hb = starlark.Tuple{hb[0], hb[1]}
			if key == "heartbeat_interval" {
				hb[0] = it[1]
			} else {
				hb[1] = it[1]
			}
			s.set("heartbeat", hb, from...)
		case "heartbeat":
			t, ok := it[1].(starlark.Tuple)
			if l, isList := it[1].(*starlark.List); isList && l.Len() == 2 {
				t, ok = starlark.Tuple{l.Index(0), l.Index(1)}, true
			}
			if !ok || len(t) != 2 {
				return s, false, fail("must be (interval seconds, timeout seconds), got "+it[1].String(), from...)
			}
			s.set("heartbeat", t, from...)
		default:
			s.set(key, it[1], from...)
		}
	}
	return s, true, nil
}

func (s *proxiedSite) get(key string) starlark.Value {
	for _, p := range s.params {
		if p.key == key {
			return p.value
		}
	}
	return nil
}

// set records key = v, blamed on the path below the site's dict.
func (s *proxiedSite) set(key string, v starlark.Value, from ...string) {
	s.blame[key] = from
	for i := range s.params {
		if s.params[i].key == key {
			s.params[i].value = v
			return
		}
	}
	s.params = append(s.params, param{key, v})
	slices.SortStableFunc(s.params, func(a, b param) int {
		return slices.Index(paramOrder, a.key) - slices.Index(paramOrder, b.key)
	})
}

// isLocal reports whether sock is the site's own Livestatus: no socket
// (Checkmk 1.2's local site), ('local', None), or ROOT/tmp/run/live in
// any spelling.
func isLocal(root string, sock starlark.Value) bool {
	if t, ok := sock.(starlark.Tuple); ok && len(t) == 2 && t[0] == starlark.String("local") {
		return true
	}
	return sock == nil || unixPath(sock) == filepath.Join(root, config.LocalSocket)
}

// unixPath is the cleaned path of a UNIX socket spec ('/p', 'unix:/p' or
// ('unix', {'path': '/p'})), or "" for anything else.
func unixPath(sock starlark.Value) string {
	var p string
	switch x := sock.(type) {
	case starlark.String:
		p = strings.TrimPrefix(string(x), "unix:")
	case starlark.Tuple:
		if len(x) != 2 || x[0] != starlark.String("unix") {
			break
		}
		if d, ok := x[1].(*starlark.Dict); ok {
			v, _, _ := d.Get(starlark.String("path"))
			s, _ := v.(starlark.String)
			p = string(s)
		}
	}
	if !filepath.IsAbs(p) {
		return ""
	}
	return filepath.Clean(p)
}

// onlyKeys returns the first key of d outside allowed and why, or "", "".
// A misspelt key is an error rather than ignored: the admin meant something.
func onlyKeys(d *starlark.Dict, allowed ...string) (string, string) {
	for _, it := range d.Items() {
		k, ok := it[0].(starlark.String)
		if !ok || !slices.Contains(allowed, string(k)) {
			return string(k), fmt.Sprintf("unknown key %s (known: %s)", it[0].String(), strings.Join(allowed, ", "))
		}
	}
	return "", ""
}

// evalError places a Starlark parse, resolve or evaluation error.
func evalError(path string, err error) *config.Error {
	var (
		se syntax.Error
		re resolve.ErrorList
		ee *starlark.EvalError
	)
	switch {
	case errors.As(err, &se):
		return &config.Error{File: path, Line: int(se.Pos.Line), Msg: "not valid Python (as far as Starlark reads it): " + se.Msg}
	case errors.As(err, &re) && len(re) > 0:
		return &config.Error{File: path, Line: int(re[0].Pos.Line), Msg: re[0].Msg}
	case errors.As(err, &ee):
		e := &config.Error{File: path, Msg: ee.Msg}
		for i := len(ee.CallStack) - 1; i >= 0; i-- {
			if pos := ee.CallStack[i].Pos; pos.Filename() == path {
				e.Line = int(pos.Line)
				break
			}
		}
		return e
	}
	return &config.Error{File: path, Msg: err.Error()}
}
