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

// TakeMain gives the UNIX listener to its caller: the Set's Accept then
// yields only TCP clients, and Close still closes both. Once Accept has
// begun forwarding the UNIX socket, TakeMain refuses.
func TestSetTakeMainLeavesOnlyTCP(t *testing.T) {
	path := filepath.Join(testutil.ShortDir(t), "site")
	u, err := Unix(path)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSet(u)
	defer s.Close()
	main, ok := s.TakeMain()
	if !ok || main != net.Listener(u) {
		t.Fatalf("TakeMain = %v, %v; want the UNIX listener", main, ok)
	}
	if _, ok := s.TakeMain(); ok {
		t.Fatal("the UNIX listener was taken twice")
	}
	tcp, err := TCP(TCPOptions{Site: "s1", Host: "127.0.0.1", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	s.SetTCP(tcp)
	uc, err := net.DialTimeout("unix", path, ioWait) // waits in the backlog: nobody accepts it here
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	dial(t, "127.0.0.1", tcp.Port(), nil)
	if _, ok := acceptOne(t, s).(*tcpopt.Conn); !ok {
		t.Fatal("the Set handed out a client other than the TCP one")
	}
	got, err := u.Accept() // the taker's
	if err != nil {
		t.Fatal(err)
	}
	got.Close()
	s.Close()
	if _, err := net.DialTimeout("unix", path, ioWait); err == nil {
		t.Error("the taken UNIX socket still accepts after the Set's Close")
	}

	ou := mustUnix(t)
	other := NewSet(ou)
	defer other.Close()
	oc, err := net.DialTimeout("unix", ou.Addr().String(), ioWait)
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	acceptOne(t, other) // the Set forwards its UNIX socket from now on
	if _, ok := other.TakeMain(); ok {
		t.Error("TakeMain succeeded while Accept forwards the UNIX socket")
	}
}

func mustUnix(t *testing.T) *net.UnixListener {
	t.Helper()
	u, err := Unix(filepath.Join(testutil.ShortDir(t), "other"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}
