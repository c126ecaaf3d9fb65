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

// Read buffers. The core only borrows the bytes of a read for its Step
// (what it keeps, it copies; what it streams on to a client is written or
// copied before the Step ends, see conn.write), so one buffer serves read
// after read and a large answer recycles the same few buffers.
//
// A plain Read needs its buffer while it waits, so each of thousands of
// idle clients and channels would hold one. Where the conn is a bare
// socket, or tcpopt's TCP conn (see newReader), the reader instead waits
// for input holding no buffer, and takes one from a pool only when there
// is data. rawReadSize stays at Go's largest small-object size: a larger
// buffer is a large object, and buffers the pool drops at a collection
// are then freed and reallocated whole, with the pages handed back to
// the system in between (seen as madvise calls at 3,000 idle channels). A TLS conn reads at most one record (16 KiB of
// plaintext) per Read, so its buffer, held while idle, is that big.
//
// Each raw read is tried before waiting, and so a wake-up costs a read
// that fails with EAGAIN: the runtime's poller forgets a readiness that
// came while nobody waited when a RawConn.Read begins, so waiting first
// could sleep on bytes that are already there.
const (
	rawReadSize   = 32 << 10
	plainReadSize = 16 << 10
)

var (
	rawBufs   = sync.Pool{New: func() any { b := make([]byte, rawReadSize); return &b }}
	plainBufs = sync.Pool{New: func() any { b := make([]byte, plainReadSize); return &b }}
)

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
	// quickAck, for tcpopt's conn, sets TCP_QUICKACK; read calls it
	// unless the last read filled its buffer (full). Nagle's stall that
	// QUICKACK prevents needs the peer waiting for our ACK with the
	// socket drained; while reads come back full, an answer is streaming
	// in and Linux ACKs it unasked. Skipping it there saves a syscall per
	// 32 KiB of a large answer, most of the channel's syscalls.
	quickAck func()
	full     bool
}

func newReader(nc net.Conn) *reader {
	r := &reader{nc: nc}
	var sc syscall.Conn
	switch c := nc.(type) {
	case *net.UnixConn:
		sc = c
	case *net.TCPConn:
		sc = c
	case *tcpopt.Conn:
		// Its Read sets TCP_QUICKACK; read does that itself, on the
		// bare socket.
		sc, r.quickAck = c.TCPConn, c.QuickAck
	}
	// Only bare sockets and tcpopt's wrapper: another wrapper may do more
	// in Read. TLS decrypts, so a TLS conn (channel or client) keeps its
	// buffer while idle.
	if sc != nil {
		if raw, err := sc.SyscallConn(); err == nil {
			r.raw = raw
			r.fill = r.fillFunc
		} else {
			r.quickAck = nil
		}
	}
	return r
}

// read returns the next data or the error that ends the conn; io.EOF at
// its end. The data is lent: valid until done.
func (r *reader) read() ([]byte, error) {
	if r.raw == nil {
		if r.buf == nil {
			r.buf = plainBufs.Get().(*[]byte)
		}
		n, err := r.nc.Read(*r.buf)
		return (*r.buf)[:max(n, 0)], err
	}
	if r.quickAck != nil && !r.full {
		r.quickAck()
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
	if n <= 0 {
		r.release()
		return nil, err
	}
	return (*r.buf)[:n], err
}

// done ends the loan of the last read's data. A raw reader's buffer goes
// back to the pool, so that an idle conn holds none; a plain one keeps it.
func (r *reader) done() {
	if r.raw != nil {
		r.release()
	}
}

// fillFunc is the raw read: false asks RawConn to wait until the socket
// is readable and call again. The buffer goes back to the pool before such
// a wait, so an idle conn holds none.
func (r *reader) fillFunc(fd uintptr) bool {
	if r.buf == nil {
		r.buf = rawBufs.Get().(*[]byte)
	}
	n, err := readNow(int(fd), *r.buf)
	if errors.Is(err, unix.EAGAIN) {
		r.release()
		return false
	}
	r.n, r.err = max(n, 0), err
	r.full = n == len(*r.buf)
	return true
}

// release returns a held buffer to its pool.
func (r *reader) release() {
	if r.buf == nil {
		return
	}
	if r.raw != nil {
		rawBufs.Put(r.buf)
	} else {
		plainBufs.Put(r.buf)
	}
	r.buf = nil
}

// stackHold is stack a channel's reader keeps in use while it waits.
const stackHold = 2 << 10

// readHoldingStack is read, waiting with stackHold more of the goroutine's
// stack in use. The collector halves a goroutine stack found less than a
// quarter used, and a channel's reader steps the core on its own stack
// when its heartbeat answer comes: at 10,000 channels, regrowing the
// stacks each collection had shrunk cost about a sixth of the daemon's
// idle CPU. Holding the frame keeps a reader's stack at the size the core
// needs, so it is neither shrunk nor regrown.
//
//go:noinline
func (r *reader) readHoldingStack() ([]byte, error) {
	var hold [stackHold]byte
	data, err := r.read()
	touch(&hold)
	return data, err
}

// touch keeps hold, whose address it takes, from being optimised away.
//
//go:noinline
func touch(*[stackHold]byte) {}
