// Package driver runs one site: it turns socket activity into core Events
// and the core's Actions into socket operations. It holds no policy of its
// own.
//
// Run to completion: the goroutine that sees something happen (the
// poller with a UNIX client's bytes, a reader with a channel's, the accept
// loop of the TCP listener, a dial, the timer) takes the site's lock,
// steps the core and carries out its actions itself: a write is tried at
// once, without blocking, and only what the socket does not take waits for
// a writer goroutine. A query therefore costs a wake-up of the client's
// reader and of the channel's reader, no hand-off between goroutines (the
// driver used to pass each read to a site goroutine and each write to a
// writer, six hand-offs a query).
package driver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"

	"liveproxyd/core"
)

// Dialer opens one channel to the site within ctx.
type Dialer func(ctx context.Context) (net.Conn, error)

// Options configure a Loop.
type Options struct {
	Config   core.Config  // Name names the site in logs
	Dial     Dialer       // opens channels
	Listener net.Listener // the site's client socket; the Loop closes it
	Clock    clock.Clock  // nil means the real clock
	Logger   *slog.Logger // nil means slog.Default()
	// Recover turns a panic in the core or driver into the loop's end
	// (see Panic) instead of a crash of the whole daemon.
	Recover bool
	// Budget is shared by all site loops; nil means no global budget.
	Budget *Budget
}

// maxImmediateTicks bounds Ticks in a row when the core's deadline is
// already due, so a core that never moves its deadline cannot spin us.
const maxImmediateTicks = 8

// Loop is one running site.
type Loop struct {
	opts   Options
	log    *slog.Logger
	clk    clock.Clock
	quit   chan struct{} // closed when the loop has ended
	drain  chan struct{} // closed when the shutdown begins
	done   chan struct{} // closed after cleanup
	ctx    context.Context
	cancel context.CancelFunc
	ending sync.Once

	// mu is the site's lock: whoever holds it may step the core and use
	// everything below. It is never held across a blocking call.
	mu       sync.Mutex
	cfg      core.Config
	site     *core.Site
	clients  map[core.ClientID]*conn
	chans    map[core.ChannelID]*conn
	nextID   core.ClientID
	finished bool       // EvShutdown stepped or the loop ended: no more Steps
	later    []followUp // events the actions of a Step caused (writes done inline)
	borrowed []byte     // the read buffer of the Step in progress (see conn.write)
	timer    *clock.Timer
	armed    time.Time // when timer fires; zero while it is not set
	panicked any
	used     core.MemoryUse // this loop's share of opts.Budget

	// open counts client connections not yet closed, so a shutdown can
	// wait for their answers to be flushed.
	open sync.WaitGroup
	// live holds every connection not yet closed, including closing
	// clients the core has forgotten, so the loop's end can close them.
	liveMu     sync.Mutex
	live       map[*conn]struct{}
	liveClosed bool // closeAll ran: a conn tracked now is closed at once

	// poll serves the clients of the site's UNIX socket (poller.go); nil
	// if that socket could not be served raw.
	poll atomic.Pointer[poller]

	// acceptDelay is the pause after the latest failed accept in a row.
	acceptMu    sync.Mutex
	acceptDelay time.Duration
}

// Start runs the site loop.
func Start(o Options) *Loop {
	if o.Clock == nil {
		o.Clock = clock.New()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Loop{
		opts:    o,
		cfg:     o.Config.WithDefaults(),
		log:     o.Logger.With("site", o.Config.Name),
		clk:     o.Clock,
		quit:    make(chan struct{}),
		drain:   make(chan struct{}),
		done:    make(chan struct{}),
		ctx:     ctx,
		cancel:  cancel,
		clients: make(map[core.ClientID]*conn),
		chans:   make(map[core.ChannelID]*conn),
		live:    make(map[*conn]struct{}),
	}
	l.timer = l.clk.Timer(time.Hour)
	l.site = core.NewSite(l.cfg)
	l.site.SetBuffers(holdBuffers{})
	// The first Tick (enter's, after the empty f) dials the pool. It runs
	// here, before any goroutine that could enter exists, so the core sees
	// nothing before it.
	l.enter(func() {})
	go l.timerLoop()
	l.serveClients()
	return l
}

// Done is closed when the loop has ended and released everything.
func (l *Loop) Done() <-chan struct{} { return l.done }

// Panic returns what the loop panicked with, or nil. Valid after Done.
func (l *Loop) Panic() any { return l.panicked }

// ctlWait bounds how long a control request waits for a busy loop, so a
// stuck site cannot block a reload (and with it the daemon's signals).
const ctlWait = 5 * time.Second

// Reconfigure hands the core new numbers (channels, timeouts). It reports
// false if the loop has ended or did not take the request in time.
func (l *Loop) Reconfigure(cfg core.Config) bool {
	ctx, cancel := context.WithTimeout(context.Background(), ctlWait)
	defer cancel()
	return l.control(ctx, func() {
		l.cfg = cfg.WithDefaults()
		c := l.cfg
		l.step(core.Event{Kind: core.EvReconfigure, Config: &c}, nil)
	})
}

// Snapshot asks the core for its view; ok is false if the loop has ended
// or ctx expired first.
func (l *Loop) Snapshot(ctx context.Context) (core.Snapshot, bool) {
	var s core.Snapshot
	ok := l.control(ctx, func() { s = l.site.Snapshot() })
	return s, ok
}

// control runs f under the lock, giving up when ctx ends first: a core
// stuck in a Step must not stall the supervisor (f then still runs once
// the lock is free, or never).
func (l *Loop) control(ctx context.Context, f func()) bool {
	ran := make(chan bool, 1)
	go func() { ran <- l.enter(f) }()
	select {
	case ok := <-ran:
		return ok
	case <-ctx.Done():
		return false
	}
}

// Stop shuts the site down: no more accepts, the core answers everyone,
// answers are flushed until ctx's deadline (or a second), then everything
// is closed. It returns when the loop has ended.
func (l *Loop) Stop(ctx context.Context) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Second)
	}
	go func() {
		if l.enter(l.shutdown) {
			l.awaitFlush()
		}
		l.finish()
	}()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-l.done:
	case <-t.C:
		// The core is stuck in a Step: cut the sockets anyway and give
		// up on it, so a daemon shutdown still ends in time.
		l.log.Error("site loop did not stop in time; closing its sockets")
		l.closeAll()
	}
}

// enter runs f with the site's lock held, then the events its actions
// caused, and re-arms the timer. It reports false, without running f,
// once the loop has ended. A panic ends the loop when opts.Recover is set.
func (l *Loop) enter(f func()) (ok bool) {
	l.mu.Lock()
	if l.panicked != nil || l.isQuit() {
		l.mu.Unlock()
		return false
	}
	crashed := true
	defer func() {
		l.borrowed, l.later = nil, l.later[:0]
		l.mu.Unlock()
		if crashed {
			l.finish()
		}
	}()
	if l.opts.Recover {
		defer func() {
			if r := recover(); r != nil {
				l.panicked = r
				l.log.Error("site loop crashed", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			}
		}()
	}
	f()
	l.runLater()
	if !l.finished {
		l.tickIfDue()
		l.arm()
	}
	crashed = false
	return true
}

func (l *Loop) isQuit() bool {
	select {
	case <-l.quit:
		return true
	default:
		return false
	}
}

// finish ends the loop once: every socket closed, the budget share given
// back. Called without the lock.
func (l *Loop) finish() {
	l.ending.Do(func() {
		l.cancel()
		close(l.quit)
		l.closeAll()
		l.mu.Lock()
		l.finished = true
		l.account(core.MemoryUse{})
		l.timer.Stop()
		l.mu.Unlock()
		close(l.done)
	})
}

// step feeds one event to the core and carries out its actions in order.
// data is the read buffer behind ev.Data, if any: the core only borrows it
// for the Step, and an action's Data may point into it (conn.write).
func (l *Loop) step(ev core.Event, data []byte) {
	if l.finished {
		return
	}
	ev.Now = l.clk.Now()
	ev.Budget = l.opts.Budget.room()
	l.borrowed = data
	for _, a := range l.site.Step(ev) {
		l.do(a)
	}
	l.borrowed = nil
	l.account(l.site.Memory())
	if ev.Kind == core.EvShutdown {
		l.finished = true
	}
}

// shutdown stops accepting and lets the core answer everyone. Runs under
// the lock; the caller then waits for the answers to be flushed.
func (l *Loop) shutdown() {
	close(l.drain)
	l.opts.Listener.Close()
	l.step(core.Event{Kind: core.EvShutdown}, nil)
	l.runLater()
	l.liveMu.Lock()
	for c := range l.live {
		if c.lingering.Load() {
			defer c.kill() // once liveMu is released: kill takes it
		}
	}
	l.liveMu.Unlock()
}

// awaitFlush waits (at most a second) for every client's answer to be
// written and its connection closed.
func (l *Loop) awaitFlush() {
	flushed := make(chan struct{})
	go func() {
		l.open.Wait()
		close(flushed)
	}()
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-flushed:
	case <-t.C:
	}
}

func (l *Loop) track(c *conn) {
	l.liveMu.Lock()
	closed := l.liveClosed
	if !closed {
		l.live[c] = struct{}{}
	}
	l.liveMu.Unlock()
	if closed { // closeAll took its list already: nobody else would close c
		c.forgotten.Store(true)
		c.kill()
	}
}

func (l *Loop) untrack(c *conn) {
	l.liveMu.Lock()
	delete(l.live, c)
	l.liveMu.Unlock()
}

// closeAll closes the listener and every connection, and cancels dials.
func (l *Loop) closeAll() {
	l.opts.Listener.Close()
	if p := l.poll.Load(); p != nil {
		p.close()
	}
	l.cancel()
	l.liveMu.Lock()
	l.liveClosed = true
	all := make([]*conn, 0, len(l.live))
	for c := range l.live {
		all = append(all, c)
	}
	l.liveMu.Unlock()
	for _, c := range all {
		c.forgotten.Store(true)
		c.kill()
	}
}
