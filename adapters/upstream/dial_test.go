//go:build linux

package upstream

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"liveproxyd/adapters/tcpopt"
	"liveproxyd/internal/testutil"
)

// echoOnce accepts one connection, writes hello and keeps it open until the
// test ends.
func echoOnce(t *testing.T, network, addr string) net.Listener {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		t.Cleanup(func() { c.Close() })
		io.WriteString(c, "hello")
	}()
	return l
}

func dialCtx(t *testing.T, d Dialer) (net.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.HangGuard)
	defer cancel()
	return d(ctx)
}

func TestTCPChannelsAreTuned(t *testing.T) {
	for _, tc := range []struct{ network, addr string }{{"tcp", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		t.Run(tc.network, func(t *testing.T) {
			l := echoOnce(t, tc.network, tc.addr)
			c, err := dialCtx(t, New("", Target{Network: tc.network, Address: l.Addr().String()}))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			qc, ok := c.(*tcpopt.Conn)
			if !ok {
				t.Fatalf("dialled a %T, want the QUICKACK wrapper", c)
			}
			if testutil.TCPSockopt(t, qc.TCPConn, unix.TCP_NODELAY) != 1 {
				t.Error("TCP_NODELAY not set")
			}
			c.SetDeadline(time.Now().Add(testutil.HangGuard))
			if b, err := io.ReadAll(io.LimitReader(c, 5)); err != nil || string(b) != "hello" {
				t.Fatalf("read %q, %v", b, err)
			}
		})
	}
}

func TestUnixAndErrors(t *testing.T) {
	dir := testutil.ShortDir(t)
	path := filepath.Join(dir, "live")
	echoOnce(t, "unix", path)
	c, err := dialCtx(t, New("", Target{Network: "unix", Address: path}))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	for _, tc := range []struct {
		target Target
		want   string
	}{
		{Target{Network: "unix", Address: filepath.Join(dir, "none")}, "no such file"},
		{Target{Network: "unix", Address: path, TLS: true}, "TLS over a UNIX socket"},
		{Target{Network: "sctp", Address: "x"}, "unknown network"},
		{Target{Network: "tcp", Address: "127.0.0.1:1", TLS: true, Verify: true}, "CA bundle"},
		{Target{Network: "tcp", Address: "no-port", TLS: true}, "no-port"},
	} {
		if _, err := dialCtx(t, New(dir, tc.target)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want it to mention %q", tc.target, err, tc.want)
		}
	}
}

func TestDialHonoursContext(t *testing.T) {
	// A TLS server that never answers the handshake: only ctx ends the dial.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn // kept open, silent, until the listener closes
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := New("", Target{Network: "tcp", Address: l.Addr().String(), TLS: true})(ctx)
		done <- err
	}()
	// Without an answer the dial ignored its context.
	if err := testutil.Await(t, "end of the dial", done); err == nil || !strings.Contains(err.Error(), "handshake") {
		t.Fatalf("error %v, want a failed handshake", err)
	}
}
