package driver

import (
	"errors"
	"net"
	"time"
)

// mainTaker is a listener set whose UNIX socket the poller may take over
// (listen.Set), leaving it to yield the other listeners' clients.
type mainTaker interface {
	TakeMain() (net.Listener, bool)
}

// serveClients starts the poller on the site's UNIX socket where it can,
// and an accept goroutine for every listener the poller does not serve.
func (l *Loop) serveClients() {
	ln := l.opts.Listener
	main, taken := ln, false
	if t, ok := ln.(mainTaker); ok {
		if m, ok := t.TakeMain(); ok {
			main, taken = m, true
		}
	}
	var p *poller
	if ul, ok := main.(*net.UnixListener); ok {
		var err error
		if p, err = l.startPoller(ul); err != nil {
			l.log.Warn("clients served without the poller", "err", err)
		} else {
			l.poll.Store(p)
			if l.isQuit() { // the loop ended meanwhile (a dial's Step panicked)
				p.close()
			}
		}
	}
	switch {
	case taken && p == nil:
		go func() {
			for l.accepted(main.Accept()) {
			}
		}()
		go l.acceptLoop()
	case taken, p == nil:
		go l.acceptLoop() // the set's other listeners, or all of ln
	}
}

// Accept back-off bounds, as net/http's Server uses them: a failing
// accept (out of file descriptors) is retried after 5 ms, doubling up to
// 1 s while it keeps failing, so the loop neither spins nor stays deaf
// long after descriptors are free again. The log line is rate-limited by
// the logger.
const (
	acceptDelayMin = 5 * time.Millisecond
	acceptDelayMax = time.Second
)

// nextAcceptDelay is the pause after one more failed accept in a row.
func nextAcceptDelay(d time.Duration) time.Duration {
	return min(max(2*d, acceptDelayMin), acceptDelayMax)
}

// server is a listener that hands each connection to a function in the
// goroutine that accepted it (listen.Set), saving a hand-off per client.
type server interface {
	Serve(h func(net.Conn, error) bool)
}

// acceptLoop hands new clients to the core until the listener is closed.
func (l *Loop) acceptLoop() {
	if srv, ok := l.opts.Listener.(server); ok {
		srv.Serve(l.accepted)
		return
	}
	for l.accepted(l.opts.Listener.Accept()) {
	}
}

// accepted gives one result of Accept to the core; false: stop accepting.
// A failed accept is retried after a pause (acceptDelay).
func (l *Loop) accepted(nc net.Conn, err error) bool {
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return false
		}
		l.acceptMu.Lock()
		l.acceptDelay = nextAcceptDelay(l.acceptDelay)
		delay := l.acceptDelay
		l.acceptMu.Unlock()
		l.log.Warn("accept failed", "err", err, "retry_in", delay)
		select {
		case <-time.After(delay):
			return true
		case <-l.quit:
			return false
		}
	}
	l.acceptMu.Lock()
	l.acceptDelay = 0
	l.acceptMu.Unlock()
	if !l.enter(func() { l.accept(nc) }) {
		nc.Close()
		return false
	}
	return true
}
