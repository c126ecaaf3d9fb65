package driver

import (
	"net"
	"sync"
	"time"
)

// The writer goroutine of a conn and the queue it drains: what a socket
// did not take at once, for conns read by goroutines (channels, TCP
// listener clients); the poller's clients are flushed by the poller.

// writeLoop drains the queue of whatever the socket did not take at once.
// For a client it reports every write (the core's backpressure) and
// performs the graceful close the core asked for.
func (c *conn) writeLoop(s sink) {
	defer c.kill()
	for {
		bufs, holds, closing := c.out.take()
		if len(bufs) > 0 {
			if c.client {
				c.nc.SetWriteDeadline(time.Now().Add(c.writeTimeout(closing)))
			}
			nb := net.Buffers(bufs)
			n, err := nb.WriteTo(c.nc)
			if c.client {
				// An inline write checks the deadline too: clear it
				// before one may run again.
				c.nc.SetWriteDeadline(time.Time{})
			}
			c.out.wrote()
			if err == nil {
				for _, h := range holds {
					putHold(h)
				}
			}
			if n > 0 && c.client && !c.forgotten.Load() {
				s.written(c, int(n))
			}
			if err != nil {
				if !c.forgotten.Load() {
					s.broken(c, err)
				}
				return
			}
			continue
		}
		if closing {
			c.lingerOn(s)
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

// lingerOn shuts down the write side so the client sees its answer end,
// then waits a little for the client to finish sending before the close.
func (c *conn) lingerOn(s sink) {
	if c.closeWrite() != nil {
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

// outQueue holds what a conn's socket did not take at once. It is bounded
// in practice by the core: client data beyond Config.HighWater pauses the
// channel feeding it.
type outQueue struct {
	mu      sync.Mutex
	bufs    [][]byte
	holds   [][]byte // buffers to recycle once bufs are written
	busy    bool     // the writer is writing bufs it took: no write may pass them
	writer  bool     // the writer goroutine runs
	closing bool
	wake    chan struct{}
}

func (q *outQueue) take() (bufs, holds [][]byte, closing bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	bufs, holds = q.bufs, q.holds
	q.bufs, q.holds = nil, nil
	q.busy = len(bufs) > 0
	return bufs, holds, q.closing
}

func (q *outQueue) wrote() {
	q.mu.Lock()
	q.busy = false
	q.mu.Unlock()
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
