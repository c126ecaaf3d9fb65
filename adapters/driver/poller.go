package driver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// poller serves a site's UNIX-socket clients from one goroutine on an
// epoll set of its own: it accepts them, reads their queries and writes
// what did not go out inline, all with raw system calls on sockets it
// owns (rawsys.go). Go's poller waits only for the epoll set itself.
//
// Why: a client connection of Go's net package costs, per query, calls
// that tell the scheduler a system call begins (accept4, getsockname,
// close); each wakes the runtime's monitor thread from its sleep, and at
// one P that thread's wake-ups were a quarter of the daemon's CPU. Here
// the whole life of a client is raw calls, so the monitor sleeps on.
// Channels keep their reader goroutines (long-lived, and TLS needs Go's
// crypto/tls), and so do clients of the TCP listener.
//
// Every event is stepped like a reader goroutine's (Loop.enter), so the
// site's lock still orders everything. A client's socket is closed only
// under its fdMu, which every read and write of it holds, so no call ever
// reaches a descriptor number the kernel has given to another socket.
type poller struct {
	l    *Loop
	ep   *os.File        // the epoll set, registered with Go's poller
	raw  syscall.RawConn // ep's, to wait for events
	ln   syscall.RawConn // the listener's: accept4 runs under its Control
	lnfd int
	evs  [64]unix.EpollEvent
	n    int // events of the last wait
	// delay is the accept back-off after the latest failure in a row,
	// serial the latest client's number (the poller's goroutine alone
	// uses them).
	delay  time.Duration
	serial uint32

	mu    sync.Mutex
	conns map[int32]*conn // by descriptor
}

// startPoller takes ln's clients over; false: ln cannot be served raw.
func (l *Loop) startPoller(ln *net.UnixListener) (*poller, error) {
	lraw, err := ln.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	p := &poller{l: l, ep: os.NewFile(uintptr(fd), "epoll"), ln: lraw, lnfd: -1, conns: make(map[int32]*conn)}
	if p.raw, err = p.ep.SyscallConn(); err != nil {
		p.ep.Close()
		return nil, err
	}
	var cerr error
	if err := lraw.Control(func(lfd uintptr) {
		p.lnfd = int(lfd)
		cerr = p.ctl(unix.EPOLL_CTL_ADD, p.lnfd, 0, unix.EPOLLIN)
	}); err != nil || cerr != nil {
		p.ep.Close()
		return nil, errors.Join(err, cerr)
	}
	go p.run()
	return p, nil
}

// ctl changes the set; under a reference of the set's file, so that a
// closed set's number is never used. serial tells the conn of fd's events
// from an earlier socket's of the same number (run).
func (p *poller) ctl(op, fd int, serial, events uint32) error {
	var err error
	if cerr := p.raw.Control(func(ep uintptr) { err = epollCtlNow(int(ep), op, fd, serial, events) }); cerr != nil {
		return cerr
	}
	return err
}

// close ends the poller; its clients are closed by the loop (closeAll).
func (p *poller) close() { p.ep.Close() }

// run waits for events and hands them out until the epoll set is closed.
func (p *poller) run() {
	for {
		if err := p.raw.Read(p.wait); err != nil {
			return
		}
		for _, ev := range p.evs[:p.n] {
			if int(ev.Fd) == p.lnfd {
				p.accept()
				continue
			}
			p.mu.Lock()
			c := p.conns[ev.Fd]
			p.mu.Unlock()
			if c == nil || c.serial != uint32(ev.Pad) {
				// Closed since, maybe with its number already reused by a
				// client accepted in this batch: not that client's event.
				continue
			}
			if ev.Events&unix.EPOLLOUT != 0 {
				c.flush(p.l)
			}
			if ev.Events&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				if !c.readOnce(p.l) && ev.Events&(unix.EPOLLHUP|unix.EPOLLERR) != 0 {
					c.hungUp(p.l)
				}
			}
		}
	}
}

// wait is the raw wait of run: false asks Go's poller to wait until the
// epoll set has events.
func (p *poller) wait(fd uintptr) bool {
	n, err := epollWaitNow(int(fd), p.evs[:])
	if err != nil || n <= 0 {
		p.n = 0
		return false
	}
	p.n = n
	return true
}

// accept takes one waiting client (level-triggered: another is reported
// again). A failure other than a vanished client pauses accepting with
// the loop's back-off (out of descriptors, say).
func (p *poller) accept() {
	var nfd int
	var aerr error
	// Control, not Read: a listener's RawConn has no Read. It holds a
	// reference all the same, so a closed listener's number is not used.
	if err := p.ln.Control(func(lfd uintptr) { nfd, aerr = accept4Now(int(lfd)) }); err != nil {
		p.lnfd = -1 // the listener is closed (the loop is ending); so is its registration
		return
	}
	switch {
	case aerr == nil:
		p.delay = 0
	case aerr == unix.EAGAIN || aerr == unix.ECONNABORTED || aerr == unix.EINTR:
		return
	default:
		p.pauseAccept(aerr)
		return
	}
	c := newFDConn(p, nfd)
	p.serial++
	if p.serial == 0 {
		p.serial = 1 // 0 is the listener's
	}
	c.serial = p.serial
	p.mu.Lock()
	p.conns[int32(nfd)] = c
	p.mu.Unlock()
	if err := p.ctl(unix.EPOLL_CTL_ADD, nfd, c.serial, unix.EPOLLIN); err != nil {
		p.forget(c)
		c.closeFD()
		return
	}
	if !p.l.enter(func() { p.l.acceptConn(c) }) {
		c.kill()
		return
	}
	c.readOnce(p.l) // the query is usually there already
}

// pauseAccept takes the listener out of the set for the loop's back-off.
func (p *poller) pauseAccept(err error) {
	p.delay = nextAcceptDelay(p.delay)
	p.l.log.Warn("accept failed", "err", err, "retry_in", p.delay)
	_ = p.ctl(unix.EPOLL_CTL_DEL, p.lnfd, 0, 0)
	time.AfterFunc(p.delay, func() {
		_ = p.ln.Control(func(uintptr) { _ = p.ctl(unix.EPOLL_CTL_ADD, p.lnfd, 0, unix.EPOLLIN) })
	})
}

func (p *poller) forget(c *conn) {
	p.mu.Lock()
	if p.conns[int32(c.fd)] == c {
		delete(p.conns, int32(c.fd))
	}
	p.mu.Unlock()
}

// setEvents changes what the set reports for c; none: c leaves the set.
// Called with c.fdMu held.
func (p *poller) setEvents(c *conn, events uint32) error {
	if c.fd < 0 || c.events == events {
		return nil
	}
	op := unix.EPOLL_CTL_MOD
	if events == 0 {
		op = unix.EPOLL_CTL_DEL
	}
	if c.events == 0 {
		op = unix.EPOLL_CTL_ADD
	}
	err := p.ctl(op, c.fd, c.serial, events)
	if err == nil {
		c.events = events
	}
	return err
}
