package testutil

import (
	"net"
	"testing"
	"time"
)

// FreePort returns a TCP port on IPv4 loopback that was free a moment ago.
// Another process may take it before the test binds it; the tests that
// use it run on one machine and accept that.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Dial connects to addr within HangGuard, bounds every read and write on
// the connection by HangGuard from now, and closes it when the test ends.
func Dial(t testing.TB, network, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout(network, addr, HangGuard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(HangGuard))
	return nc
}
