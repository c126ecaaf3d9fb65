package listen

import (
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"liveproxyd/adapters/tcpopt"
	"liveproxyd/internal/testutil"
)

// One Set hands out the clients of the UNIX socket and of the TCP
// listener alike; replacing the TCP listener closes the old port and
// serves the new one; Close ends everything.
func TestSetServesUnixAndTCPAndReplacesTCP(t *testing.T) {
	path := filepath.Join(testutil.ShortDir(t), "site")
	u, err := Unix(path)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSet(u)
	defer s.Close()
	quiet := slog.New(slog.DiscardHandler)
	first, err := TCP(TCPOptions{Site: "s1", Host: "127.0.0.1", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s.SetTCP(first)
	if s.TCP() != first {
		t.Fatal("TCP() is not the listener just set")
	}

	uc, err := net.DialTimeout("unix", path, ioWait)
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	if c := acceptOne(t, s); c.LocalAddr().Network() != "unix" {
		t.Errorf("first client %v, want the UNIX one", c.LocalAddr())
	}
	dial(t, "127.0.0.1", first.Port(), nil)
	if _, ok := acceptOne(t, s).(*tcpopt.Conn); !ok {
		t.Error("the TCP client did not come through the Set")
	}

	second, err := TCP(TCPOptions{Site: "s1", Host: "127.0.0.1", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s.SetTCP(second)
	if _, err := net.DialTimeout("tcp", first.Addr().String(), ioWait); err == nil {
		t.Error("the replaced listener's port still accepts")
	}
	dial(t, "127.0.0.1", second.Port(), nil)
	acceptOne(t, s)

	s.SetTCP(nil)
	if _, err := net.DialTimeout("tcp", second.Addr().String(), ioWait); err == nil {
		t.Error("the removed listener's port still accepts")
	}

	s.Close()
	if _, err := s.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	if _, err := net.DialTimeout("unix", path, ioWait); err == nil {
		t.Error("the UNIX socket still accepts after Close")
	}
	third, err := TCP(TCPOptions{Site: "s1", Host: "127.0.0.1", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s.SetTCP(third)
	if _, err := net.DialTimeout("tcp", third.Addr().String(), time.Second); err == nil {
		t.Error("a listener set after Close was left open")
	}
}

// Serve hands the clients of both listeners to the handler, a client that
// connected before Serve began included, and returns once the Set closes.
func TestSetServeHandsEveryClientToTheHandler(t *testing.T) {
	path := filepath.Join(testutil.ShortDir(t), "site")
	u, err := Unix(path)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSet(u)
	defer s.Close()
	tcp, err := TCP(TCPOptions{Site: "s1", Host: "127.0.0.1", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	s.SetTCP(tcp)
	early, err := net.DialTimeout("unix", path, ioWait) // before Serve
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()
	got := make(chan net.Conn, 4)
	served := make(chan struct{})
	go func() {
		defer close(served)
		s.Serve(func(c net.Conn, err error) bool {
			if err == nil {
				got <- c
			}
			return true
		})
	}()
	next := func(want string) {
		t.Helper()
		select {
		case c := <-got:
			if n := c.LocalAddr().Network(); n != want {
				t.Errorf("client on %s, want %s", n, want)
			}
			c.Close()
		case <-time.After(testutil.HangGuard):
			t.Fatalf("no %s client reached the handler", want)
		}
	}
	next("unix")
	dial(t, "127.0.0.1", tcp.Port(), nil)
	next("tcp")
	late, err := net.DialTimeout("unix", path, ioWait)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	next("unix")
	s.Close()
	select {
	case <-served:
	case <-time.After(testutil.HangGuard):
		t.Fatal("Serve did not return after Close")
	}
}
