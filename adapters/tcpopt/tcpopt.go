// Package tcpopt tunes the proxy's TCP sockets, the channels it dials
// (adapters/upstream) and the clients its per-site TCP listener accepts
// (adapters/listen) alike: TCP_NODELAY, and TCP_QUICKACK before each read.
package tcpopt

import (
	"net"
	"syscall"
)

// Tune sets TCP_NODELAY on c, so that what we write leaves at once, and
// returns c wrapped in a Conn where TCP_QUICKACK exists (Linux), else c
// itself. The conn is returned even when TCP_NODELAY fails; the caller
// decides whether that matters.
func Tune(c *net.TCPConn) (net.Conn, error) {
	err := c.SetNoDelay(true)
	if !haveQuickAck {
		return c, err
	}
	raw, rerr := c.SyscallConn()
	if rerr != nil {
		return c, err
	}
	return &Conn{TCPConn: c, raw: quickAckRaw{raw}}, err
}

// Conn sets TCP_QUICKACK before every read. A peer that writes in more
// than one segment without TCP_NODELAY has Nagle hold the rest until our
// delayed ACK: ~40 ms per query. The Livestatus servers do that with a
// fixed16 header and its body (seen by upstream channels), and clients may
// do it with a query (seen by the TCP listener). Linux clears QUICKACK on
// its own, so it is set again before each read.
type Conn struct {
	*net.TCPConn
	raw quickAckRaw
}

// Read implements net.Conn.
func (c *Conn) Read(b []byte) (int, error) {
	c.raw.quickAck()
	return c.TCPConn.Read(b)
}

// SyscallConn implements syscall.Conn. Its Read sets TCP_QUICKACK before
// it reads, as Conn.Read does, so a reader that waits for readability on
// the raw conn keeps the setting. (adapters/driver's reader does not use
// it: it reads the bare socket and calls QuickAck only where needed.)
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return c.raw, nil }

// QuickAck sets TCP_QUICKACK now: for a reader that reads through the
// bare socket's RawConn (c.TCPConn.SyscallConn) and decides itself which
// reads need it (adapters/driver skips it while an answer streams in).
func (c *Conn) QuickAck() { c.raw.quickAck() }

// quickAckRaw is the socket's RawConn whose Read sets TCP_QUICKACK first.
type quickAckRaw struct{ syscall.RawConn }

// Read sets TCP_QUICKACK once, then reads with f, waiting for readability
// as often as f asks: what Conn.Read does too (set once, then a read that
// may wait).
func (r quickAckRaw) Read(f func(fd uintptr) bool) error {
	r.quickAck()
	return r.RawConn.Read(f)
}

// quickAck sets TCP_QUICKACK. A failure only costs latency, never
// correctness: it is ignored.
func (r quickAckRaw) quickAck() { _ = r.Control(setQuickAck) }
