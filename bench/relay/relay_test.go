package relay

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"liveproxyd/internal/testutil"
)

// delay is the one-way delay under test.
const delay = 40 * time.Millisecond

// echoServer echoes every connection and records when each was accepted
// and when its first byte arrived.
type echoServer struct {
	ln        net.Listener
	mu        sync.Mutex
	accepted  []time.Time
	firstByte []time.Time
}

func newEcho(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.mu.Lock()
			e.accepted = append(e.accepted, time.Now())
			e.mu.Unlock()
			go e.serve(c)
		}
	}()
	return e
}

func (e *echoServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(testutil.HangGuard))
	one := make([]byte, 1)
	if _, err := io.ReadFull(c, one); err != nil {
		return
	}
	e.mu.Lock()
	e.firstByte = append(e.firstByte, time.Now())
	e.mu.Unlock()
	if _, err := c.Write(one); err != nil {
		return
	}
	_, _ = io.Copy(c, c)
}

func (e *echoServer) times() (accepted, first []time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]time.Time(nil), e.accepted...), append([]time.Time(nil), e.firstByte...)
}

func startRelay(t *testing.T, upstream string) *Relay {
	t.Helper()
	r, err := Listen("127.0.0.1:0", upstream, delay)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func exchange(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != msg {
		t.Fatalf("echo %q, want %q", got, msg)
	}
}

// Lower bounds only: the relay must delay at least as configured; a busy
// machine can only add to that.
func TestDelaysNewConnectionAndRoundTrip(t *testing.T) {
	echo := newEcho(t)
	r := startRelay(t, echo.ln.Addr().String())
	t0 := time.Now()
	c := testutil.Dial(t, "tcp", r.Addr())
	exchange(t, c, "ping\n")
	// Handshake round trip, then the request's round trip.
	if took := time.Since(t0); took < 4*delay {
		t.Errorf("first exchange on a new connection took %v, want ≥ 2 RTT = %v", took, 4*delay)
	}
	accepted, first := echo.times()
	if len(accepted) != 1 || len(first) != 1 {
		t.Fatalf("upstream saw %d connections, %d first bytes", len(accepted), len(first))
	}
	if d := accepted[0].Sub(t0); d < delay {
		t.Errorf("upstream accepted %v after the client's connect, want ≥ one-way %v", d, delay)
	}
	if d := first[0].Sub(t0); d < 3*delay {
		t.Errorf("first byte reached upstream %v after connect, want ≥ 3 one-way = %v", d, 3*delay)
	}
	t1 := time.Now()
	exchange(t, c, "again\n")
	if took := time.Since(t1); took < 2*delay {
		t.Errorf("exchange on an open connection took %v, want ≥ 1 RTT = %v", took, 2*delay)
	}
}

func TestKeepsOrder(t *testing.T) {
	echo := newEcho(t)
	r := startRelay(t, echo.ln.Addr().String())
	c := testutil.Dial(t, "tcp", r.Addr())
	const n = 2000
	go func() {
		for i := 0; i < n; i++ {
			if _, err := fmt.Fprintf(c, "%d\n", i); err != nil {
				return
			}
		}
		c.(*net.TCPConn).CloseWrite()
	}()
	sc := bufio.NewScanner(c)
	i := 0
	for sc.Scan() {
		if want := fmt.Sprint(i); sc.Text() != want {
			t.Fatalf("line %d is %q: order lost", i, sc.Text())
		}
		i++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Fatalf("got %d lines back, want %d", i, n)
	}
}

func TestLargeTransferIntact(t *testing.T) {
	echo := newEcho(t)
	r := startRelay(t, echo.ln.Addr().String())
	c := testutil.Dial(t, "tcp", r.Addr())
	msg := strings.Repeat("0123456789abcdef", 1<<16) // 1 MB, beyond one queue chunk
	errc := make(chan error, 1)
	go func() {
		_, err := io.WriteString(c, msg)
		errc <- err
	}()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if string(got) != msg {
		t.Fatal("1 MB came back altered")
	}
}

func TestRefusedUpstreamDropsClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now
	r := startRelay(t, dead)
	c := testutil.Dial(t, "tcp", r.Addr())
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read from a relay whose upstream refuses succeeded")
	}
}

func TestCloseCutsConnections(t *testing.T) {
	echo := newEcho(t)
	r := startRelay(t, echo.ln.Addr().String())
	c := testutil.Dial(t, "tcp", r.Addr())
	exchange(t, c, "x")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection survived the relay's Close")
	}
	if _, err := net.DialTimeout("tcp", r.Addr(), time.Second); err == nil {
		t.Fatal("relay still accepts after Close")
	}
}
