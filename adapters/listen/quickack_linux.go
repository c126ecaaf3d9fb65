package listen

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// quickAckConn sets TCP_QUICKACK before every read of an accepted client.
// A peer that writes in more than one segment without TCP_NODELAY (the
// Livestatus servers do that with a fixed16 header and its body, and
// clients may do it with a query) has Nagle hold the rest until our
// delayed ACK: ~40 ms per query. Linux clears QUICKACK on its own, so it is set again
// before each read. adapters/upstream does the same for dialed channels.
type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func withQuickAck(c *net.TCPConn) net.Conn {
	raw, err := c.SyscallConn()
	if err != nil {
		return c
	}
	return &quickAckConn{TCPConn: c, raw: raw}
}

func (c *quickAckConn) Read(b []byte) (int, error) {
	// A failure here only costs latency, never correctness: ignore it.
	_ = c.raw.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
	})
	return c.TCPConn.Read(b)
}
