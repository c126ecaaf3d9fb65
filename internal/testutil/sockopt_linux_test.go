package testutil

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

func TestTCPSockoptReadsWhatWasSet(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tc := Dial(t, "tcp", l.Addr().String()).(*net.TCPConn)
	for _, on := range []bool{true, false} {
		if err := tc.SetNoDelay(on); err != nil {
			t.Fatal(err)
		}
		if got := TCPSockopt(t, tc, unix.TCP_NODELAY) != 0; got != on {
			t.Fatalf("TCP_NODELAY read %v after SetNoDelay(%v)", got, on)
		}
	}
}
