package config

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"go.starlark.net/starlark"

	"liveproxyd/core"
)

// Limits of the per-site keys. Beyond them a value is a typo, not a policy.
const (
	maxChannels   = 1000
	minDuration   = time.Millisecond
	maxDuration   = 24 * time.Hour
	maxPercent    = 1000
	minQueryBytes = 1 << 10
	maxQueryBytes = 1 << 30
)

// SocketDir holds the per-site listening sockets, relative to the site root.
const SocketDir = "tmp/run/liveproxy"

// settings accumulate while defaults, globals and site keys are applied.
type settings struct {
	cfg    core.Config
	cache  bool
	socket *Socket
	tcp    *TCP
}

// designDefaults are the design notes' values (docs/design.md §21), which override Checkmk's
// shipped defaults (5 channels, heartbeat (5, 2.0), channel_timeout 3.0).
func designDefaults() settings {
	return settings{cache: true, cfg: core.Config{
		Channels:            core.DefaultChannels,
		ChannelTimeout:      core.DefaultChannelTimeout,
		QueryTimeout:        core.DefaultQueryTimeout,
		ConnectRetry:        core.DefaultConnectRetry,
		HeartbeatInterval:   core.DefaultHeartbeatInterval,
		HeartbeatTimeoutMin: core.DefaultHeartbeatTimeoutMin,
		HeartbeatPercent:    core.DefaultHeartbeatPercent,
		MaxQueryBytes:       core.DefaultMaxQueryBytes,
		AnswerBuffer:        core.DefaultAnswerBuffer,
	}}
}

// A setter applies one key's value, or returns why it cannot.
type setter func(s *settings, v starlark.Value, root string) string

// paramKeys may appear in a site and in liveproxyd_default_connection_params.
var paramKeys = map[string]setter{
	"channels": func(s *settings, v starlark.Value, _ string) string {
		return setInt(&s.cfg.Channels, v, 1, maxChannels)
	},
	"channel_timeout": func(s *settings, v starlark.Value, _ string) string {
		return setSeconds(&s.cfg.ChannelTimeout, v)
	},
	"query_timeout": func(s *settings, v starlark.Value, _ string) string {
		return setSeconds(&s.cfg.QueryTimeout, v)
	},
	"connect_retry": func(s *settings, v starlark.Value, _ string) string {
		return setSeconds(&s.cfg.ConnectRetry, v)
	},
	// Checkmk 1.5's GUI wrote the site's connect timeout into liveproxyd.mk
	// for every proxied site; refusing the key would refuse those files.
	"connect_timeout": func(s *settings, v starlark.Value, _ string) string {
		return setSeconds(&s.cfg.ConnectTimeout, v)
	},
	"heartbeat": func(s *settings, v starlark.Value, _ string) string {
		iv, to, ok := pair(v)
		if !ok {
			return "must be (interval seconds, timeout seconds), got " + brief(v)
		}
		if msg := setSeconds(&s.cfg.HeartbeatInterval, iv); msg != "" {
			return "interval " + msg
		}
		if msg := setSeconds(&s.cfg.HeartbeatTimeoutMin, to); msg != "" {
			return "timeout " + msg
		}
		return ""
	},
	// 0 is refused rather than meaning "no slack": core.WithDefaults would
	// silently turn it into the default.
	"heartbeat_percent": func(s *settings, v starlark.Value, _ string) string {
		return setInt(&s.cfg.HeartbeatPercent, v, 1, maxPercent)
	},
	"max_query_bytes": func(s *settings, v starlark.Value, _ string) string {
		return setInt(&s.cfg.MaxQueryBytes, v, minQueryBytes, maxQueryBytes)
	},
	// Answers up to this many bytes are held until complete (docs/memory.md).
	"answer_buffer": func(s *settings, v starlark.Value, _ string) string {
		return setInt(&s.cfg.AnswerBuffer, v, minAnswerBuffer, maxAnswerBuffer)
	},
	"cache": func(s *settings, v starlark.Value, _ string) string {
		b, ok := v.(starlark.Bool)
		if !ok {
			return "must be True or False, got " + brief(v)
		}
		s.cache = bool(b)
		return ""
	},
}

// siteKeys may appear only in a site.
var siteKeys = map[string]setter{
	"socket": func(s *settings, v starlark.Value, root string) string {
		sock, msg := parseSocket(v, root)
		if msg == "" {
			s.socket = &sock
		}
		return msg
	},
	"tcp": func(s *settings, v starlark.Value, _ string) string {
		t, msg := parseTCP(v)
		if msg == "" {
			s.tcp = t
		}
		return msg
	},
}

func setInt(dst *int, v starlark.Value, lo, hi int64) string {
	i, ok := intValue(v)
	if !ok || i < lo || i > hi {
		return fmt.Sprintf("must be an integer from %d to %d, got %s", lo, hi, brief(v))
	}
	*dst = int(i)
	return ""
}

func setSeconds(dst *time.Duration, v starlark.Value) string {
	var sec float64
	switch x := v.(type) {
	case starlark.Int:
		if i, ok := x.Int64(); ok {
			sec = float64(i)
		} else {
			sec = math.Inf(1)
		}
	case starlark.Float:
		sec = float64(x)
	default:
		sec = math.NaN()
	}
	// Written so that NaN fails too.
	if !(sec >= minDuration.Seconds() && sec <= maxDuration.Seconds()) {
		return fmt.Sprintf("must be a number of seconds from %g to %g, got %s",
			minDuration.Seconds(), maxDuration.Seconds(), brief(v))
	}
	*dst = time.Duration(math.Round(sec * float64(time.Second)))
	return ""
}

// apply sets every key of d on s; site says whether site-only keys are
// allowed. fail positions the first problem.
func apply(s *settings, d *starlark.Dict, site bool, root string, fail func(key, msg string) *Error) *Error {
	for _, it := range d.Items() {
		k, ok := it[0].(starlark.String)
		if !ok {
			return fail("", "keys must be strings, got "+brief(it[0]))
		}
		key := string(k)
		set := paramKeys[key]
		if set == nil && site {
			set = siteKeys[key]
		}
		if set == nil {
			if siteKeys[key] != nil {
				return fail(key, "only allowed in a site's own settings")
			}
			return fail(key, "unknown key (known: "+knownKeys(site)+")")
		}
		if msg := set(s, it[1], root); msg != "" {
			return fail(key, msg)
		}
	}
	return nil
}

func knownKeys(site bool) string {
	var keys []string
	for k := range paramKeys {
		keys = append(keys, k)
	}
	if site {
		for k := range siteKeys {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// checkSiteName returns why name cannot be a site name: it names the
// listening socket file, so it must be one plain path component.
func checkSiteName(name string) string {
	switch {
	case name == "":
		return "site name is empty"
	case name == "." || name == "..":
		return fmt.Sprintf("site name %q is not usable as a file name", name)
	case strings.ContainsRune(name, '/'):
		return fmt.Sprintf("site name %q contains '/'", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Sprintf("site name %q contains control characters", name)
	}
	return ""
}

// build turns the evaluated namespace into sites.
func build(ev *evaluator, root string) ([]Site, error) {
	base := designDefaults()
	dv := ev.globals[varDefaults]
	dd, ok := dv.(*starlark.Dict)
	if !ok {
		return nil, ev.defaultsError("", varDefaults+" must be a dict, got "+brief(dv))
	}
	if err := apply(&base, dd, false, root, ev.defaultsError); err != nil {
		return nil, err
	}
	sv := ev.globals[varSites]
	sd, ok := sv.(*starlark.Dict)
	if !ok {
		return nil, ev.siteError("", "", "sites must be a dict, got "+brief(sv))
	}
	items := sd.Items()
	for _, it := range items {
		if _, ok := it[0].(starlark.String); !ok {
			return nil, ev.siteError("", "", "site names must be strings, got "+brief(it[0]))
		}
	}
	slices.SortFunc(items, func(a, b starlark.Tuple) int {
		return strings.Compare(string(a[0].(starlark.String)), string(b[0].(starlark.String)))
	})
	sites := make([]Site, 0, len(items))
	for _, it := range items {
		site, err := buildSite(ev, root, base, string(it[0].(starlark.String)), it[1])
		if err != nil {
			return nil, err
		}
		sites = append(sites, site)
	}
	return sites, nil
}

func buildSite(ev *evaluator, root string, s settings, name string, v starlark.Value) (Site, error) {
	if msg := checkSiteName(name); msg != "" {
		return Site{}, ev.siteError(name, "", msg)
	}
	if p := filepath.Join(root, SocketDir, name); len(p) > maxUnixPath {
		return Site{}, ev.siteError(name, "", fmt.Sprintf(
			"name too long: its socket %s would be %d bytes, over the kernel's limit of %d", p, len(p), maxUnixPath))
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return Site{}, ev.siteError(name, "", "must be a dict of settings, got "+brief(v))
	}
	fail := func(key, msg string) *Error { return ev.siteError(name, key, msg) }
	if err := apply(&s, d, true, root, fail); err != nil {
		return Site{}, err
	}
	if s.socket == nil {
		return Site{}, fail("socket", "required key is missing")
	}
	s.cfg.Name = name
	s.cfg.Cache = s.cache // the core runs the cache; Site.Cache mirrors it for readers
	site := Site{Name: name, Socket: *s.socket, Core: s.cfg.WithDefaults(), Cache: s.cache, TCP: s.tcp}
	// A safety net: a failure here is a bug in the checks above.
	if err := site.Validate(); err != nil {
		return Site{}, ev.siteError(name, "", "internal check failed: "+err.Error())
	}
	return site, nil
}
