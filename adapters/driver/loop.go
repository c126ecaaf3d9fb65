// Package driver runs one site: a single goroutine owns the site's
// *core.Site and turns socket activity into core Events and the core's
// Actions into socket operations. It holds no policy of its own.
package driver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
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
	// Recover turns a panic in the site loop into the loop's end (see
	// Panic) instead of a crash of the whole daemon.
	Recover bool
	// Budget is shared by all site loops; nil means no global budget.
	Budget *Budget
}

// inboxSize buffers messages from connection goroutines; when it is full
// they wait, which is the natural backpressure on readers.
const inboxSize = 256

// maxImmediateTicks bounds Ticks in a row when the core's deadline is
// already due, so a core that never moves its deadline cannot spin us.
const maxImmediateTicks = 8

// Loop is one running site.
type Loop struct {
	opts    Options
	cfg     core.Config
	log     *slog.Logger
	clk     clock.Clock
	inbox   chan msg
	ctl     chan ctl
	quit    chan struct{} // closed when the loop has ended
	drain   chan struct{} // closed when the shutdown begins
	done    chan struct{} // closed after cleanup
	ctx     context.Context
	cancel  context.CancelFunc
	site    *core.Site
	clients map[core.ClientID]*conn
	chans   map[core.ChannelID]*conn
	nextID  core.ClientID
	// open counts client connections not yet closed, so a shutdown can
	// wait for their answers to be flushed.
	open sync.WaitGroup
	// live holds every connection not yet closed, including closing
	// clients the core has forgotten, so the loop's end can close them.
	liveMu   sync.Mutex
	live     map[*conn]struct{}
	panicked any
	used     core.MemoryUse // this loop's share of opts.Budget
}

// Start runs the site loop in a new goroutine.
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
		inbox:   make(chan msg, inboxSize),
		ctl:     make(chan ctl),
		quit:    make(chan struct{}),
		drain:   make(chan struct{}),
		done:    make(chan struct{}),
		ctx:     ctx,
		cancel:  cancel,
		clients: make(map[core.ClientID]*conn),
		chans:   make(map[core.ChannelID]*conn),
		live:    make(map[*conn]struct{}),
	}
	go l.run()
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
	t := time.NewTimer(ctlWait)
	defer t.Stop()
	select {
	case l.ctl <- ctl{kind: ctlReconfigure, config: cfg}:
		return true
	case <-l.quit:
	case <-t.C:
	}
	return false
}

// Snapshot asks the loop for the core's view; ok is false if the loop has
// ended or ctx expired first.
func (l *Loop) Snapshot(ctx context.Context) (core.Snapshot, bool) {
	reply := make(chan core.Snapshot, 1)
	select {
	case l.ctl <- ctl{kind: ctlSnapshot, snap: reply}:
	case <-l.quit:
		return core.Snapshot{}, false
	case <-ctx.Done():
		return core.Snapshot{}, false
	}
	select {
	case s := <-reply:
		return s, true
	case <-ctx.Done():
		return core.Snapshot{}, false
	}
}

// Stop shuts the site down: no more accepts, the core answers everyone,
// answers are flushed until ctx's deadline (or a second), then everything
// is closed. It returns when the loop has ended.
func (l *Loop) Stop(ctx context.Context) {
	select {
	case l.ctl <- ctl{kind: ctlStop}:
	case <-l.quit:
	case <-ctx.Done():
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Second)
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-l.done:
	case <-t.C:
		// The loop is stuck (in the core?): cut its sockets anyway and
		// give up on it, so a daemon shutdown still ends in time.
		l.log.Error("site loop did not stop in time; closing its sockets")
		l.closeAll()
	}
}

// send implements sink.
func (l *Loop) send(m msg) bool {
	select {
	case l.inbox <- m:
		return true
	case <-l.quit:
		return false
	}
}

func (l *Loop) quitting() <-chan struct{} { return l.quit }

func (l *Loop) draining() <-chan struct{} { return l.drain }

func (l *Loop) run() {
	defer close(l.done)
	defer l.account(core.MemoryUse{}) // a loop that ended holds nothing
	defer l.closeAll()
	defer close(l.quit)
	defer l.cancel()
	if l.opts.Recover {
		defer func() {
			if r := recover(); r != nil {
				l.panicked = r
				l.log.Error("site loop crashed", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			}
		}()
	}
	l.site = core.NewSite(l.cfg)
	go l.acceptLoop()
	timer := l.clk.Timer(time.Hour)
	defer timer.Stop()
	for {
		l.tickIfDue()
		timer.Reset(l.untilDeadline())
		select {
		case m := <-l.inbox:
			l.handle(m)
		case <-timer.C:
		case c := <-l.ctl:
			switch c.kind {
			case ctlReconfigure:
				l.cfg = c.config.WithDefaults()
				cfg := l.cfg
				l.step(core.Event{Kind: core.EvReconfigure, Config: &cfg})
			case ctlSnapshot:
				c.snap <- l.site.Snapshot()
			case ctlStop:
				l.shutdown()
				return
			}
		}
	}
}

// tickIfDue steps Ticks while the core's deadline has passed.
func (l *Loop) tickIfDue() {
	for i := 0; i < maxImmediateTicks; i++ {
		d, ok := l.site.NextDeadline()
		if !ok || d.After(l.clk.Now()) {
			return
		}
		l.step(core.Event{Kind: core.EvTick})
	}
}

// idleTick is the Tick interval when the core has nothing scheduled; extra
// ticks are harmless and guard against a deadline the driver misread.
const idleTick = time.Second

func (l *Loop) untilDeadline() time.Duration {
	next, ok := l.site.NextDeadline()
	if !ok {
		return idleTick
	}
	d := next.Sub(l.clk.Now())
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return d
}

// step feeds one event to the core and carries out its actions in order.
func (l *Loop) step(ev core.Event) {
	ev.Now = l.clk.Now()
	ev.Budget = l.opts.Budget.room()
	for _, a := range l.site.Step(ev) {
		l.do(a)
	}
	l.account(l.site.Memory())
}

// shutdown stops accepting, lets the core answer everyone, and waits for
// the answers to be flushed (bounded), while still draining the inbox so
// writers never block on it.
func (l *Loop) shutdown() {
	close(l.drain)
	l.opts.Listener.Close()
	l.step(core.Event{Kind: core.EvShutdown})
	flushed := make(chan struct{})
	go func() {
		l.open.Wait()
		close(flushed)
	}()
	t := time.NewTimer(time.Second)
	defer t.Stop()
	for {
		select {
		case <-flushed:
			return
		case <-t.C:
			return
		case m := <-l.inbox:
			if m.conn != nil {
				m.conn.Close()
			}
		}
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

// acceptLoop hands new clients to the loop until the listener is closed.
func (l *Loop) acceptLoop() {
	var delay time.Duration
	for {
		nc, err := l.opts.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = nextAcceptDelay(delay)
			l.log.Warn("accept failed", "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
				continue
			case <-l.quit:
				return
			}
		}
		delay = 0
		if !l.send(msg{kind: msgAccept, conn: nc}) {
			nc.Close()
			return
		}
	}
}

func (l *Loop) track(c *conn) {
	l.liveMu.Lock()
	l.live[c] = struct{}{}
	l.liveMu.Unlock()
}

func (l *Loop) untrack(c *conn) {
	l.liveMu.Lock()
	delete(l.live, c)
	l.liveMu.Unlock()
}

// closeAll closes the listener and every connection, and cancels dials.
func (l *Loop) closeAll() {
	l.opts.Listener.Close()
	l.cancel()
	l.liveMu.Lock()
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
