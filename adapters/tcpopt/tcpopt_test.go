//go:build linux

package tcpopt

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"liveproxyd/internal/testutil"
)

// pair returns the two ends of a loopback TCP connection, the accepted
// one tuned.
func pair(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err := net.DialTimeout("tcp", l.Addr().String(), testutil.HangGuard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	tc, err := l.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	if err := tc.SetNoDelay(false); err != nil {
		t.Fatal(err)
	}
	c, err := Tune(tc)
	if err != nil {
		t.Fatal(err)
	}
	qc, ok := c.(*Conn)
	if !ok {
		t.Fatalf("Tune returned %T, want *Conn", c)
	}
	return qc, client
}

// leaveQuickAck puts the socket in Linux's delayed-ACK ("pingpong") mode,
// as an interactive exchange does on its own; getsockopt(TCP_QUICKACK)
// then reads 0 until something sets TCP_QUICKACK again.
func leaveQuickAck(t *testing.T, c *net.TCPConn) {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	raw.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 0) })
	if testutil.TCPSockopt(t, c, unix.TCP_QUICKACK) != 0 {
		t.Fatal("TCP_QUICKACK still reads 1 after setting 0")
	}
}

func TestTuneSetsNoDelay(t *testing.T) {
	c, _ := pair(t)
	if testutil.TCPSockopt(t, c.TCPConn, unix.TCP_NODELAY) != 1 {
		t.Error("TCP_NODELAY not set")
	}
}

// Every Read sets TCP_QUICKACK again, since Linux clears it on its own.
func TestReadSetsQuickAck(t *testing.T) {
	c, client := pair(t)
	for i := range 2 {
		leaveQuickAck(t, c.TCPConn)
		if _, err := client.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(testutil.HangGuard))
		if _, err := c.Read(make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		if testutil.TCPSockopt(t, c.TCPConn, unix.TCP_QUICKACK) != 1 {
			t.Errorf("read %d: TCP_QUICKACK not set", i)
		}
	}
}

// The RawConn a reader waits on for readability (adapters/driver) sets
// TCP_QUICKACK before its read too, like Read.
func TestRawReadSetsQuickAck(t *testing.T) {
	c, client := pair(t)
	leaveQuickAck(t, c.TCPConn)
	if _, err := client.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	quickAck := -1
	var n int
	err = raw.Read(func(fd uintptr) bool {
		quickAck, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK)
		n, err = unix.Read(int(fd), make([]byte, 1))
		return err != unix.EAGAIN
	})
	if err != nil || n != 1 {
		t.Fatalf("raw read: %d bytes, %v", n, err)
	}
	if quickAck != 1 {
		t.Errorf("TCP_QUICKACK %d during the raw read, want 1", quickAck)
	}
}
