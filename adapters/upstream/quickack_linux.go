package upstream

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// quickAckConn sets TCP_QUICKACK before every read. Livestatus servers write
// the fixed16 header and the body in two writes without TCP_NODELAY; Nagle
// then holds the body until our delayed ACK, ~44 ms per KeepAlive query.
// Linux clears QUICKACK again on its own, so it must be set before each read.
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
