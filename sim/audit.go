package sim

import (
	"fmt"
	"strings"
	"time"

	"liveproxyd/core"
)

// World-level invariants. The core's own CheckInvariants runs after every
// step in siteSim.step; these compare the core's view with the world's.

// checkSnapshot runs after every step: the core's picture of channels and
// clients must match what the driver has open, and a program_start it
// reports must be one the site really served (a query's bytes taken as a
// heartbeat answer would show up here).
func (s *siteSim) checkSnapshot() {
	w := s.w
	snap := s.core.Snapshot()
	s.checkStats(s.snap.Stats, snap.Stats)
	if s.checkDeathCounted(s.snap, snap); w.err != nil {
		return
	}
	if snap.State != s.snap.State {
		s.states = append(s.states, stateChange{at: w.now, state: snap.State})
		if snap.State == core.SiteDead && s.snap.State == core.SiteAlive && !s.silenceFair(snap.LastError) {
			w.fail(invNoFalseDeath, "site %s: declared dead though the site answers (%s); no hang, restart or slow heartbeat since +%v; queries at the site:%s",
				s.name, snap.LastError, s.episodeEndAt, s.atSite())
			return
		}
	}
	s.snap = snap
	if snap.HeartbeatTimeout > s.hbTimeoutMax {
		s.hbTimeoutMax = snap.HeartbeatTimeout
	}
	if ps := snap.ProgramStart; ps != 0 && !s.srv.knownStart(ps) {
		w.fail(invProgramStartReal, "site %s: core reports program_start %d, the site never had it", s.name, ps)
		return
	}
	if len(snap.Channels) != s.chansOpen {
		w.fail(invChannelsMatch, "site %s: core lists %d channels, the driver has %d open", s.name, len(snap.Channels), s.chansOpen)
		return
	}
	// After a shrink, busy channels may stay until they are free, but no
	// more channels than ever configured, nor more free ones than now, and
	// no pool channel dialled beyond the configured count; on top of the
	// pool at most one extra heartbeat probe, which only connects and
	// probes.
	free, pool, probes, connecting := 0, 0, 0, 0
	for _, ch := range snap.Channels {
		switch {
		case ch.Probe:
			probes++
			if ch.State != core.ChanConnecting && ch.State != core.ChanProbing {
				w.fail(invProbeOnlyProbes, "site %s: extra probe channel %d is %s", s.name, ch.ID, ch.State)
				return
			}
			continue
		case ch.State == core.ChanFree:
			free++
		case ch.State == core.ChanConnecting:
			connecting++
		}
		pool++
	}
	if pool > s.channelsMax || probes > 1 {
		w.fail(invChannelsPoolMax, "site %s: %d pool channels and %d probes, at most %d channels ever configured", s.name, pool, probes, s.channelsMax)
		return
	}
	if connecting > 0 && pool > s.cfg.Channels {
		w.fail(invChannelsPoolMax, "site %s: dialled a pool channel with %d channels open, configured %d", s.name, pool, s.cfg.Channels)
		return
	}
	if free > s.cfg.Channels {
		w.fail(invChannelsFreeMax, "site %s: %d free channels, configured %d", s.name, free, s.cfg.Channels)
		return
	}
	for _, ch := range snap.Channels {
		c := s.chans[ch.ID]
		if c == nil || c.closed {
			w.fail(invChannelsMatch, "site %s: core lists channel %d that is not open", s.name, ch.ID)
			return
		}
		if ch.Client != 0 {
			if cl := s.cls[ch.Client]; cl == nil || cl.coreClosed || cl.goneSent {
				w.fail(invClientsMatch, "site %s: channel %d busy for client %d that is not open", s.name, ch.ID, ch.Client)
				return
			}
		}
	}
	if n := snap.ClientsReading + snap.ClientsWaiting + snap.ClientsInFlight; n != s.clientsOpen {
		w.fail(invClientsMatch, "site %s: core knows %d clients, the driver has %d open", s.name, n, s.clientsOpen)
	}
}

// silenceFair (invariant no-false-death): a live site may be declared
// dead for silence (a heartbeat, an extra probe or every busy channel
// unanswered) only during a site-wide fault or soon after it (answers
// queued during a hang come late). Paused channels and long-polls are
// silent by the core's choice or by contract, never the site's fault.
func (s *siteSim) silenceFair(cause string) bool {
	silence := strings.Contains(cause, "heartbeat") || strings.Contains(cause, "no answer on any channel")
	if !silence {
		return true // connects refused, invalid answers: judged elsewhere
	}
	srv := s.srv
	return srv.hung || srv.down || srv.slowHB || s.w.now-s.episodeEndAt <= s.recoveryBound() ||
		s.queryLooksHung(s.snap.HeartbeatTimeout)
}

// atSite lists the queries the site is working on, for a failure message.
func (s *siteSim) atSite() string {
	var b strings.Builder
	for _, c := range s.active {
		for _, q := range c.script[:c.sent] {
			if !q.done && q.siteSeen > 0 {
				fmt.Fprintf(&b, " [%s at +%v delay %v wait %v done +%v]", q.id, q.siteAt, q.delay, q.wait, q.siteDoneAt)
			}
		}
	}
	return b.String()
}

// queryLooksHung: a query (not a long-poll) at the site takes the
// heartbeat timeout or longer, or got an answer with a garbage header that
// the core still waits to complete. With every channel busy and no room
// for the core's extra probe (Icinga's pool), that silence cannot be told
// from a hang: the core may call the site dead (core/liveness.go).
func (s *siteSim) queryLooksHung(hbTimeout time.Duration) bool {
	for _, c := range s.active {
		for _, q := range c.script[:c.sent] {
			if q.done || q.siteSeen == 0 {
				continue
			}
			if q.garbage || q.wait == 0 && q.delay >= hbTimeout-100*time.Millisecond {
				return true
			}
		}
	}
	return false
}

// stateChange is one change of the core's site state.
type stateChange struct {
	at    time.Duration
	state core.SiteState
}

func down(st core.SiteState) bool { return st == core.SiteDead || st == core.SiteStopped }

// diedSince: the core declared the site dead (or stopped) at or after t, so
// an answer in flight then may be cut short or replaced by a 502.
func (s *siteSim) diedSince(t time.Duration) bool {
	for i := len(s.states) - 1; i >= 0 && s.states[i].at >= t; i-- {
		if down(s.states[i].state) {
			return true
		}
	}
	return false
}

// downAt: the core held the site dead (or stopped) at time t.
func (s *siteSim) downAt(t time.Duration) bool {
	for i := len(s.states) - 1; i >= 0; i-- {
		if s.states[i].at <= t {
			return down(s.states[i].state)
		}
	}
	return false
}

// answerBound: no query may wait longer than this for its next byte:
// a channel wait, a query timeout, a heartbeat interval and timeout, a
// connect, and slack.
func (s *siteSim) answerBound() time.Duration {
	c := s.cfgMax
	return c.ChannelTimeout + c.QueryTimeout + c.HeartbeatInterval + s.hbTimeoutMax + c.ConnectTimeout + 5*time.Second
}

// audit runs every simulated second: no client waits too long for an
// answer, or for the close that must follow its last one.
func (s *siteSim) audit() {
	w := s.w
	if w.err != nil || s.stopped {
		return
	}
	bound := s.answerBound()
	live := s.active[:0]
	for _, c := range s.active {
		if c.aborted || c.closedSeen {
			continue
		}
		live = append(live, c)
		if q := c.pending(); q != nil {
			since := max(q.sentAt, q.progressAt, c.lastAnswer())
			if w.now-since > bound {
				w.fail(invAnswerWaitMax, "client %d (%s) query %s: no answer for %v (bound %v; site got it %d times, site state %s)",
					c.id, c.label, q.id, w.now-since, bound, q.siteSeen, s.snap.State)
				return
			}
		} else if c.allDoneAt != 0 && w.now-c.allDoneAt > bound {
			w.fail(invCloseWaitMax, "client %d (%s): all answered at +%v, still not closed after %v", c.id, c.label, c.allDoneAt, w.now-c.allDoneAt)
			return
		}
	}
	clear(s.active[len(live):])
	s.active = live
	w.after(time.Second, s.audit)
}

// lastAnswer is when the client's latest answered query finished; a
// pipelined query waits for those before it.
func (c *client) lastAnswer() time.Duration {
	var t time.Duration
	for _, q := range c.script[:c.cur] {
		t = max(t, q.progressAt)
	}
	return t
}

// finalCheck runs after shutdown and drain: every client was closed and
// every query answered, or mooted by its client's end.
func (w *World) finalCheck() {
	for _, c := range w.clients {
		if w.err != nil {
			return
		}
		if !c.aborted && !c.closedSeen {
			w.fail(invDrainComplete, "client %d (%s) of site %s never closed", c.id, c.label, c.s.name)
			return
		}
		for _, q := range c.script {
			if !q.done {
				w.fail(invDrainComplete, "query %s never answered", q.id)
				return
			}
		}
	}
}
