package driver

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"liveproxyd/adapters/tcpopt"
)

// flushTimeout bounds how long a closing client may take to accept the
// rest of its answer without any progress; after that it is dropped so a
// client that never reads cannot pin its buffers forever. A variable for
// tests (export_test.go).
var flushTimeout = 10 * time.Second

const (
	// lingerTimeout: after its answer a client's write side is shut down
	// and its leftover input is drained for at most this long before the
	// close. Closing a socket with unread input makes the kernel reset the
	// connection, and the client could lose the answer (a 413 after a
	// huge query, say).
	lingerTimeout = 2 * time.Second
)

// conn is one client or channel connection. The site's lock guards the
// maps that hold conns and every call of write and finish; the reader and
// the writer goroutine touch only the fields documented as shared.
type conn struct {
	id     uint64
	client bool
	nc     net.Conn        // nil while a channel is dialling; set before goroutines start
	raw    syscall.RawConn // nil: every write goes through the writer (TLS)
	out    outQueue        // shared: filled under the site's lock, drained by the writer
	gate   *gate           // channels only: pause/resume of the reader
	cancel func()          // channels only: aborts the dial
	stall  time.Duration   // clients only: see writeTimeout
	onDead func()          // run once by kill
	dead   chan struct{}
	once   sync.Once
	// forgotten: the core no longer wants this conn's input (the client
	// was closed by the core); the reader drains and drops it.
	forgotten atomic.Bool
	// lingering: the answer is written and the write side shut down; the
	// conn is closed when the client's input ends, or after lingerTimeout.
	lingering  atomic.Bool
	linger     *time.Timer
	readerDone chan struct{}
	// writes counts the core's writes to a channel; each read is tagged
	// with its value when the read returned (see Loop.data).
	writes atomic.Uint64
	// The inline write's argument and results (tryWrite), guarded by
	// out.mu, and its raw write function, made once.
	wbuf  []byte
	wn    int
	werr  error
	wfill func(fd uintptr) bool
	// A poller client's socket (fdconn.go), -1 for all others; fdMu
	// guards fd and events, held by every call on fd and by its close.
	fd         int
	poll       *poller
	fdMu       sync.Mutex
	events     uint32      // what the poller's set reports for fd
	inputEnded bool        // read gave EOF or an error: never read again
	serial     uint32      // the poller's number for this client, in its events
	stallTimer *time.Timer // guarded by out.mu: see armStall
}

func newConn(nc net.Conn, client bool, id uint64) *conn {
	c := &conn{id: id, nc: nc, client: client, fd: -1, dead: make(chan struct{}), readerDone: make(chan struct{})}
	c.out.wake = make(chan struct{}, 1)
	if !client {
		c.gate = newGate()
	}
	c.setConn(nc)
	return c
}

// setConn attaches the socket; inline writes need a bare socket (or
// tcpopt's wrapper of one): TLS must encrypt, which may block.
func (c *conn) setConn(nc net.Conn) {
	c.nc = nc
	switch nc.(type) {
	case *net.UnixConn, *net.TCPConn, *tcpopt.Conn:
		if raw, err := nc.(syscall.Conn).SyscallConn(); err == nil {
			c.raw = raw
			c.wfill = c.writeOnce
		}
	}
}

// kill closes the connection at once, dropping anything still queued. It
// may be called from any goroutine, any number of times.
func (c *conn) kill() {
	c.once.Do(func() {
		close(c.dead)
		if c.cancel != nil {
			c.cancel()
		}
		c.out.mu.Lock()
		if c.linger != nil {
			c.linger.Stop()
		}
		if c.stallTimer != nil {
			c.stallTimer.Stop()
		}
		c.out.mu.Unlock()
		if c.poll != nil {
			c.poll.forget(c)
			c.closeFD()
		}
		if tc, ok := c.nc.(*tls.Conn); ok {
			// Skip TLS's close_notify: it is a write that could block
			// for seconds on a peer that stopped reading.
			tc.NetConn().Close()
		} else if c.nc != nil {
			c.nc.Close()
		}
		if c.onDead != nil {
			c.onDead()
		}
	})
}

// sink is where a conn's goroutines report what they saw: the site loop,
// which steps the core with it under its lock.
type sink interface {
	// data hands over bytes read (lent for the call) and the conn's write
	// count when the read returned; false: the loop has ended.
	data(c *conn, b []byte, gen uint64) bool
	// end reports the reader's end: io.EOF or the error.
	end(c *conn, err error)
	// written reports bytes the writer goroutine got to a client.
	written(c *conn, n int)
	// broken reports a write error.
	broken(c *conn, err error)
	quitting() <-chan struct{}
	// draining is closed when the site shuts down: lingering stops then,
	// the shutdown must not wait for clients to finish sending.
	draining() <-chan struct{}
}

// readLoop reports reads to s: data, then exactly one end. The buffer of
// a read is lent to s and used again (read.go).
func (c *conn) readLoop(s sink) {
	defer c.readerEnded()
	r := newReader(c.nc)
	defer r.release()
	read := r.read
	if !c.client {
		read = r.readHoldingStack
	}
	for {
		if c.gate != nil {
			select {
			case <-c.gate.wait():
			case <-c.dead:
				return
			case <-s.quitting():
				return
			}
		}
		data, err := read()
		if len(data) > 0 && !c.forgotten.Load() {
			if !s.data(c, data, c.writes.Load()) {
				return
			}
		}
		r.done()
		if err != nil {
			if !c.forgotten.Load() {
				s.end(c, err)
			}
			return
		}
	}
}

// readerEnded: a lingering conn closes when the client's input ends.
func (c *conn) readerEnded() {
	close(c.readerDone)
	if c.lingering.Load() {
		c.kill()
	}
}

// write queues b (called under the site's lock). It is written at once as
// far as the socket takes it without blocking; the rest waits for the
// writer goroutine, copied if it lies in lent, the read buffer the Step
// borrowed (it is used again after the Step). hold, if not nil, is the
// buffer b lies in, recycled once b is written (core.Action.Buf). n is
// what was written now.
func (c *conn) write(s sink, b, lent, hold []byte) (n int, err error) {
	q := &c.out
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return 0, nil
	}
	if (c.poll != nil || c.raw != nil) && len(q.bufs) == 0 && !q.busy {
		if c.poll != nil {
			n, err = c.writeFD(b)
		} else {
			n, err = c.tryWrite(b)
		}
		if err != nil {
			return n, err
		}
		if n == len(b) {
			if hold != nil {
				putHold(hold)
			}
			return n, nil
		}
		b = b[n:]
	}
	if within(b, lent) {
		b = append([]byte(nil), b...)
	}
	first := len(q.bufs) == 0
	q.bufs = append(q.bufs, b)
	if hold != nil {
		q.holds = append(q.holds, hold)
	}
	switch {
	case c.poll == nil:
		c.startWriter(s)
	case first: // else the poller waits for the socket already
		return n, c.awaitWritable()
	}
	return n, nil
}

// tryWrite writes what the socket takes now; EAGAIN is no error. Called
// with c.out.mu held, so the write fields are the caller's alone.
func (c *conn) tryWrite(b []byte) (n int, err error) {
	c.wbuf = b
	rerr := c.raw.Write(c.wfill)
	n, werr := c.wn, c.werr
	c.wbuf, c.wn, c.werr = nil, 0, nil
	if werr != nil {
		werr = &net.OpError{Op: "write", Net: c.nc.LocalAddr().Network(), Addr: c.nc.RemoteAddr(), Err: werr}
	}
	return n, errors.Join(rerr, werr)
}

// writeOnce is the raw write of tryWrite: one attempt, never a wait (the
// writer goroutine waits). A method value made once per conn, so a write
// allocates no closure.
func (c *conn) writeOnce(fd uintptr) bool {
	n, err := writeNow(int(fd), c.wbuf)
	if err == unix.EAGAIN {
		err = nil
	}
	c.wn, c.werr = max(n, 0), err
	return true
}

// within tells whether b points into buf's memory.
func within(b, buf []byte) bool {
	if len(b) == 0 || cap(buf) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	return p >= lo && p < lo+uintptr(cap(buf))
}

// startWriter wakes the writer goroutine, starting it on first use. Called
// with c.out.mu held.
func (c *conn) startWriter(s sink) {
	if !c.out.writer {
		c.out.writer = true
		go c.writeLoop(s)
	}
	c.out.signal()
}

// finish closes the conn once everything queued is written (called under
// the site's lock). With nothing queued on a bare socket that happens at
// once: the write side is shut down and the conn lingers.
func (c *conn) finish(s sink) {
	q := &c.out
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closing = true
	if c.poll != nil {
		if len(q.bufs) == 0 {
			c.lingerLocked(s)
			return
		}
		c.armStall() // now with the closing client's timeout
		return       // flush lingers once the rest is out
	}
	if q.writer || c.raw == nil {
		c.startWriter(s)
		return
	}
	c.lingerLocked(s)
}

// lingerLocked shuts the write side down and closes the conn when the
// client's input ends, or after lingerTimeout, or at once while the site
// shuts down (as the writer's lingerOn does). c.out.mu held.
func (c *conn) lingerLocked(s sink) {
	if c.closeWrite() != nil {
		go c.kill()
		return
	}
	c.lingering.Store(true)
	select {
	case <-c.readerDone:
		go c.kill() // kill takes q.mu
		return
	case <-s.draining():
		go c.kill()
		return
	default:
	}
	c.linger = time.AfterFunc(lingerTimeout, c.kill)
}

// closeWrite shuts down the write side: on a bare socket with shutdownNow,
// else with the conn's CloseWrite (TLS sends its close_notify).
func (c *conn) closeWrite() error {
	if c.poll != nil {
		return c.shutdownFD()
	}
	if c.raw != nil {
		var err error
		if cerr := c.raw.Control(func(fd uintptr) { err = shutdownNow(int(fd)) }); cerr != nil {
			return cerr
		}
		return err
	}
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
