package listen

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// Set is the one net.Listener a site loop accepts from: the site's UNIX
// socket plus, when the site has a `tcp` key, its TCP listener. Clients of
// both reach the same loop, and so the same channels, dead-site and busy
// answers and cache. The TCP listener can be replaced or removed while the
// loop runs (SetTCP), so a reload that changes only the `tcp` key keeps
// the site's channels and clients.
type Set struct {
	conns   chan accepted
	closed  chan struct{}
	once    sync.Once
	handler atomic.Pointer[func(net.Conn, error) bool] // set by Serve
	// mainOnce starts the main listener's forwarding, on first use of
	// Accept or Serve, unless TakeMain took the listener first.
	mainOnce sync.Once

	mu   sync.Mutex
	main net.Listener
	tcp  *TCPListener
}

// accepted is one result of an underlying Accept.
type accepted struct {
	conn net.Conn
	err  error
}

// NewSet returns a Set serving main; closing the Set closes main.
func NewSet(main net.Listener) *Set {
	return &Set{conns: make(chan accepted), closed: make(chan struct{}), main: main}
}

func (s *Set) startMain() { s.mainOnce.Do(func() { go s.forward(s.main) }) }

// TakeMain hands the main listener to a caller that accepts from it
// itself (the site loop's poller, adapters/driver); Accept and Serve then
// yield only the TCP listener's clients. ok is false once Accept or Serve
// has begun forwarding it. Close still closes it.
func (s *Set) TakeMain() (l net.Listener, ok bool) {
	s.mainOnce.Do(func() { ok = true })
	if !ok {
		return nil, false
	}
	return s.main, true
}

// forward hands l's connections to Accept until l is closed. Other accept
// errors (out of file descriptors) are handed on too; the channel is
// unbuffered, so the loop's back-off on them paces this goroutine.
func (s *Set) forward(l net.Listener) {
	for {
		c, err := l.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if h := s.handler.Load(); h != nil {
			if !(*h)(c, err) {
				return
			}
			continue
		}
		select {
		case s.conns <- accepted{c, err}:
		case <-s.closed:
			if c != nil {
				c.Close()
			}
			return
		}
	}
}

// Accept implements net.Listener: the next client of any listener, or
// net.ErrClosed once the Set is closed.
func (s *Set) Accept() (net.Conn, error) {
	s.startMain()
	select {
	case a := <-s.conns:
		return a.conn, a.err
	case <-s.closed:
		return nil, net.ErrClosed
	}
}

// Serve hands every connection (or accept error) of every listener to h,
// in the goroutine that accepted it, until the Set is closed or h returns
// false; a user of Serve does not call Accept. It saves the hand-off from
// the accepting goroutine to the one calling Accept: a wake-up per client.
// Errors other than the close are handed on; h paces their retries.
func (s *Set) Serve(h func(net.Conn, error) bool) {
	s.handler.Store(&h)
	s.startMain()
	// A connection accepted before the handler was set waits here.
	for {
		select {
		case a := <-s.conns:
			if !h(a.conn, a.err) {
				return
			}
		case <-s.closed:
			return
		}
	}
}

// Close closes every listener of the Set; accepted clients stay open.
func (s *Set) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closed)
		s.mu.Lock()
		tcp := s.tcp
		s.tcp = nil
		s.mu.Unlock()
		err = s.main.Close()
		if tcp != nil {
			tcp.Close()
		}
	})
	return err
}

// Addr implements net.Listener: the main (UNIX) listener's address.
func (s *Set) Addr() net.Addr { return s.main.Addr() }

// SetTCP makes l the Set's TCP listener (nil: none) and closes the one it
// replaces. After Close it closes l instead.
func (s *Set) SetTCP(l *TCPListener) {
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		if l != nil {
			l.Close()
		}
		return
	default:
	}
	old := s.tcp
	s.tcp = l
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
	if l != nil {
		go s.forward(l)
	}
}

// TCP is the current TCP listener, or nil.
func (s *Set) TCP() *TCPListener {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tcp
}
