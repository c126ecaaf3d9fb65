package sim

import (
	"fmt"
	"time"

	"liveproxyd/core"
)

// chanConn is the driver's side of one channel.
type chanConn struct {
	s         *siteSim
	id        core.ChannelID
	up, down  *pipe // proxy → server, server → proxy
	srv       *srvConn
	connected bool // EvChannelConnected given
	closed    bool // closed as far as the core knows
	paused    bool
	draining  bool
	held      [][]byte // read while paused: delivered on resume
	heldClose bool
	heldErr   string
	got       int      // bytes delivered to the core
	hbs       []hbMark // heartbeat answers written by the server, not yet delivered
}

// step hands one event to the core, carries out its actions and checks
// every invariant. Actions only schedule world events, so step never
// re-enters itself.
func (s *siteSim) step(ev core.Event) {
	w := s.w
	if w.err != nil {
		return
	}
	if s.inStep {
		w.fail(invStepNotReentered, "site %s: driver re-entered Step", s.name)
		return
	}
	if w.now != s.instant {
		s.instant, s.stepsAtInstant = w.now, 0
	}
	if s.stepsAtInstant++; s.stepsAtInstant > 100_000 {
		w.fail(invNoLivelock, "site %s: %d steps at one instant: livelock; next deadline %v; %s", s.name, s.stepsAtInstant, nextDeadline(s.core).Sub(epoch), s.describe())
		return
	}
	ev.Now = w.t()
	ev.Budget = w.room()
	if ev.Kind == core.EvChannelClosed {
		s.noteClosedEvent(ev.Channel)
	}
	w.traceEvent(s, &ev)
	s.inStep = true
	acts := s.core.Step(ev)
	s.inStep = false
	w.res.Steps++
	for i := range acts {
		w.traceAction(s, &acts[i])
		s.apply(&acts[i])
	}
	// After the actions are carried out, so that the world's own checks,
	// which know more (what a client is owed), name a fault they see too.
	if err := s.contract.Check(ev, acts, s.core); err != nil {
		w.fail(invDriverContract, "site %s: driver contract: %v", s.name, err)
		return
	}
	if s.check != nil {
		if err := s.check.CheckInvariants(); err != nil {
			w.fail(invCoreInvariants, "site %s: core invariant: %v", s.name, err)
			return
		}
	}
	s.checkSnapshot()
	w.checkBudget()
	s.scheduleTick()
}

// scheduleTick asks for a Tick at NextDeadline, at once if it has passed
// (a new site's first one always has).
func (s *siteSim) scheduleTick() {
	if s.stopped {
		return
	}
	d, ok := s.core.NextDeadline()
	if !ok {
		return
	}
	at := max(d.Sub(epoch), s.w.now)
	if s.tickSet && s.tickAt <= at {
		return // an earlier tick is due; it will ask again
	}
	s.tickGen++
	gen := s.tickGen
	s.tickSet, s.tickAt = true, at
	s.w.at(at, func() {
		if gen != s.tickGen || s.stopped {
			return
		}
		s.tickSet = false
		s.step(core.Event{Kind: core.EvTick})
	})
}

func (s *siteSim) apply(a *core.Action) {
	switch a.Kind {
	case core.ActDial:
		s.seen.dials++
		s.dial(a.Channel)
	case core.ActWriteChannel:
		s.noteWrite(a.Data)
		s.writeChannel(a.Channel, a.Data)
	case core.ActCloseChannel:
		s.closeChannel(a.Channel)
	case core.ActPauseChannel, core.ActResumeChannel:
		c := s.chans[a.Channel]
		if c == nil {
			s.w.fail(invChannelKnown, "site %s: pause/resume of unknown channel %d", s.name, a.Channel)
			return
		}
		c.paused = a.Kind == core.ActPauseChannel
		if c.paused {
			s.w.res.Pauses++
		} else {
			c.drain()
		}
	case core.ActWriteClient:
		s.writeClient(a.Client, a.Data)
	case core.ActCloseClient:
		s.closeClient(a.Client)
	case core.ActLog:
	default:
		s.w.fail(invActionKnown, "site %s: unknown action kind %d", s.name, a.Kind)
	}
}

func (s *siteSim) dial(id core.ChannelID) {
	w := s.w
	// core.Contract checks that IDs count up from 1 and stop at shutdown.
	// One dial beyond the pool is the core's extra heartbeat probe while
	// every channel is busy (surplus busy ones too, after a shrink);
	// checkSnapshot checks that it is one and that the pool keeps within
	// the configured count.
	if s.chansOpen >= s.channelsMax+1 {
		w.fail(invChannelsPoolMax, "site %s: dial of channel %d with %d channels open, at most %d ever configured", s.name, id, s.chansOpen, s.channelsMax)
		return
	}
	s.chanIDLast = id
	c := &chanConn{s: s, id: id}
	s.chans[id] = c
	s.chansOpen++
	base := w.between(200*time.Microsecond, 30*time.Millisecond)
	c.up = newPipe(w, base, base/5, func(b []byte) {
		if c.srv != nil {
			c.srv.onData(b)
		}
	})
	c.down = newPipe(w, base, base/5, c.arrive)
	if w.strikes(FaultOneByte) {
		w.fired(s, FaultOneByte, uint64(id))
		c.up.oneByte, c.down.oneByte = true, true
	}
	// Connect faults are held back while the world waits for the site to
	// recover, so that the recovery bound stays exact.
	calm := s.watching()
	switch {
	case !calm && w.strikes(FaultConnectRefused):
		w.fired(s, FaultConnectRefused, uint64(id))
		w.after(base, func() { c.arriveClose("connect: connection refused") })
	case !calm && w.strikes(FaultConnectHang):
		w.fired(s, FaultConnectHang, uint64(id)) // the core's connect timeout must end it
	default:
		w.after(base, c.connect)
	}
}

func (c *chanConn) connect() {
	s := c.s
	if c.closed {
		return
	}
	if s.srv.down {
		c.arriveClose("connect: connection refused")
		return
	}
	c.srv = s.srv.accept(c)
	c.connected = true
	s.step(core.Event{Kind: core.EvChannelConnected, Channel: c.id})
}

func (s *siteSim) writeChannel(id core.ChannelID, data []byte) {
	c := s.chans[id]
	switch {
	case c == nil:
		s.w.fail(invChannelKnown, "site %s: write to unknown channel %d", s.name, id)
	case c.closed:
		s.w.fail(invChannelWriteOpen, "site %s: write to closed channel %d", s.name, id)
	case !c.connected:
		s.w.fail(invChannelWriteOpen, "site %s: write to channel %d before it connected", s.name, id)
	default:
		c.up.write(data)
	}
}

func (s *siteSim) closeChannel(id core.ChannelID) {
	c := s.chans[id]
	switch {
	case c == nil:
		s.w.fail(invChannelKnown, "site %s: close of unknown channel %d", s.name, id)
		return
	case c.closed:
		s.w.fail(invChannelCloseOnce, "site %s: close of channel %d that is already closed", s.name, id)
		return
	}
	c.closed = true
	s.chansOpen--
	c.held, c.heldClose = nil, false
	c.up.close(func() {
		if c.srv != nil {
			c.srv.peerClosed()
		}
	})
}

// arrive: bytes from the server reach the proxy's socket.
func (c *chanConn) arrive(b []byte) {
	if c.closed {
		return
	}
	if c.paused || c.draining || len(c.held) > 0 {
		c.held = append(c.held, b)
		return
	}
	c.deliver(b)
}

// deliver hands bytes read from the channel to the core.
func (c *chanConn) deliver(b []byte) {
	s := c.s
	s.rxLastAt = s.w.now
	c.got += len(b)
	for len(c.hbs) > 0 && c.hbs[0].end <= c.got {
		if ps := c.hbs[0].ps; ps > s.hbPS {
			s.hbPS, s.hbAt = ps, s.w.now
		}
		c.hbs = c.hbs[1:]
	}
	s.step(core.Event{Kind: core.EvChannelData, Channel: c.id, Data: b})
}

// arriveClose: the connection ended (refused, EOF, reset). A paused
// reader sees it only after the bytes before it.
func (c *chanConn) arriveClose(why string) {
	if c.closed {
		return
	}
	if c.paused || c.draining || len(c.held) > 0 {
		c.heldClose, c.heldErr = true, why
		return
	}
	c.closed = true
	c.s.chansOpen--
	if c.connected {
		c.s.cutSeenAt = c.s.w.now
	}
	c.s.step(core.Event{Kind: core.EvChannelClosed, Channel: c.id, Err: why})
}

// drain delivers what was held while paused, one read per world event, so
// that the core can pause again in between.
func (c *chanConn) drain() {
	if c.draining || c.closed || (len(c.held) == 0 && !c.heldClose) {
		return
	}
	c.draining = true
	c.s.w.after(0, func() {
		c.draining = false
		if c.closed || c.paused {
			return
		}
		if len(c.held) > 0 {
			b := c.held[0]
			c.held = c.held[1:]
			c.deliver(b)
		} else if c.heldClose {
			c.heldClose = false
			c.arriveClose(c.heldErr)
			return
		}
		c.drain()
	})
}

// describe summarises the core's view for failure messages.
func (s *siteSim) describe() string {
	snap := s.core.Snapshot()
	out := fmt.Sprintf("core: %s since +%v, target %d, hb timeout %v, clients reading/waiting/in-flight %d/%d/%d, channels:",
		snap.State, snap.Since.Sub(epoch), snap.Target, snap.HeartbeatTimeout, snap.ClientsReading, snap.ClientsWaiting, snap.ClientsInFlight)
	for _, ch := range snap.Channels {
		paused := ""
		if c := s.chans[ch.ID]; c != nil && c.paused {
			paused = " paused"
		}
		out += fmt.Sprintf(" [%d %s since +%v client %d%s]", ch.ID, ch.State, ch.Since.Sub(epoch), ch.Client, paused)
	}
	return out
}

// shutdown stops the site; every client must be answered and closed and
// every channel closed by the core in that one step.
func (s *siteSim) shutdown() {
	s.stopped = true
	s.step(core.Event{Kind: core.EvShutdown})
	if s.chansOpen != 0 || s.clientsOpen != 0 {
		s.w.fail(invShutdownComplete, "site %s: after shutdown %d channels and %d clients are still open", s.name, s.chansOpen, s.clientsOpen)
	}
}

// nextDeadline is the core's next deadline for messages; the zero time when
// nothing is scheduled.
func nextDeadline(c Core) time.Time {
	d, _ := c.NextDeadline()
	return d
}
