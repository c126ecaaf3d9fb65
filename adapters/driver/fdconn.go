package driver

import (
	"errors"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// A client of the poller (poller.go) is a conn whose socket the driver
// owns: fd, not nc. Its reads and the writes the socket did not take at
// once are done by the poller's goroutine; there is no reader or writer
// goroutine. What it shares with other conns (the output queue, finish,
// kill, linger) is in conn.go.

func newFDConn(p *poller, fd int) *conn {
	return &conn{client: true, fd: fd, poll: p, events: unix.EPOLLIN,
		dead: make(chan struct{}), readerDone: make(chan struct{})}
}

// readOnce reads what the socket has (one read: the set reports the rest)
// and hands it to s, or the end of the input. false: the input had ended
// before (or the socket is closed), nothing was read.
func (c *conn) readOnce(s sink) bool {
	buf := rawBufs.Get().(*[]byte)
	defer rawBufs.Put(buf)
	c.fdMu.Lock()
	if c.fd < 0 || c.inputEnded {
		c.fdMu.Unlock()
		return false
	}
	n, err := readNow(c.fd, *buf)
	if err == unix.EAGAIN {
		c.fdMu.Unlock()
		return true
	}
	if n <= 0 {
		// The input ended: the set must stop reporting it readable.
		c.inputEnded = true
		_ = c.poll.setEvents(c, c.events&^unix.EPOLLIN)
	}
	c.fdMu.Unlock()
	if n > 0 {
		if !c.forgotten.Load() {
			s.data(c, (*buf)[:n], 0)
		}
		return true
	}
	if err == nil {
		err = io.EOF
	} else {
		err = &net.OpError{Op: "read", Net: "unix", Err: os.NewSyscallError("read", err)}
	}
	if !c.forgotten.Load() {
		s.end(c, err)
	}
	c.readerEnded()
	return true
}

// errHungUp is what the core hears of a client whose socket hung up both
// ways while an answer still waited for it.
var errHungUp = &net.OpError{Op: "write", Net: "unix", Err: os.NewSyscallError("write", unix.EPIPE)}

// hungUp ends a client the set reports hung up (EPOLLHUP or EPOLLERR)
// after its input ended: nothing can reach it any more, and the report
// would come again on every wait.
func (c *conn) hungUp(s sink) {
	if !c.forgotten.Load() {
		s.broken(c, errHungUp)
	}
	c.kill()
}

// writeFD is the inline write of a poller client (c.out.mu held): what
// the socket takes now; EAGAIN is no error.
func (c *conn) writeFD(b []byte) (int, error) {
	c.fdMu.Lock()
	defer c.fdMu.Unlock()
	if c.fd < 0 {
		return 0, net.ErrClosed
	}
	n, err := writeNow(c.fd, b)
	switch {
	case err == unix.EAGAIN:
		return 0, nil
	case err != nil:
		return 0, &net.OpError{Op: "write", Net: "unix", Err: os.NewSyscallError("write", err)}
	}
	return n, nil
}

// awaitWritable has the poller flush the queue when the socket takes
// more, and starts the stall timer (c.out.mu held). An error (the set is
// full, say) is the conn's end: nothing would flush the queue.
func (c *conn) awaitWritable() error {
	c.fdMu.Lock()
	err := c.poll.setEvents(c, c.events|unix.EPOLLOUT)
	c.fdMu.Unlock()
	if err != nil {
		return &net.OpError{Op: "write", Net: "unix", Err: os.NewSyscallError("epoll_ctl", err)}
	}
	c.armStall()
	return nil
}

// flush writes queued output when the socket takes more, reports it to
// s, and lingers once all is out and the core has closed the client.
func (c *conn) flush(s sink) {
	q := &c.out
	q.mu.Lock()
	total := 0
	var err error
	for len(q.bufs) > 0 {
		n, werr := c.writeFD(q.bufs[0])
		if errors.Is(werr, net.ErrClosed) {
			q.mu.Unlock()
			return // killed meanwhile
		}
		if werr != nil {
			err = werr
			break
		}
		total += n
		if n < len(q.bufs[0]) {
			q.bufs[0] = q.bufs[0][n:]
			break // the socket is full (n = 0: EAGAIN): the next write would fail
		}
		q.bufs[0] = nil
		q.bufs = q.bufs[1:]
	}
	drained := err == nil && len(q.bufs) == 0
	if drained {
		for _, h := range q.holds {
			putHold(h)
		}
		q.bufs, q.holds = nil, nil
		if c.stallTimer != nil {
			c.stallTimer.Stop()
		}
		c.fdMu.Lock()
		_ = c.poll.setEvents(c, c.events&^unix.EPOLLOUT) // a stray report finds nothing to flush
		c.fdMu.Unlock()
	} else if total > 0 {
		c.armStall()
	}
	if drained && q.closing {
		c.lingerLocked(s)
	}
	q.mu.Unlock()
	if total > 0 && !c.forgotten.Load() {
		s.written(c, total)
	}
	if err != nil {
		if !c.forgotten.Load() {
			s.broken(c, err)
		}
		c.kill()
	}
}

// errStalled is what the core hears of a client that took no bytes for
// its write timeout.
var errStalled = &net.OpError{Op: "write", Net: "unix", Err: os.ErrDeadlineExceeded}

// armStall (re)starts the wait for the client to take more (c.out.mu
// held): it is dropped if it takes none for writeTimeout.
func (c *conn) armStall() {
	d := c.writeTimeout(c.out.closing)
	if c.stallTimer == nil {
		c.stallTimer = time.AfterFunc(d, c.stalled)
		return
	}
	c.stallTimer.Reset(d)
}

func (c *conn) stalled() {
	c.out.mu.Lock()
	pending := len(c.out.bufs) > 0
	c.out.mu.Unlock()
	if !pending {
		return
	}
	if !c.forgotten.Load() {
		c.poll.l.broken(c, errStalled)
	}
	c.kill()
}

// closeFD closes the socket once, leaving the poller's set with it.
func (c *conn) closeFD() {
	c.fdMu.Lock()
	if c.fd >= 0 {
		closeNow(c.fd)
		c.fd = -1
	}
	c.fdMu.Unlock()
}

// shutdownFD shuts the write side down.
func (c *conn) shutdownFD() error {
	c.fdMu.Lock()
	defer c.fdMu.Unlock()
	if c.fd < 0 {
		return net.ErrClosed
	}
	return shutdownNow(c.fd)
}
