package sim

import (
	"fmt"
	"time"

	"liveproxyd/core"
)

// Site-wide fault episodes (hang, restart, slow heartbeats) follow a plan
// drawn from the seed: one at a time, each followed by a quiet stretch in
// which the site must recover, so that every bound can be checked exactly.
// Per-connection and per-query faults (refused or hanging connects, resets,
// garbage, idle close, 1-byte I/O, "400:" after COMMAND) are drawn as they
// come, in server.go and driver.go.

// newSite builds one simulated site with a configuration drawn from the seed.
func newSite(w *World, idx int) *siteSim {
	names := []string{"alpha", "beta", "gamma", "delta"}
	cfg := core.Config{
		Name:                names[idx%len(names)],
		Channels:            w.intn(2, 6),
		ChannelTimeout:      w.between(2*time.Second, 5*time.Second),
		QueryTimeout:        w.between(10*time.Second, 20*time.Second),
		ConnectTimeout:      w.between(2*time.Second, 4*time.Second),
		ConnectRetry:        w.between(2*time.Second, 6*time.Second),
		HeartbeatInterval:   w.between(time.Second, 5*time.Second),
		HeartbeatTimeoutMin: w.between(time.Second, 3*time.Second),
		HeartbeatPercent:    50,
		MaxQueryBytes:       4096,
		HighWater:           w.intn(4<<10, 16<<10),
		CapacityRetry:       w.between(20*time.Second, 60*time.Second),
		Cache:               w.chance(0.85),
	}
	cfg.CacheEntries, cfg.CacheBytes = drawCache(w)
	cfg.AnswerBuffer = w.budget.answerBuffer()
	s := &siteSim{
		w: w, idx: idx, name: cfg.Name, hangAt: -1,
		chans: map[core.ChannelID]*chanConn{}, cls: map[core.ClientID]*client{},
	}
	s.setConfig(cfg)
	s.core = w.opts.NewCore(cfg)
	s.check, _ = s.core.(invariantChecker)
	s.srv = newServer(s, w.chance(0.5))
	s.srv.capacity = s.pickCapacity()
	s.hbMax = cfg.HeartbeatTimeoutMin
	return s
}

// pickCapacity: an Icinga-like server may have fewer workers than the
// proxy wants channels.
func (s *siteSim) pickCapacity() int {
	w := s.w
	if s.srv.naemon || s.cfg.Channels < 2 || !w.enabled(FaultCapacity) || !w.chance(0.4) {
		return 0
	}
	return w.intn(1, s.cfg.Channels-1)
}

// begin starts the site's traffic and fault plan.
func (s *siteSim) begin() {
	w := s.w
	s.scheduleTick()
	s.openWatch("start")
	s.nextArrival()
	s.nextBurst()
	s.nextEpisode(w.between(30*time.Second, 90*time.Second))
	s.nextReload()
	s.nextReconfigure()
	w.after(time.Second, s.audit)
}

func (s *siteSim) nextArrival() {
	w := s.w
	gap := time.Duration(w.rng.ExpFloat64() * float64(700*time.Millisecond))
	w.after(gap, func() {
		if w.ending {
			return
		}
		s.spawnRandom()
		s.nextArrival()
	})
}

func (s *siteSim) nextBurst() {
	w := s.w
	w.after(w.between(40*time.Second, 120*time.Second), func() {
		if w.ending {
			return
		}
		if !w.opts.DisabledClients.Has(ClientBurst) {
			s.spawnBurst()
		}
		s.nextBurst()
	})
}

// recoveryBound: after a disruption ends, the core may sit out one
// cool-down, one connect, a heartbeat interval and timeout, and a client
// may wait for a channel; five seconds of slack on top.
func (s *siteSim) recoveryBound() time.Duration {
	c := s.hi
	return c.ConnectRetry + c.ConnectTimeout + c.HeartbeatInterval + 2*s.hbMax + c.ChannelTimeout + 5*time.Second
}

// detectBound: a hung site must be found dead within one heartbeat
// interval plus the (adaptive) heartbeat timeout, plus a tick of slack.
func (s *siteSim) detectBound() time.Duration {
	return s.hi.HeartbeatInterval + s.hbMax + time.Second
}

// nextEpisode plans the next site-wide fault at +after.
func (s *siteSim) nextEpisode(after time.Duration) {
	w := s.w
	w.after(after, func() {
		var kinds []Fault
		for _, f := range []Fault{FaultSiteHang, FaultRestart, FaultSlowHeartbeat} {
			if w.enabled(f) {
				kinds = append(kinds, f)
			}
		}
		if len(kinds) == 0 || w.now+2*time.Minute > w.opts.Duration {
			return
		}
		s.cancelWatch()
		f := kinds[w.intn(0, len(kinds)-1)]
		var d time.Duration
		switch f {
		case FaultSiteHang:
			d = w.between(5*time.Second, 40*time.Second)
			w.fired(s, f, uint64(d/time.Millisecond))
			s.startHang(d)
		case FaultRestart:
			d = w.between(time.Second, 15*time.Second)
			w.fired(s, f, uint64(d/time.Millisecond))
			s.srv.restart(d)
		case FaultSlowHeartbeat:
			d = w.between(15*time.Second, 60*time.Second)
			s.srv.slowHB = true
			w.after(d, func() {
				s.srv.slowHB = false
				s.episodeEnded("slow heartbeats")
			})
		}
		s.nextEpisode(d + s.recoveryBound() + w.between(5*time.Second, 60*time.Second))
	})
}

// startHang hangs the server and watches the core find it dead in time.
func (s *siteSim) startHang(d time.Duration) {
	w := s.w
	s.srv.hang(d)
	if s.snap.State != core.SiteAlive {
		return // nothing to detect: the core does not trust the site yet
	}
	s.hangAt = w.now
	start := w.now
	var check func()
	check = func() {
		if s.hangAt != start || w.ending || s.diedSince(start) {
			return
		}
		// Bytes the site sent before it hung may still be read after it
		// (held back while a channel was paused): the core can only see the
		// hang from its last read on.
		deadline := max(start, s.lastRx, s.longPollEnd()) + s.detectBound()
		if w.now < deadline || s.anyPaused() {
			w.at(max(deadline, w.now+time.Second), check)
			return
		}
		w.fail("site %s: hung at +%v (last byte read at +%v), still %s after %v (interval %v, heartbeat timeout now %v); %s",
			s.name, start, s.lastRx, s.snap.State, w.now-start, s.cfg.HeartbeatInterval, s.snap.HeartbeatTimeout, s.describe())
	}
	w.after(s.detectBound(), check)
}

// longPollEnd is when the last long-poll the site got ends its
// WaitTimeout. A hang while every channel long-polls on a server with no
// room for the core's extra probe shows only then (core/liveness.go).
func (s *siteSim) longPollEnd() time.Duration {
	var end time.Duration
	for _, c := range s.active {
		for _, q := range c.script[:c.sent] {
			if q.wait > 0 && !q.done && q.siteSeen > 0 {
				end = max(end, q.siteAt+q.wait)
			}
		}
	}
	return end
}

func (s *siteSim) anyPaused() bool {
	for id := core.ChannelID(1); id <= s.lastChan; id++ {
		if c := s.chans[id]; c != nil && !c.closed && c.paused {
			return true
		}
	}
	return false
}

// episodeEnded: the site is healthy again; it must serve queries soon.
func (s *siteSim) episodeEnded(what string) {
	s.hangAt = -1
	s.faultAt = s.w.now
	if s.w.ending {
		return
	}
	s.openWatch(what)
}

// watch waits for proof that the site works: some query that reached the
// site after from is answered completely and correctly.
type watch struct {
	from time.Duration
	what string
	ok   bool
}

func (s *siteSim) watching() bool { return s.watch != nil }

func (s *siteSim) openWatch(what string) {
	w := s.w
	wt := &watch{from: w.now, what: what}
	s.watch = wt
	var probe, check func()
	probe = func() {
		if s.watch == wt && !w.ending {
			s.spawnProbe()
			w.after(500*time.Millisecond, probe)
		}
	}
	check = func() {
		if s.watch != wt || w.ending {
			return
		}
		if w.now < wt.from+s.recoveryBound() { // the heartbeat timeout grew
			w.at(wt.from+s.recoveryBound(), check)
			return
		}
		w.fail("site %s: no query succeeded within %v after %s at +%v (state %s since +%v, last error %q)",
			s.name, w.now-wt.from, what, wt.from, s.snap.State, s.snap.Since.Sub(epoch), s.snap.LastError)
	}
	w.after(w.between(0, 500*time.Millisecond), probe)
	w.after(s.recoveryBound(), check)
}

func (s *siteSim) cancelWatch() { s.watch = nil }

// recovered: a query was answered correctly; it ends the watch if the site
// got it after the watch began. Cached-kind queries do not count: the site
// cannot tell whose request it got.
func (s *siteSim) recovered(q *query) {
	if wt := s.watch; wt != nil && q.kind != qCached && q.siteSeen > 0 && q.siteAt >= wt.from {
		wt.ok = true
		s.watch = nil
	}
}

// garbageHeader is what a confused or foreign server sends instead of a
// fixed16 header: an HTTP status line, a header that is too short, noise.
func garbageHeader(w *World, code, length int) []byte {
	switch w.intn(0, 2) {
	case 0:
		return []byte("HTTP/1.1 200 OK\r\n\r\n")
	case 1:
		return fmt.Appendf(nil, "%d %d\n", code, length)
	}
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte('a' + w.rng.IntN(26))
	}
	return b
}

// lateAnswer is a well-formed answer no request asked for. Its body is no
// number, so it cannot pass for a heartbeat's program_start.
var lateAnswer = append(fixed16(200, len("late answer\n")), "late answer\n"...)

// withExtra puts lateAnswer next to resp: in front of it, as a late answer
// to an earlier request that arrives with this one, or behind it. It
// returns the bytes and the offset where the two meet. The proxy can only
// tell the two apart when they meet within one read (see docs/memory.md,
// what a lying server can still do), and in front only when it holds the
// answer; the world gives it that chance and no more.
func (c *srvConn) withExtra(resp []byte) ([]byte, int) {
	w := c.srv.w
	if w.budget.mode == budgetNone && w.chance(0.5) {
		return append(append([]byte(nil), lateAnswer...), resp...), len(lateAnswer)
	}
	return append(append([]byte(nil), resp...), lateAnswer...), len(resp)
}
