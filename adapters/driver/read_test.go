package driver

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
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

// The core keeps every slice it is given: no read may reuse a buffer
// handed out before, whether the data was copied (small reads) or the
// buffer itself was handed over (large ones), on both read paths.
func TestReaderNeverReusesHandedOutData(t *testing.T) {
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
					got = append(got, data)
				}
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
				t.Fatalf("%d reads gave %d bytes, not the %d written in order (a buffer reused?)",
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
