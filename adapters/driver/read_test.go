package driver

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"liveproxyd/adapters/listen"
	"liveproxyd/adapters/tcpopt"
	"liveproxyd/internal/testutil"
)

// socketPair returns two connected UNIX stream sockets as *net.UnixConn.
func socketPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f) // dups fd
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	return conns[0], conns[1]
}

// wrapped hides the socket, as TLS or upstream's quick-ack conn do: the
// reader must use plain Reads on it.
type wrapped struct{ net.Conn }

// Reads are lent and their buffer used again: every byte still arrives
// once and in order on both read paths, whatever the chunking, and a raw
// reader holds no buffer once a loan ends.
func TestReaderDeliversEveryByteInOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap bool
	}{{"raw", false}, {"plain", true}} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := socketPair(t)
			var conn net.Conn = a
			if tc.wrap {
				conn = wrapped{a}
			}
			r := newReader(conn)
			if (r.raw != nil) == tc.wrap {
				t.Fatalf("raw read path = %v for wrap = %v", r.raw != nil, tc.wrap)
			}
			readSize := rawReadSize
			if tc.wrap {
				readSize = plainReadSize
			}
			var want bytes.Buffer
			sizes := []int{7, 3 * readSize, 1, readSize, readSize/2 + 1, 100, 2 * readSize}
			for i, n := range sizes {
				want.Write(bytes.Repeat([]byte{byte('a' + i)}, n))
			}
			go func() {
				// One write per chunk, with pauses so that reads see
				// both small and large amounts.
				off := 0
				for _, n := range sizes {
					b.Write(want.Bytes()[off : off+n])
					off += n
					time.Sleep(5 * time.Millisecond)
				}
				b.Close()
			}()
			var got [][]byte
			for {
				data, err := r.read()
				if len(data) > 0 {
					got = append(got, append([]byte(nil), data...))
				}
				r.done()
				if r.raw != nil && r.buf != nil {
					t.Fatal("the raw reader holds a buffer between reads")
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if all := bytes.Join(got, nil); !bytes.Equal(all, want.Bytes()) {
				t.Fatalf("%d reads gave %d bytes, not the %d written in order",
					len(got), len(all), want.Len())
			}
		})
	}
}

// A conn closed under a waiting reader ends it with net.ErrClosed, not
// EOF: the loop reports that as a broken conn, not a half close.
func TestReaderClosedWhileWaiting(t *testing.T) {
	for _, wrap := range []bool{false, true} {
		a, _ := socketPair(t)
		var conn net.Conn = a
		if wrap {
			conn = wrapped{a}
		}
		r := newReader(conn)
		done := make(chan error, 1)
		go func() {
			_, err := r.read()
			done <- err
		}()
		time.Sleep(20 * time.Millisecond) // let it wait for input
		a.Close()
		select {
		case err := <-done:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("wrap=%v: read after close: %v, want net.ErrClosed", wrap, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("wrap=%v: read did not end after close", wrap)
		}
		r.release()
	}
}

// A client of a site's TCP listener comes wrapped (adapters/tcpopt sets
// TCP_QUICKACK before each read), and still waits for input holding no
// buffer: thousands of idle TCP clients must not hold 32 KiB each.
func TestIdleTCPListenerClientHoldsNoBuffer(t *testing.T) {
	client, nc := acceptTCP(t)
	r := newReader(nc)
	if r.raw == nil {
		t.Fatalf("an accepted %T is read with plain Reads, holding a buffer while idle", nc)
	}
	// Seen from inside the read, so without a race: each time the socket
	// has nothing to read, the reader is about to wait.
	idle := make(chan bool, 1)
	fill := r.fill
	r.fill = func(fd uintptr) bool {
		if fill(fd) {
			return true
		}
		select {
		case idle <- r.buf == nil:
		default:
		}
		return false
	}
	type result struct {
		data string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := r.read()
		res := result{string(data), err}
		r.done()
		done <- res
	}()
	select {
	case free := <-idle:
		if !free {
			t.Error("the idle reader holds a buffer while it waits")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reader never waited for input")
	}
	if _, err := io.WriteString(client, "GET status\n\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-done:
		if res.err != nil || string(res.data) != "GET status\n\n" {
			t.Errorf("read %q, %v", res.data, res.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reader did not wake up for the query")
	}
	if r.buf != nil {
		t.Error("the reader holds a buffer after the read's loan ended")
	}
}

// The site loop reads a client of a site's TCP listener through tcpopt's
// RawConn, which sets TCP_QUICKACK before each read as the wrapper's Read
// does: a reader that took the bare socket's RawConn would read without
// it, and a client writing its query in pieces with Nagle on would wait
// ~40 ms for our delayed ACK on every query (docs/protocol.md §3.4).
func TestTCPListenerClientReadSetsQuickAck(t *testing.T) {
	client, nc := acceptTCP(t)
	r, seen, leave := watchQuickAck(t, nc)
	leave()
	if testutil.TCPSockopt(t, nc.(*tcpopt.Conn).TCPConn, unix.TCP_QUICKACK) != 0 {
		t.Fatal("TCP_QUICKACK still reads 1 after setting 0")
	}
	if _, err := io.WriteString(client, "GET status\n\n"); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(testutil.HangGuard))
	data, err := r.read()
	if err != nil || string(data) != "GET status\n\n" {
		t.Errorf("read %q, %v", data, err)
	}
	r.done()
	if *seen != 1 {
		t.Errorf("TCP_QUICKACK %d when the site loop read the client, want 1", *seen)
	}
}

// While reads come back full, an answer is streaming in and Linux ACKs it
// unasked: the reader skips the TCP_QUICKACK syscall then, and sets it
// again before the read after a short one, when the socket was drained
// and a peer's Nagle may wait for our ACK.
func TestQuickAckSkippedOnlyAfterAFullRead(t *testing.T) {
	client, nc := acceptTCP(t)
	r, seen, leave := watchQuickAck(t, nc)
	read := func(what string, wantLen, wantQuickAck int) {
		t.Helper()
		leave()
		*seen = -1
		data, err := r.read()
		if err != nil || len(data) != wantLen {
			t.Fatalf("%s: read %d bytes, %v; want %d", what, len(data), err, wantLen)
		}
		r.done()
		if *seen != wantQuickAck {
			t.Errorf("%s: TCP_QUICKACK %d at the read, want %d", what, *seen, wantQuickAck)
		}
	}
	nc.SetReadDeadline(time.Now().Add(testutil.HangGuard))
	if _, err := client.Write(make([]byte, 2*rawReadSize+100)); err != nil {
		t.Fatal(err)
	}
	// Wait until all of it is queued, so that the reads are full.
	bare, err := nc.(*tcpopt.Conn).TCPConn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(testutil.HangGuard)
	for inq := 0; inq < 2*rawReadSize+100; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d bytes arrived", inq)
		}
		bare.Control(func(fd uintptr) { inq, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
		time.Sleep(time.Millisecond)
	}
	read("first read", rawReadSize, 1)
	read("after a full read", rawReadSize, 0)
	read("still after a full read", 100, 0)
	if _, err := io.WriteString(client, "GET status\n\n"); err != nil {
		t.Fatal(err)
	}
	read("after a short read", len("GET status\n\n"), 1)
}

// watchQuickAck returns the site loop's reader of nc, a tcpopt conn, which
// records in *seen the socket's TCP_QUICKACK when a read begins (the
// first attempt; -1 until then), and leave, which takes the socket out of
// quick-ack mode, as an interactive exchange does on its own.
func watchQuickAck(t *testing.T, nc net.Conn) (r *reader, seen *int, leave func()) {
	t.Helper()
	tc, ok := nc.(*tcpopt.Conn)
	if !ok {
		t.Fatalf("accepted %T, want tcpopt's conn", nc)
	}
	bare, err := tc.TCPConn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	leave = func() {
		bare.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 0) })
	}
	r = newReader(nc)
	if r.raw == nil {
		t.Fatal("the TCP client is read with plain Reads")
	}
	seen = new(int)
	*seen = -1
	fill := r.fill
	r.fill = func(fd uintptr) bool {
		if *seen == -1 {
			*seen, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK)
		}
		return fill(fd)
	}
	return r, seen, leave
}

// acceptTCP connects to a site's TCP listener on loopback and returns
// both ends: the client's, and the server's as the site loop gets it. All
// is closed with t.
func acceptTCP(t *testing.T) (client, server net.Conn) {
	t.Helper()
	l, err := listen.TCP(listen.TCPOptions{Site: "s1", Host: "127.0.0.1", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	client, err = net.DialTimeout("tcp", l.Addr().String(), testutil.HangGuard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}
