// Package loadgen drives Livestatus servers (a site or liveproxyd) with
// concurrent clients and measures throughput and latency with an HDR
// histogram. cmd/loadgen is its command line; cmd/benchall calls it
// in-process.
package loadgen

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"
)

// Target is where the clients connect.
type Target struct {
	Network  string // "unix" or "tcp"
	Addr     string
	TLS      bool // wrap the TCP connection in TLS (direct TLS baseline)
	Insecure bool // with TLS: accept any certificate (throw-away test certs)
}

// ParseTarget reads "unix:/path", "tcp:host:port", "tls:host:port" or a
// socket path without colons ("/path", "tmp/run/liveproxy/site").
func ParseTarget(s string) (Target, error) {
	switch {
	case s != "" && !strings.Contains(s, ":"):
		return Target{Network: "unix", Addr: s}, nil
	case strings.HasPrefix(s, "unix:") && len(s) > len("unix:"):
		return Target{Network: "unix", Addr: strings.TrimPrefix(s, "unix:")}, nil
	case strings.HasPrefix(s, "tcp:"):
		return tcpTarget(strings.TrimPrefix(s, "tcp:"), false)
	case strings.HasPrefix(s, "tls:"):
		return tcpTarget(strings.TrimPrefix(s, "tls:"), true)
	}
	return Target{}, fmt.Errorf("target %q: want /path, unix:/path, tcp:host:port or tls:host:port", s)
}

func tcpTarget(addr string, useTLS bool) (Target, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return Target{}, fmt.Errorf("target %q: %v", addr, err)
	}
	return Target{Network: "tcp", Addr: addr, TLS: useTLS}, nil
}

func (t Target) String() string {
	if t.TLS {
		return "tls:" + t.Addr
	}
	return t.Network + ":" + t.Addr
}

// Dial connects, and for a TLS target completes the handshake, within
// timeout. The handshake is part of the cost of a new connection, so a
// latency measured around Dial includes it.
func (t Target) Dial(timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	if !t.TLS {
		return d.Dial(t.Network, t.Addr)
	}
	host, _, _ := net.SplitHostPort(t.Addr)
	cfg := &tls.Config{ServerName: host, InsecureSkipVerify: t.Insecure} //nolint:gosec // -insecure is explicit
	c, err := tls.DialWithDialer(&d, t.Network, t.Addr, cfg)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// HoldIdle opens n connections that send nothing (idle clients of the
// scale benchmark). It stops at the first error and returns what it
// opened, so the caller can always close them.
func HoldIdle(t Target, n int, timeout time.Duration) ([]net.Conn, error) {
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := t.Dial(timeout)
		if err != nil {
			return conns, fmt.Errorf("idle client %d of %d: %w", i+1, n, err)
		}
		conns = append(conns, c)
	}
	return conns, nil
}
