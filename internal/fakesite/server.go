// Package fakesite is a fake Livestatus server for demos, end-to-end tests
// and benchmarks of the proxy. It speaks the protocol as real servers do
// (see docs/protocol.md): GET with the common headers over a synthetic
// site of hosts and services, COMMAND, fixed16, KeepAlive and pipelining;
// and it can misbehave on demand like the servers the proxy must survive:
// slow answers, a limited pool of served connections (Icinga), idle close
// and `400:` after a bad COMMAND (naemon), hanging, and core restarts.
package fakesite

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// Options shape the fake site. The zero value is a small, well-behaved
// site of 10 hosts with 10 services each.
type Options struct {
	Hosts, ServicesPerHost int           // synthetic data size; 0 means 10
	Latency                time.Duration // server time per query before the first byte
	ProgramStart           int64         // 0 means DefaultProgramStart; Restart adds one
	// Capacity limits how many open connections are served: later ones are
	// accepted but never read until a served one closes, like Icinga's
	// thread pool. 0 means unlimited.
	Capacity int
	// IdleClose closes a connection that has not sent a complete request
	// for this long, like naemon (300 s idle, 10 s half-sent). 0: never.
	IdleClose time.Duration
	// CommandError writes naemon's `400: ...\n` on the connection after a
	// COMMAND that fails (unknown name, bad arguments).
	CommandError bool
	// Naemon reads requests as naemon does: only an empty line ends one
	// (CR is kept, so CRLF never ends a request), lines of whitespace are
	// skipped, a COMMAND is one line (the lines after it are the next
	// request), and after "400 Undefined request header" the lines it did
	// not read stay in front of the next request. Otherwise requests are
	// read as Icinga 2 does: a line blank after trimming ends one.
	Naemon bool
	TLS    *tls.Config // serve TLS on the listener
}

// DefaultProgramStart is program_start of a fresh fake site.
const DefaultProgramStart = 1700000000

// MaxRequestBytes bounds one request; a larger one gets a 413 and a close.
const MaxRequestBytes = 1 << 20

// lastCommands is how many COMMAND lines Stats remembers.
const lastCommands = 64

// defaultSpill is the answer size up to which a fixed16 answer is built in
// memory; bigger ones are rendered twice (measure, then stream) so that a
// million services do not need hundreds of MB.
const defaultSpill = 8 << 20

// Stats are counters for tests and demos.
type Stats struct {
	Queries       int64    // GET requests answered, error replies included
	Errors        int64    // error replies sent
	Commands      int64    // COMMAND requests received
	CommandErrors int64    // of these, the ones that failed
	LastCommands  []string // the last few COMMAND lines, oldest first
	ConnsAccepted int64
	ConnsOpen     int
	ConnsServed   int // open connections holding a Capacity slot
}

// Server is a running fake site.
type Server struct {
	opts    Options
	ln      net.Listener
	st      *state
	slots   chan struct{} // nil: unlimited capacity
	spillAt int
	wg      sync.WaitGroup

	mu     sync.Mutex
	conns  map[*conn]struct{}
	resume chan struct{} // non-nil while hung; closed to resume
	closed bool
	stats  Stats
}

type conn struct {
	nc   net.Conn
	done chan struct{}
	once sync.Once
	// naemon: lines read but not yet taken, in front of the next request;
	// pendingDone says they are a whole request (the rest after a COMMAND).
	pending     []string
	pendingDone bool
}

func (c *conn) kill() {
	c.once.Do(func() {
		close(c.done)
		c.nc.Close()
	})
}

// Listen starts a fake site on a "unix" path or a "tcp" host:port. Like
// Icinga it first removes a stale socket file at the path.
func Listen(network, address string, opts Options) (*Server, error) {
	return listen(network, address, opts, defaultSpill)
}

// listen lets tests lower spillAt to exercise the streaming path on small
// sites.
func listen(network, address string, opts Options, spillAt int) (*Server, error) {
	if opts.Hosts == 0 {
		opts.Hosts = 10
	}
	if opts.ServicesPerHost == 0 {
		opts.ServicesPerHost = 10
	}
	if opts.Hosts < 0 || opts.ServicesPerHost < 0 || opts.Capacity < 0 {
		return nil, errors.New("fakesite: negative size or capacity")
	}
	if opts.ProgramStart == 0 {
		opts.ProgramStart = DefaultProgramStart
	}
	switch network {
	case "unix":
		if fi, err := os.Lstat(address); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(address)
		}
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("fakesite: unsupported network %q", network)
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:    opts,
		ln:      ln,
		st:      newState(newDataset(opts.Hosts, opts.ServicesPerHost), opts.ProgramStart),
		spillAt: spillAt,
		conns:   map[*conn]struct{}{},
	}
	if opts.Capacity > 0 {
		s.slots = make(chan struct{}, opts.Capacity)
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Addr is the socket path or host:port the site listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// ProgramStart is the current program_start of the site.
func (s *Server) ProgramStart() int64 { return s.st.getProgramStart() }

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, stay up.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if s.opts.TLS != nil {
			nc = tls.Server(nc, s.opts.TLS)
		}
		c := &conn{nc: nc, done: make(chan struct{})}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.stats.ConnsAccepted++
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

// Close stops listening, closes every connection and waits for them.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	err := s.ln.Close()
	s.dropAll()
	s.wg.Wait()
	return err
}

func (s *Server) dropAll() {
	s.mu.Lock()
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.kill()
	}
}

// Hang stops (on) or resumes (off) answering, like kill -STOP / -CONT:
// connections are still accepted, requests are read but not executed, and
// an answer being streamed stops between chunks.
func (s *Server) Hang(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case on && s.resume == nil:
		s.resume = make(chan struct{})
	case !on && s.resume != nil:
		close(s.resume)
		s.resume = nil
	}
}

// Restart simulates a core restart: every connection is dropped and
// program_start grows by one. Synthetic state and Hang are kept.
func (s *Server) Restart() {
	s.st.restart()
	s.dropAll()
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.LastCommands = append([]string(nil), s.stats.LastCommands...)
	st.ConnsOpen = len(s.conns)
	return st
}

// waitRunning blocks while the site hangs; false if c was dropped.
func (s *Server) waitRunning(c *conn) bool {
	for {
		s.mu.Lock()
		ch := s.resume
		s.mu.Unlock()
		if ch == nil {
			return true
		}
		select {
		case <-ch:
		case <-c.done:
			return false
		}
	}
}

// acquire takes a Capacity slot; false if c was dropped while waiting.
func (s *Server) acquire(c *conn) bool {
	if s.slots == nil {
		s.count(func(st *Stats) { st.ConnsServed++ })
		return true
	}
	select {
	case s.slots <- struct{}{}:
		s.count(func(st *Stats) { st.ConnsServed++ })
		return true
	case <-c.done:
		return false
	}
}

func (s *Server) release() {
	s.count(func(st *Stats) { st.ConnsServed-- })
	if s.slots != nil {
		<-s.slots
	}
}

func (s *Server) forget(c *conn) {
	c.kill()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

func (s *Server) count(f func(st *Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

func (s *Server) noteCommand(line string, failed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Commands++
	if failed {
		s.stats.CommandErrors++
	}
	s.stats.LastCommands = append(s.stats.LastCommands, line)
	if n := len(s.stats.LastCommands); n > lastCommands {
		s.stats.LastCommands = append([]string(nil), s.stats.LastCommands[n-lastCommands:]...)
	}
}
