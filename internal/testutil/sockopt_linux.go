package testutil

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// TCPSockopt reads the IPPROTO_TCP level option opt of c, to check what
// the code under test set on the socket.
func TCPSockopt(t testing.TB, c *net.TCPConn, opt int) int {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := raw.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, opt) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}
