package testutil

import (
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

func TestFreePortCanBeBound(t *testing.T) {
	port := FreePort(t)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("port %d: %v", port, err)
	}
	l.Close()
}

func TestDialClosesTheConnectionWhenTheTestEnds(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	t.Run("dial", func(t *testing.T) {
		nc := Dial(t, "tcp", l.Addr().String())
		if _, err := nc.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	})
	peer := <-accepted
	if peer == nil {
		t.Fatal("nothing accepted")
	}
	defer peer.Close()
	peer.SetDeadline(time.Now().Add(HangGuard))
	b, err := io.ReadAll(peer)
	if err != nil || string(b) != "x" {
		t.Fatalf("the peer read %q, %v; want \"x\" and EOF", b, err)
	}
}
