package core

import (
	"fmt"
	"time"

	"liveproxyd/livestatus"
)

// advance runs after every event: it expires deadlines, keeps the pool at
// its target, sends the periodic heartbeat and hands free channels to
// waiting clients, in that order (a due heartbeat goes before clients, so
// a busy site is still probed).
func (s *Site) advance() {
	s.expireChannels()
	if s.state == SiteStopped {
		return
	}
	s.expireWaiting()
	s.expireQueries()
	s.detectStall()
	s.maintainPool()
	s.heartbeat()
	s.land()
	s.dispatch()
}

// anyChannelDue spares every step's copy of the channel list (thousands of
// channels at scale) when, as on most steps, no deadline has passed.
func (s *Site) anyChannelDue() bool {
	for _, ch := range s.channels {
		if !ch.deadline.IsZero() && !s.now.Before(ch.deadline) {
			return true
		}
	}
	return false
}

func (s *Site) expireChannels() {
	if !s.anyChannelDue() {
		return
	}
	// Iterate over a copy: expiring may close channels or kill the site.
	for _, ch := range append([]*channel(nil), s.channels...) {
		if s.channel(ch.id) != ch || ch.deadline.IsZero() || s.now.Before(ch.deadline) {
			continue
		}
		if ch.extra {
			s.probeExpired(ch)
			continue
		}
		switch ch.state {
		case ChanConnecting:
			s.closeChannel(ch)
			s.connectFailed("connect timeout after " + s.cfg.ConnectTimeout.String())
		case ChanProbing, ChanHeartbeat:
			s.heartbeatLost(ch)
		case ChanBusy:
			if ch.paused {
				// The client, not the site, stopped for QueryTimeout: it
				// loses its answer, the channel drains and is reused.
				s.logf(LevelDebug, "site %s: client %d read nothing for %s, dropping it", s.cfg.Name, ch.client.id, s.cfg.QueryTimeout)
				c := ch.client
				s.abortClient(c)
				s.closeClient(c)
				continue
			}
			s.logf(LevelInfo, "site %s: channel %d: answer not complete within the query timeout of %s, closing it", s.cfg.Name, ch.id, s.cfg.QueryTimeout)
			if c := ch.client; c != nil {
				s.failClient(c, livestatus.CodeTimeout, s.siteErr("query timeout after %s", s.cfg.QueryTimeout))
			}
			s.closeTimedOut(ch)
		}
		if s.state == SiteDead && len(s.channels) == 0 {
			return
		}
	}
}

// closeTimedOut closes a channel whose answer did not complete within the
// query timeout. The server was still working on that query and held the
// channel's thread up to our close, so no probe answered before can have
// had that thread: the room it showed stands. (Any other close forgets
// it, see removeChannel.) Forgetting it here excused the probe of a site
// that hung while the slow queries ran out, and the hang waited for the
// redialled channels' own heartbeats, past interval + timeout (simulator
// seed 1870).
func (s *Site) closeTimedOut(ch *channel) {
	room := s.probeRoom
	s.closeChannel(ch)
	s.probeRoom = room
}

// heartbeatLost: a channel that never answered while others did is a
// connection the server accepted but does not serve (Icinga's fixed thread
// pool). The pool shrinks instead of declaring the site dead. A proven
// channel that stops answering means the site hangs.
func (s *Site) heartbeatLost(ch *channel) {
	s.stats.HeartbeatsLost++
	s.closeChannel(ch)
	// Others answered if a proven channel is still open, or if the site
	// sent bytes while this probe waited: the one proven channel may just
	// have been closed by us (after a non-200 answer), and a site that
	// answers is not hung.
	if !ch.proven && (s.hasProvenOpen() || s.state == SiteAlive && !s.lastRx.Before(ch.sentAt)) {
		proven := 0
		for _, c := range s.channels {
			if c.proven && c.state != ChanConnecting {
				proven++
			}
		}
		if proven < s.target {
			proven = max(proven, 1) // the pool never shrinks to nothing
			s.logf(LevelWarn, "site %s: new channel %d got no answer within %s; keeping %d channels (server capacity)", s.cfg.Name, ch.id, s.hbTimeout(), proven)
			s.target = proven
		} else {
			s.logf(LevelInfo, "site %s: new channel %d got no answer within %s, closed", s.cfg.Name, ch.id, s.hbTimeout())
		}
		s.growAt = s.now.Add(s.cfg.CapacityRetry)
		return
	}
	s.markDead("heartbeat timeout after " + s.hbTimeout().String())
}

func (s *Site) expireWaiting() {
	for len(s.waitQ) > 0 {
		c := s.waitQ[0]
		if s.now.Before(c.since.Add(s.cfg.ChannelTimeout)) {
			return
		}
		// The text is Checkmk's own, word for word, with the configured
		// count (clients and people compare it with their config, not with
		// how many channels happen to be open); the site's name and the
		// open count go to the log instead.
		text := fmt.Sprintf("All %d channels busy, timeout waiting for free channel.", s.cfg.Channels)
		if s.state != SiteAlive {
			text = s.siteErr("no channel ready within %s (site %s)", s.cfg.ChannelTimeout, s.state)
		}
		s.logf(LevelInfo, "site %s: client %d: no free channel within %s (%d of %d open), answering 503", s.cfg.Name, c.id, s.cfg.ChannelTimeout, s.poolSize(), s.cfg.Channels)
		s.failClient(c, livestatus.CodeBusy, text)
	}
}

// detectStall covers a site that hangs while no heartbeat can be sent
// (every proven channel busy). A due heartbeat that cannot go out on the
// pool goes out on an extra probe connection; any byte from the site on
// any channel since it fell due answers it. Without one, the site is dead
// once a busy channel has owed bytes for the heartbeat timeout, counted
// from the due heartbeat at the earliest — the same bound as for a real
// heartbeat (interval + timeout after a hang). What a paused channel or a
// long-poll owes, and when the probe's own silence counts: liveness.go.
func (s *Site) detectStall() {
	if !s.stallWatched() || s.now.Before(s.hbDue) {
		return
	}
	if !s.lastRx.Before(s.hbDue) {
		s.hbDue = s.lastRx.Add(s.cfg.HeartbeatInterval) // answered by a busy channel
		return
	}
	s.dialProbe()
	if at, ok := s.stallVerdictAt(); ok && !s.now.Before(at) {
		s.markDead("no answer on any channel for " + s.now.Sub(s.hbDue).String() + " with all channels busy")
	}
}

// stallWatched: the site is alive but no heartbeat can prove it: no proven
// channel is free or carries a heartbeat, and queries are pending, or the
// pool has no channel at all (all closed while a redial waits for
// connect_retry). New channels still on probation prove nothing.
func (s *Site) stallWatched() bool {
	if s.state != SiteAlive {
		return false
	}
	busy := false
	for _, ch := range s.channels {
		switch {
		case ch.state == ChanFree, ch.state == ChanHeartbeat:
			return false
		case ch.state == ChanBusy:
			busy = true
		}
	}
	return busy || s.poolSize() == 0
}

func (s *Site) maintainPool() {
	if s.state == SiteDead {
		if len(s.channels) > 0 || s.now.Before(s.retryAt) {
			return
		}
		// The first attempt after a death is news; every later one (each
		// connect_retry, for as long as the site stays away) is not.
		level := LevelDebug
		if s.retries == 0 {
			level = LevelInfo
		}
		s.retries++
		s.logf(level, "site %s: reconnecting (attempt %d)", s.cfg.Name, s.retries)
	} else if s.now.Before(s.redialAt) {
		return
	}
	if s.target < s.cfg.Channels && !s.growAt.IsZero() && !s.now.Before(s.growAt) {
		s.target++
		s.growAt = s.now.Add(s.cfg.CapacityRetry)
	}
	for s.poolSize() < s.target {
		s.dial()
	}
}

func (s *Site) heartbeat() {
	if s.state != SiteAlive || s.now.Before(s.hbDue) {
		return
	}
	var pick *channel
	for _, ch := range s.channels {
		if ch.state == ChanHeartbeat {
			return // one periodic heartbeat at a time
		}
		// The longest idle channel: heartbeats rotate over the pool and
		// find channels the server closed while idle.
		if ch.state == ChanFree && (pick == nil || ch.since.Before(pick.since)) {
			pick = ch
		}
	}
	if pick == nil {
		return // all busy: detectStall watches instead
	}
	s.sendHeartbeat(pick)
	s.hbDue = s.now.Add(s.cfg.HeartbeatInterval)
}

func (s *Site) dispatch() {
	if s.state != SiteAlive {
		return
	}
	for len(s.waitQ) > 0 {
		var free *channel
		for _, ch := range s.channels {
			if ch.state == ChanFree {
				free = ch
				break
			}
		}
		if free == nil {
			return
		}
		c := s.waitQ[0]
		s.waitQ = s.waitQ[1:]
		s.assign(c, free)
	}
}

// NextDeadline is when the site wants its next Tick; ok is false when
// nothing is scheduled, as on a stopped site. A new site has seen no event,
// so it knows no time: it asks for its first Tick at once with the zero
// time, which is before every clock reading. A running site never returns
// a time that a Tick would not act upon.
func (s *Site) NextDeadline() (t time.Time, ok bool) {
	if !s.started {
		return time.Time{}, true
	}
	var next time.Time
	at := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if s.state == SiteStopped {
		return time.Time{}, false
	}
	for _, ch := range s.channels {
		at(ch.deadline)
	}
	if len(s.waitQ) > 0 {
		at(s.waitQ[0].since.Add(s.cfg.ChannelTimeout))
	}
	at(s.partialDue)
	switch s.state {
	case SiteDead:
		if len(s.channels) == 0 {
			at(s.retryAt)
		}
	case SiteAlive:
		switch {
		case s.hbDue.After(s.now):
			at(s.hbDue)
		case s.stallWatched():
			if t, ok := s.stallVerdictAt(); ok {
				at(t) // the unsendable heartbeat's timeout
			}
		}
	}
	if s.state != SiteDead && s.poolSize() < s.target {
		at(s.redialAt)
	}
	if s.target < s.cfg.Channels && s.state != SiteDead && !s.growAt.IsZero() {
		// maintainPool grows only once a redial back-off is over too.
		grow := s.growAt
		if s.redialAt.After(grow) {
			grow = s.redialAt
		}
		at(grow)
	}
	return next, !next.IsZero()
}
