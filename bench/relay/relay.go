// Package relay is a TCP relay that delays traffic like a wide-area link:
// a fixed one-way delay per direction, bytes kept in order, and a new
// connection costs a real round trip before the first request byte can
// reach the server. The kernel here has no netem, so the WAN benchmarks
// put this between a site and its callers on loopback.
package relay

import (
	"errors"
	"net"
	"sync"
	"time"
)

// Relay accepts on a loopback address and forwards to one upstream.
type Relay struct {
	ln       net.Listener
	upstream string
	delay    time.Duration

	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	done   chan struct{}
}

// dialTimeout bounds the upstream connect.
const dialTimeout = 10 * time.Second

// Listen starts a relay on addr (e.g. "127.0.0.1:0") to upstream,
// delaying each direction by delay.
func Listen(addr, upstream string, delay time.Duration) (*Relay, error) {
	if delay < 0 {
		return nil, errors.New("relay: negative delay")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	r := &Relay{ln: ln, upstream: upstream, delay: delay, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	r.wg.Add(1)
	go r.acceptLoop()
	return r, nil
}

// Addr is the relay's listening host:port.
func (r *Relay) Addr() string { return r.ln.Addr().String() }

// Close stops accepting, cuts every relayed connection and waits for them.
func (r *Relay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.done)
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	err := r.ln.Close()
	r.wg.Wait()
	return err
}

func (r *Relay) acceptLoop() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, stay up.
			if !r.sleep(10 * time.Millisecond) {
				return
			}
			continue
		}
		if !r.track(c) {
			c.Close()
			return
		}
		r.wg.Add(1)
		go r.serve(c, time.Now())
	}
}

// track registers c so Close can cut it; false once the relay is closed.
func (r *Relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *Relay) untrack(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
	c.Close()
}

// sleepUntil waits until t; false if the relay closed first.
func (r *Relay) sleepUntil(t time.Time) bool { return r.sleep(time.Until(t)) }

func (r *Relay) sleep(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-r.done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.done:
		return false
	}
}

// serve relays one connection accepted at t0. The kernel completed the
// client's handshake at once, so the relay models the real one: the SYN
// reaches the server one delay later (then the relay dials it), the
// SYN-ACK is back at the client after two delays, and only then could the
// client have sent its first byte, which arrives one delay after that.
func (r *Relay) serve(client net.Conn, t0 time.Time) {
	defer r.wg.Done()
	defer r.untrack(client)
	up := make(chan chunk, queueChunks)
	down := make(chan chunk, queueChunks)
	stop := make(chan struct{}) // releases readers blocked on a full queue
	defer close(stop)
	// Read the client at once (its bytes are stamped with their modelled
	// arrival time) while the upstream connect is still under way.
	firstSend := t0.Add(2 * r.delay)
	go read(client, up, stop, r.delay, firstSend)
	if !r.sleepUntil(t0.Add(r.delay)) {
		return
	}
	server, err := net.DialTimeout("tcp", r.upstream, dialTimeout)
	if err != nil {
		return // the client sees the connection drop, like a refused SYN
	}
	if !r.track(server) {
		server.Close()
		return
	}
	defer r.untrack(server)
	go read(server, down, stop, r.delay, time.Time{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.write(server, client, up) }()
	go func() { defer wg.Done(); r.write(client, server, down) }()
	wg.Wait()
}
