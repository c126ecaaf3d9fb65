package driver

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"liveproxyd/adapters/tcpopt"
)

// readSize is the buffer of one read.
const readSize = 32 << 10

// Read buffers. The core keeps every Data slice it is given, so a buffer
// handed to it is never used again. A read of at least half a buffer hands
// over the buffer itself; a smaller one (a query, a heartbeat answer) is
// copied out, and the buffer is used again.
//
// A plain Read needs its buffer while it waits, so each of thousands of
// idle clients and channels would hold one (32 KiB each). Where the conn is
// a bare socket, or tcpopt's TCP conn (see newReader), the reader instead
// waits for input holding no buffer, and takes one from a pool only when
// there is data.

var readBufs = sync.Pool{New: func() any { b := make([]byte, readSize); return &b }}

// reader reads one conn for its readLoop.
type reader struct {
	nc  net.Conn
	raw syscall.RawConn // nil: plain Reads into buf
	buf *[]byte         // held between plain Reads; pooled between raw ones
	// Results of fill, kept here so that fill, a method value made
	// once, needs no new closure per read.
	n    int
	err  error
	fill func(fd uintptr) bool
}

func newReader(nc net.Conn) *reader {
	r := &reader{nc: nc}
	switch nc.(type) {
	case *net.UnixConn, *net.TCPConn, *tcpopt.Conn:
		// Only bare sockets and tcpopt's wrapper, whose raw Read sets
		// TCP_QUICKACK as its Read does. Another wrapper may do more in
		// Read: TLS decrypts, so a TLS conn (channel or client) keeps
		// its buffer while idle.
		if raw, err := nc.(syscall.Conn).SyscallConn(); err == nil {
			r.raw = raw
			r.fill = r.fillFunc
		}
	}
	return r
}

// read returns the next data (owned by the caller from then on) or the
// error that ends the conn; io.EOF at its end.
func (r *reader) read() ([]byte, error) {
	if r.raw == nil {
		if r.buf == nil {
			r.buf = readBufs.Get().(*[]byte)
		}
		n, err := r.nc.Read(*r.buf)
		return r.take(n), err
	}
	err := r.raw.Read(r.fill)
	n, rerr := r.n, r.err
	r.n, r.err = 0, nil
	if err == nil && rerr != nil {
		err = &net.OpError{Op: "read", Net: r.nc.LocalAddr().Network(),
			Source: r.nc.LocalAddr(), Addr: r.nc.RemoteAddr(), Err: os.NewSyscallError("read", rerr)}
	}
	if err == nil && n == 0 {
		err = io.EOF
	}
	data := r.take(n)
	r.release()
	return data, err
}

// fillFunc is the raw read: false asks RawConn to wait until the socket
// is readable and call again. The buffer goes back to the pool before such
// a wait, so an idle conn holds none.
func (r *reader) fillFunc(fd uintptr) bool {
	if r.buf == nil {
		r.buf = readBufs.Get().(*[]byte)
	}
	n, err := unix.Read(int(fd), *r.buf)
	for errors.Is(err, unix.EINTR) {
		n, err = unix.Read(int(fd), *r.buf)
	}
	if errors.Is(err, unix.EAGAIN) {
		r.release()
		return false
	}
	r.n, r.err = max(n, 0), err
	return true
}

// take returns the first n bytes read into the buffer as a slice of their
// own: a copy if small, else the buffer itself, which is then let go.
func (r *reader) take(n int) []byte {
	if n <= 0 {
		return nil
	}
	b := *r.buf
	if n < len(b)/2 {
		return append([]byte(nil), b[:n]...)
	}
	r.buf = nil
	return b[:n:n]
}

// release returns a held buffer to the pool.
func (r *reader) release() {
	if r.buf != nil {
		readBufs.Put(r.buf)
		r.buf = nil
	}
}
