package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"liveproxyd/core"
)

// Socket is where the upstream Livestatus of a site listens.
type Socket struct {
	Network string // "unix", "tcp" or "tcp6"
	Address string // path, or host:port (net.JoinHostPort)
	TLS     bool
	Verify  bool   // verify the server certificate (TLS only)
	CAFile  string // CA bundle (TLS only)
}

// TCP is the `tcp` key of a site ("Allow access via TCP" in Checkmk): the
// proxy serves the site on this port too, so viewer sites, NagVis or Thruk
// elsewhere can use the proxy's channels (cascading Livestatus).
type TCP struct {
	Port int
	// OnlyFrom are the client addresses allowed to connect, each a single
	// address (a /32 or /128) or a CIDR range; IPv4-mapped IPv6 entries
	// are stored as IPv4. Empty means every address, as in Checkmk.
	OnlyFrom []netip.Prefix
	TLS      bool // serve TLS with the site's own certificate
}

// Site is one proxied site.
type Site struct {
	Name   string
	Socket Socket
	Core   core.Config // Name equals Site.Name; every field set
	Cache  bool
	TCP    *TCP // nil when the site has no `tcp` key
}

// Config is the whole configuration.
type Config struct {
	Sites []Site   // sorted by Name
	Files []string // files read, in evaluation order, for logs
	// MetricsAddress is where to serve Prometheus metrics (host:port), from
	// the global liveproxyd_metrics_address; "" means off.
	MetricsAddress string
	// LogLevels is Checkmk's liveproxyd_log_levels: logger name -> Python
	// level; nil when not set.
	LogLevels map[string]int
	// AnswerBufferTotal and QueryBufferTotal are the global memory budgets
	// of all sites, in bytes, from liveproxyd_answer_buffer_total and
	// liveproxyd_query_buffer_total (defaults when absent).
	AnswerBufferTotal int64
	QueryBufferTotal  int64
}

// Error is every configuration problem. Line is 0 when unknown. Site and Key
// are empty when the problem is not about one site or one key; a Key without
// a Site is a key of liveproxyd_default_connection_params.
type Error struct {
	File string
	Line int
	Site string
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	switch {
	case e.Site != "" && e.Key != "":
		fmt.Fprintf(&b, "site '%s' key '%s': ", e.Site, e.Key)
	case e.Site != "":
		fmt.Fprintf(&b, "site '%s': ", e.Site)
	case e.Key != "":
		fmt.Fprintf(&b, "%s key '%s': ", varDefaults, e.Key)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Equal reports whether nothing differs between s and o, so that a reload
// can keep an unchanged site's channels and clients.
func (s Site) Equal(o Site) bool {
	if s.Name != o.Name || s.Socket != o.Socket || s.Core != o.Core || s.Cache != o.Cache {
		return false
	}
	if (s.TCP == nil) != (o.TCP == nil) {
		return false
	}
	if s.TCP == nil {
		return true
	}
	return s.TCP.Port == o.TCP.Port && s.TCP.TLS == o.TCP.TLS && slices.Equal(s.TCP.OnlyFrom, o.TCP.OnlyFrom)
}

// Validate re-checks the typed result against the same limits the loader
// enforces; Load never returns a Site that fails it.
func (s Site) Validate() error {
	if msg := checkSiteName(s.Name); msg != "" {
		return errors.New(msg)
	}
	if s.Core.Name != s.Name {
		return fmt.Errorf("core name %q differs from site name %q", s.Core.Name, s.Name)
	}
	c := s.Core
	if c.Channels < 1 || c.Channels > maxChannels {
		return fmt.Errorf("channels %d out of range", c.Channels)
	}
	for _, d := range []struct {
		name string
		v    int64
	}{
		{"channel_timeout", int64(c.ChannelTimeout)}, {"query_timeout", int64(c.QueryTimeout)},
		{"connect_retry", int64(c.ConnectRetry)}, {"heartbeat interval", int64(c.HeartbeatInterval)},
		{"heartbeat timeout", int64(c.HeartbeatTimeoutMin)},
	} {
		if d.v < int64(minDuration) || d.v > int64(maxDuration) {
			return fmt.Errorf("%s %d ns out of range", d.name, d.v)
		}
	}
	if c.HeartbeatPercent < 1 || c.HeartbeatPercent > maxPercent {
		return fmt.Errorf("heartbeat_percent %d out of range", c.HeartbeatPercent)
	}
	if c.MaxQueryBytes < minQueryBytes || c.MaxQueryBytes > maxQueryBytes {
		return fmt.Errorf("max_query_bytes %d out of range", c.MaxQueryBytes)
	}
	if c.AnswerBuffer < minAnswerBuffer || c.AnswerBuffer > maxAnswerBuffer {
		return fmt.Errorf("answer_buffer %d out of range", c.AnswerBuffer)
	}
	switch s.Socket.Network {
	case "unix":
		if !filepath.IsAbs(s.Socket.Address) || s.Socket.TLS {
			return fmt.Errorf("bad unix socket %+v", s.Socket)
		}
	case "tcp", "tcp6":
		if s.Socket.Address == "" || (s.Socket.TLS && s.Socket.CAFile == "") {
			return fmt.Errorf("bad %s socket %+v", s.Socket.Network, s.Socket)
		}
	default:
		return fmt.Errorf("unknown network %q", s.Socket.Network)
	}
	return nil
}

// MainFile is the main configuration file relative to the site root.
const MainFile = "etc/check_mk/liveproxyd.mk"

// GlobalsDir holds the global settings files relative to the site root.
const GlobalsDir = "etc/check_mk/liveproxyd.d"

// Load reads the globals under root and the main file (mainPath "" means
// ROOT/etc/check_mk/liveproxyd.mk). A missing main file is an error naming
// it; a missing liveproxyd.d is fine. Every error is an *Error.
func Load(root, mainPath string) (*Config, error) {
	if mainPath == "" {
		mainPath = filepath.Join(root, MainFile)
	}
	globals, err := globalFiles(filepath.Join(root, GlobalsDir))
	if err != nil {
		return nil, err
	}
	ev := newEvaluator()
	for _, path := range append(globals, mainPath) {
		if err := ev.exec(path); err != nil {
			return nil, err
		}
	}
	sites, err := build(ev, root)
	if err != nil {
		return nil, err
	}
	metrics, err := metricsAddress(ev)
	if err != nil {
		return nil, err
	}
	logLevels, err := logLevels(ev)
	if err != nil {
		return nil, err
	}
	answerTotal, queryTotal, err := bufferTotals(ev)
	if err != nil {
		return nil, err
	}
	return &Config{Sites: sites, Files: ev.order, MetricsAddress: metrics, LogLevels: logLevels,
		AnswerBufferTotal: answerTotal, QueryBufferTotal: queryTotal}, nil
}

// globalFiles lists the *.mk files under dir, recursively, sorted by path.
// Hidden files are skipped: editors leave swap and lock files there.
func globalFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return &Error{File: path, Msg: "cannot read: " + err.Error()}
		}
		if path != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".mk") {
			return nil
		}
		// A symlink to a file counts, as Python's glob would read it.
		if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
			return nil
		}
		files = append(files, path)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	return files, nil
}
