package driver

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// flushTimeout bounds how long a closing client may take to accept the
	// rest of its answer without any progress; after that it is dropped so
	// a client that never reads cannot pin a goroutine forever.
	flushTimeout = 10 * time.Second
	// lingerTimeout: after its answer a client's write side is shut down
	// and its leftover input is drained for at most this long before the
	// close. Closing a socket with unread input makes the kernel reset the
	// connection, and the client could lose the answer (a 413 after a
	// huge query, say).
	lingerTimeout = 2 * time.Second
)

// conn is one client or channel connection. The site loop owns the maps
// that hold conns; the reader and writer goroutines touch only the fields
// documented as shared.
type conn struct {
	nc     net.Conn // nil while a channel is dialling; set before goroutines start
	out    outQueue // shared: written by the loop, drained by the writer
	gate   *gate    // channels only: pause/resume of the reader
	cancel func()   // channels only: aborts the dial
	dead   chan struct{}
	once   sync.Once
	client bool
	stall  time.Duration // clients only: see writeTimeout
	// forgotten: the core no longer wants this conn's input (the client
	// was closed by the core); the reader drains and drops it.
	forgotten  atomic.Bool
	readerDone chan struct{}
	// writes counts the loop's writes to a channel; each read is tagged
	// with its value when the read returned (see msg.gen).
	writes atomic.Uint64
}

func newConn(nc net.Conn, client bool) *conn {
	c := &conn{nc: nc, client: client, dead: make(chan struct{}), readerDone: make(chan struct{})}
	c.out.wake = make(chan struct{}, 1)
	if !client {
		c.gate = newGate()
	}
	return c
}

// kill closes the connection at once, dropping anything still queued. It
// may be called from any goroutine, any number of times.
func (c *conn) kill() {
	c.once.Do(func() {
		close(c.dead)
		if c.cancel != nil {
			c.cancel()
		}
		if tc, ok := c.nc.(*tls.Conn); ok {
			// Skip TLS's close_notify: it is a write that could block
			// the site loop for seconds on a peer that stopped reading.
			tc.NetConn().Close()
		} else if c.nc != nil {
			c.nc.Close()
		}
	})
}

// sink is what a conn's goroutines report to: the site loop's inbox.
type sink interface {
	// send delivers m unless the loop has ended; it reports whether it did.
	send(m msg) bool
	quitting() <-chan struct{}
	// draining is closed when the site shuts down: lingering stops then,
	// the shutdown must not wait for clients to finish sending.
	draining() <-chan struct{}
}

// readLoop turns Reads into messages: data, then exactly one EOF or error.
// Read buffers: see read.go.
func (c *conn) readLoop(s sink, id uint64) {
	defer close(c.readerDone)
	r := newReader(c.nc)
	defer r.release()
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
		data, err := r.read()
		if len(data) > 0 && !c.forgotten.Load() {
			m := dataMsg(c.client, id, data)
			m.gen = c.writes.Load()
			if !s.send(m) {
				return
			}
		}
		if err != nil {
			if !c.forgotten.Load() {
				s.send(endMsg(c.client, id, err))
			}
			return
		}
	}
}

// writeLoop drains the queue. For a client it reports every write (the
// core's backpressure) and performs the graceful close the core asked for.
func (c *conn) writeLoop(s sink, id uint64, done func()) {
	defer done()
	defer c.kill()
	for {
		bufs, closing := c.out.take()
		if len(bufs) > 0 {
			if c.client {
				c.nc.SetWriteDeadline(time.Now().Add(c.writeTimeout(closing)))
			}
			nb := net.Buffers(bufs)
			n, err := nb.WriteTo(c.nc)
			if n > 0 && c.client && !c.forgotten.Load() {
				s.send(msg{kind: msgWritten, id: id, n: int(n)})
			}
			if err != nil {
				if !c.forgotten.Load() {
					s.send(brokenMsg(c.client, id, err))
				}
				return
			}
			continue
		}
		if closing {
			c.linger(s)
			return
		}
		select {
		case <-c.out.wake:
		case <-c.dead:
			return
		case <-s.quitting():
			return
		}
	}
}

// writeTimeout: a client that accepts no bytes of a batch for this long is
// treated as gone (EvClientGone), which frees the channel it holds. While
// streaming that is the query timeout; after the answer, flushTimeout.
func (c *conn) writeTimeout(closing bool) time.Duration {
	if closing || c.stall < flushTimeout {
		return flushTimeout
	}
	return c.stall
}

// linger shuts down the write side so the client sees its answer end, then
// waits a little for the client to finish sending before the close.
func (c *conn) linger(s sink) {
	cw, ok := c.nc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	t := time.NewTimer(lingerTimeout)
	defer t.Stop()
	select {
	case <-c.readerDone:
	case <-t.C:
	case <-c.dead:
	case <-s.quitting():
	case <-s.draining():
	}
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// outQueue is an unbounded write queue. It is bounded in practice by the
// core: client data beyond Config.HighWater pauses the channel feeding it.
type outQueue struct {
	mu      sync.Mutex
	bufs    [][]byte
	closing bool
	wake    chan struct{}
}

func (q *outQueue) push(b []byte) {
	q.mu.Lock()
	if !q.closing {
		q.bufs = append(q.bufs, b)
	}
	q.mu.Unlock()
	q.signal()
}

// finish asks the writer to close once everything queued so far is written.
func (q *outQueue) finish() {
	q.mu.Lock()
	q.closing = true
	q.mu.Unlock()
	q.signal()
}

func (q *outQueue) take() ([][]byte, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.bufs
	q.bufs = nil
	return b, q.closing
}

func (q *outQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// gate lets a channel reader wait while the channel is paused.
type gate struct {
	mu     sync.Mutex
	resume chan struct{} // nil while open
}

var openGate = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func newGate() *gate { return &gate{} }

func (g *gate) pause() {
	g.mu.Lock()
	if g.resume == nil {
		g.resume = make(chan struct{})
	}
	g.mu.Unlock()
}

func (g *gate) open() {
	g.mu.Lock()
	if g.resume != nil {
		close(g.resume)
		g.resume = nil
	}
	g.mu.Unlock()
}

// wait returns a channel that is closed while the gate is open.
func (g *gate) wait() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.resume == nil {
		return openGate
	}
	return g.resume
}
