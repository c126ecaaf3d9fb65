package config

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
)

// maxUnixPath is the usable length of sun_path on Linux; longer paths are
// silently truncated by the kernel, so connecting would reach the wrong file.
const maxUnixPath = 107

// CABundle is the CA bundle of encrypted sockets without ca_file_path,
// relative to the site root.
const CABundle = "var/ssl/ca-certificates.crt"

// LocalSocket is the site's own Livestatus socket, relative to the site
// root: where Checkmk's ('local', None) points.
const LocalSocket = "tmp/run/live"

const socketForms = "an absolute UNIX socket path, (host, port), ('unix', {'path': ...}) " +
	"('tcp'|'tcp6', {'address': (host, port), 'tls': ...}) or ('local', None)"

// parseSocket reads every socket spec Checkmk writes (docs/design.md §20), plus
// the 'unix:PATH' / 'tcp:HOST:PORT' strings of Checkmk's site URLs. It
// returns a message instead of an error so the caller can add the position.
func parseSocket(v starlark.Value, root string) (Socket, string) {
	switch x := v.(type) {
	case starlark.String:
		return socketString(string(x))
	case starlark.Tuple, *starlark.List:
		a, b, ok := pair(v)
		if !ok {
			break
		}
		if s, ok := a.(starlark.String); ok {
			if s == "local" {
				return localSocket(b, root)
			}
			if _, isDict := b.(*starlark.Dict); isDict || s == "unix" || s == "tcp" || s == "tcp6" {
				return socketFamily(string(s), b, root)
			}
			return hostPort("tcp", v)
		}
	}
	return Socket{}, "must be " + socketForms + ", got " + brief(v)
}

func socketString(s string) (Socket, string) {
	switch {
	case strings.HasPrefix(s, "/"):
		return unixSocket(s)
	case strings.HasPrefix(s, "unix:"):
		return unixSocket(s[len("unix:"):])
	case strings.HasPrefix(s, "tcp:"), strings.HasPrefix(s, "tcp6:"):
		network, rest, _ := strings.Cut(s, ":")
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			return Socket{}, fmt.Sprintf("must be %s:HOST:PORT, got %q", network, s)
		}
		host := strings.TrimSuffix(strings.TrimPrefix(rest[:i], "["), "]")
		port, err := strconv.Atoi(rest[i+1:])
		if err != nil {
			return Socket{}, fmt.Sprintf("port must be a number, got %q", s)
		}
		return tcpSocket(network, host, port)
	}
	return Socket{}, "must be " + socketForms + ", got " + brief(starlark.String(s))
}

// localSocket reads ('local', None), which Checkmk's GUI writes for its own
// site when that site is proxied too: the GUI then asks liveproxyd for it,
// and liveproxyd reads the site's Livestatus at ROOT/tmp/run/live.
func localSocket(spec starlark.Value, root string) (Socket, string) {
	if spec != starlark.None {
		return Socket{}, "('local', ...) must be ('local', None), got " + brief(spec)
	}
	if root == "" {
		return Socket{}, "('local', None) needs the site root (--root or $OMD_ROOT)"
	}
	return unixSocket(filepath.Join(root, LocalSocket))
}

func unixSocket(path string) (Socket, string) {
	switch {
	case !filepath.IsAbs(path):
		return Socket{}, fmt.Sprintf("UNIX socket path must be absolute, got %q", path)
	case len(path) > maxUnixPath:
		return Socket{}, fmt.Sprintf("UNIX socket path is %d bytes, over the kernel's limit of %d", len(path), maxUnixPath)
	case strings.ContainsRune(path, 0):
		return Socket{}, "UNIX socket path contains a NUL byte"
	}
	return Socket{Network: "unix", Address: filepath.Clean(path)}, ""
}

func tcpSocket(network, host string, port int) (Socket, string) {
	if host == "" || strings.ContainsAny(host, "\x00 \t\r\n/") {
		return Socket{}, fmt.Sprintf("host must be a host name or IP address, got %q", host)
	}
	if port < 1 || port > 65535 {
		return Socket{}, fmt.Sprintf("port must be from 1 to 65535, got %d", port)
	}
	return Socket{Network: network, Address: net.JoinHostPort(host, strconv.Itoa(port))}, ""
}

// hostPort reads a (host, port) pair.
func hostPort(network string, v starlark.Value) (Socket, string) {
	a, b, ok := pair(v)
	host, isStr := a.(starlark.String)
	port, isInt := intValue(b)
	if !ok || !isStr || !isInt {
		return Socket{}, "address must be (host, port), got " + brief(v)
	}
	if port < 1 || port > 65535 {
		return Socket{}, fmt.Sprintf("port must be from 1 to 65535, got %d", port)
	}
	return tcpSocket(network, string(host), int(port))
}

// socketFamily reads ('unix'|'tcp'|'tcp6', {...}).
func socketFamily(family string, spec starlark.Value, root string) (Socket, string) {
	switch family {
	case "unix":
		m, msg := strDict(spec, "path")
		if msg != "" {
			return Socket{}, msg
		}
		p, ok := m["path"].(starlark.String)
		if !ok {
			return Socket{}, "('unix', {...}) needs 'path', a string, got " + brief(m["path"])
		}
		return unixSocket(string(p))
	case "tcp", "tcp6":
		m, msg := strDict(spec, "address", "tls")
		if msg != "" {
			return Socket{}, msg
		}
		if m["address"] == nil {
			return Socket{}, fmt.Sprintf("(%q, {...}) needs 'address': (host, port)", family)
		}
		s, msg := hostPort(family, m["address"])
		if msg != "" {
			return Socket{}, msg
		}
		if m["tls"] == nil {
			return s, ""
		}
		return withTLS(s, m["tls"], root)
	}
	return Socket{}, fmt.Sprintf("socket family must be 'unix', 'tcp' or 'tcp6', got %q", family)
}

// withTLS reads ('plain_text', {}) or ('encrypted', {'verify': bool,
// 'ca_file_path': path}).
func withTLS(s Socket, v starlark.Value, root string) (Socket, string) {
	const want = "tls must be ('plain_text', {}) or ('encrypted', {'verify': True|False, 'ca_file_path': ...}), got "
	a, b, ok := pair(v)
	mode, isStr := a.(starlark.String)
	if !ok || !isStr {
		return Socket{}, want + brief(v)
	}
	switch mode {
	case "plain_text":
		if _, msg := strDict(b); msg != "" {
			return Socket{}, msg
		}
		return s, ""
	case "encrypted":
		m, msg := strDict(b, "verify", "ca_file_path")
		if msg != "" {
			return Socket{}, msg
		}
		s.TLS, s.Verify, s.CAFile = true, true, filepath.Join(root, CABundle)
		if v := m["verify"]; v != nil {
			verify, ok := v.(starlark.Bool)
			if !ok {
				return Socket{}, "tls verify must be True or False, got " + brief(v)
			}
			s.Verify = bool(verify)
		}
		if v := m["ca_file_path"]; v != nil {
			p, ok := v.(starlark.String)
			if !ok || p == "" || strings.ContainsRune(string(p), 0) {
				return Socket{}, "tls ca_file_path must be a file path, got " + brief(v)
			}
			s.CAFile = string(p)
			if !filepath.IsAbs(s.CAFile) {
				s.CAFile = filepath.Join(root, s.CAFile)
			}
		}
		return s, ""
	}
	return Socket{}, want + brief(v)
}

// pair unpacks a 2-tuple or 2-list.
func pair(v starlark.Value) (starlark.Value, starlark.Value, bool) {
	switch x := v.(type) {
	case starlark.Tuple, *starlark.List:
		seq := x.(starlark.Indexable)
		if seq.Len() == 2 {
			return seq.Index(0), seq.Index(1), true
		}
	}
	return nil, nil, false
}

// strDict unpacks a dict with string keys, refusing keys not in allowed so
// that a misspelt key is reported instead of silently ignored.
func strDict(v starlark.Value, allowed ...string) (map[string]starlark.Value, string) {
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, "must be a dict, got " + brief(v)
	}
	m := make(map[string]starlark.Value, d.Len())
	for _, it := range d.Items() {
		k, ok := it[0].(starlark.String)
		if !ok || !slices.Contains(allowed, string(k)) {
			if len(allowed) == 0 {
				return nil, "unexpected key " + brief(it[0]) + " in an empty dict"
			}
			return nil, fmt.Sprintf("unknown key %s (known: %s)", brief(it[0]), strings.Join(allowed, ", "))
		}
		m[string(k)] = it[1]
	}
	return m, ""
}

// intValue returns v as an int64 if it is a Starlark int that fits.
func intValue(v starlark.Value) (int64, bool) {
	i, ok := v.(starlark.Int)
	if !ok {
		return 0, false
	}
	return i.Int64()
}
