package sim

import (
	"time"

	"liveproxyd/core"
)

// Site-wide fault episodes (hang, restart, slow heartbeats) come one at a
// time, each followed by a quiet stretch in which the site must recover, so
// that every bound can be checked exactly; how long they last and how long
// the quiet is, the world's FaultPlan says (faults.go). Per-connection and
// per-query faults (refused or hanging connects, resets, garbage, idle
// close, 1-byte I/O, "400:" after COMMAND) strike as they come, each with
// its chance from the plan, in misbehave.go, server.go, driver.go and
// clientgen.go.

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
			d = w.between(hangDurationMin, w.plan.HangDurationMax)
			w.fired(s, f, uint64(d/time.Millisecond))
			s.startHang(d)
		case FaultRestart:
			d = w.between(restartDurationMin, w.plan.RestartDurationMax)
			w.fired(s, f, uint64(d/time.Millisecond))
			s.srv.restart(d)
		case FaultSlowHeartbeat:
			d = w.between(slowHeartbeatDurationMin, w.plan.SlowHeartbeatDurationMax)
			s.srv.slowHB = true
			w.after(d, func() {
				s.srv.slowHB = false
				s.episodeEnded("slow heartbeats")
			})
		}
		s.nextEpisode(d + s.recoveryBound() + w.between(episodeQuietMin, w.plan.EpisodeQuietMax))
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
		deadline := max(start, s.rxLastAt, s.longPollEnd()) + s.detectBound()
		if w.now < deadline || s.anyPaused() {
			w.at(max(deadline, w.now+time.Second), check)
			return
		}
		w.fail(invHangDetected, "site %s: hung at +%v (last byte read at +%v), still %s after %v (interval %v, heartbeat timeout now %v); %s",
			s.name, start, s.rxLastAt, s.snap.State, w.now-start, s.cfg.HeartbeatInterval, s.snap.HeartbeatTimeout, s.describe())
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
	for id := core.ChannelID(1); id <= s.chanIDLast; id++ {
		if c := s.chans[id]; c != nil && !c.closed && c.paused {
			return true
		}
	}
	return false
}

// episodeEnded: the site is healthy again; it must serve queries soon.
func (s *siteSim) episodeEnded(what string) {
	s.hangAt = -1
	s.episodeEndAt = s.w.now
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
		w.fail(invRecovery, "site %s: no query succeeded within %v after %s at +%v (state %s since +%v, last error %q)",
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
