package core

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"liveproxyd/livestatus"
)

// Liveness while no channel can carry a heartbeat.
//
// A heartbeat needs a free channel. When one falls due and none is free
// (every channel busy, or none open while a redial waits for
// connect_retry), the site may still be proven alive in two ways: any byte
// from the site on any channel since the heartbeat fell due (a busy
// channel progressing), or the answer to an extra probe: one short-lived
// connection outside the pool, dialled once per due heartbeat, that
// carries only the heartbeat and is closed after it.
//
// Silence proves a hang only where the site owes us bytes:
//   - A channel paused for backpressure is silent by our choice: we do not
//     read it, so its silence says nothing about the site.
//   - A long-poll (WaitTrigger, WaitCondition, WaitObject, WaitTimeout) is
//     silent by contract until its WaitTimeout; only then does the site
//     owe an answer.
//   - Any other busy channel owes bytes from when it was dispatched or
//     resumed, but not before the heartbeat fell due.
//   - The probe's silence counts only if it cannot be a full thread pool:
//     Icinga serves each connection with one thread of a fixed pool for
//     the connection's whole life, in accept order (docs/protocol.md,
//     section 3), so while our channels hold every thread a probe is
//     accepted and never answered, exactly as on a hung site. It counts
//     when no channel of ours was connected ahead of it, or when the
//     server promptly answered a probe before beside at least as many of
//     our proven channels (its "room"). A room is forgotten when any pool
//     channel goes (its freed thread may have been what served the probe)
//     or the server restarts.
//
// So a hung site is found within heartbeat interval + timeout whenever a
// busy channel owes bytes or the server has shown room for the probe
// (naemon, or an Icinga with threads to spare). The case left, an Icinga
// whose whole pool our paused or long-polling channels hold, is found once
// the first of them owes bytes again: the heartbeat timeout after a
// WaitTimeout ends or a channel resumes; query_timeout and the client read
// bound end both. Other clients of the same Icinga hold threads too and
// can make a probe wait: that only ever delays a verdict, since room is
// learnt from answers, never assumed.

// countPool counts pool channels: the connected ones compete with the
// probe for a server thread (when it is judged), the proven ones surely
// hold one (when the room it found is noted), so the room learnt is never
// more than there was.
func (s *Site) countPool(proven bool) int {
	n := 0
	for _, ch := range s.channels {
		if !ch.extra && ch.state != ChanConnecting && (ch.proven || !proven) {
			n++
		}
	}
	return n
}

// promptSlack is what a prompt probe answer may take beyond twice the
// typical heartbeat round trip: scheduling noise, not a wait for a thread.
const promptSlack = 20 * time.Millisecond

// poolSize counts the channels of the pool, without the probe.
func (s *Site) poolSize() int {
	n := 0
	for _, ch := range s.channels {
		if !ch.extra {
			n++
		}
	}
	return n
}

func (s *Site) probe() *channel {
	for _, ch := range s.channels {
		if ch.extra {
			return ch
		}
	}
	return nil
}

// dialProbe opens the extra probe connection, once per due heartbeat.
func (s *Site) dialProbe() {
	if s.probe() != nil || s.probedFor.Equal(s.hbDue) {
		return
	}
	s.probedFor = s.hbDue
	s.nextChan++
	// The probe carries one due heartbeat: connecting and answering must
	// both fit in the heartbeat timeout from its dial, or a hang waits for
	// a hung connect's connect_timeout on top (simulator seed 3744642128).
	ch := &channel{id: s.nextChan, extra: true, state: ChanConnecting, since: s.now, deadline: s.now.Add(min(s.cfg.ConnectTimeout, s.hbTimeout()))}
	s.channels = append(s.channels, ch)
	s.logf(LevelDebug, "site %s: all channels busy, heartbeat on extra channel %d", s.cfg.Name, ch.id)
	s.emit(Action{Kind: ActDial, Channel: ch.id})
}

// probeAnswered: the site is alive, and the server has room for one
// connection more than the pool has open now.
func (s *Site) probeAnswered(ch *channel) {
	s.stats.Heartbeats++
	if ch.header.Code == 200 {
		s.noteProgramStart(ch.hbBody)
	}
	// Only a prompt answer shows room: a late one may have waited for a
	// thread that one of our channels, closed by the server a moment ago
	// (we learn of it a moment later), just gave up.
	if took := s.now.Sub(ch.sentAt); took <= 2*s.rtt+promptSlack {
		s.probeRoom = max(s.probeRoom, min(ch.crowd, s.countPool(true)))
		s.logf(LevelDebug, "site %s: extra channel %d answered in %s: the server has room for it beside %d channels", s.cfg.Name, ch.id, took, s.probeRoom)
	}
	s.closeChannel(ch)
	s.hbDue = s.now.Add(s.cfg.HeartbeatInterval)
}

// probeExpired closes a probe that did not connect or answer in time. Its
// silence makes the site dead only where it cannot be a full thread pool:
// none of our channels holds a thread, or the server answered a probe
// beside as many channels before.
func (s *Site) probeExpired(ch *channel) {
	s.closeChannel(ch)
	if ch.state == ChanConnecting {
		s.probeFailed("no connection within " + ch.deadline.Sub(ch.since).String())
		return
	}
	s.stats.HeartbeatsLost++
	if s.state != SiteAlive || !s.lastRx.Before(s.hbDue) {
		return // bytes came since the heartbeat fell due: the site lives
	}
	// Pool channels that connected or freed up meanwhile do not excuse
	// the probe: they queue behind it for a server thread, and waiting for
	// their own probes would take the bound past interval + timeout
	// (simulator seed 3475: the pool was redialled while the probe waited).
	// Channels connected after the probe queue behind it for a server
	// thread, and closes only free threads: the crowd it met is what counts.
	if n := ch.crowd; n == 0 || s.probeRoom > 0 && n <= s.probeRoom {
		s.markDead(fmt.Sprintf("heartbeat on an extra channel unanswered within %s with %d channels ahead of it (one was answered beside %d)",
			s.hbTimeout(), n, s.probeRoom))
		return
	}
	s.logf(LevelInfo, "site %s: extra channel %d got no answer within %s, all %d channels busy (server pool full?)", s.cfg.Name, ch.id, s.hbTimeout(), s.poolSize())
}

// probeFailed: the probe could not connect, or was closed before its
// answer. Beside a proven channel that proves nothing the pool does not
// show (the verdict stays with the stall watch). With none open it is a
// failed connect like any other: the pool is empty or unproven, so no
// other heartbeat is on its way, and waiting for the pool's redial would
// take the bound past interval + timeout (simulator seed 1404669519: the
// probe's connect hung, then the site did).
func (s *Site) probeFailed(err string) {
	if s.hasProvenOpen() {
		s.logf(LevelDebug, "site %s: extra channel failed: %s", s.cfg.Name, err)
		return
	}
	s.connectFailed(err)
}

// stallVerdictAt is when the silence since the due heartbeat proves the
// site hung: the heartbeat timeout after the earliest time the site owes
// bytes on a busy channel (see above). ok is false while no busy channel
// owes any (all paused).
func (s *Site) stallVerdictAt() (at time.Time, ok bool) {
	for _, ch := range s.channels {
		if ch.state != ChanBusy || ch.paused {
			continue
		}
		t := ch.owedFrom
		if s.hbDue.After(t) {
			t = s.hbDue
		}
		t = t.Add(s.hbTimeout())
		if !ok || t.Before(at) {
			at, ok = t, true
		}
	}
	return at, ok
}

// owe notes that the site owes bytes on a busy channel from now, or from
// the end of its long-poll.
func (s *Site) owe(ch *channel) {
	ch.owedFrom = s.now
	if ch.quietUntil.After(s.now) {
		ch.owedFrom = ch.quietUntil
	}
}

// longPollWait tells whether q is a long-poll and how long the site may
// stay silent on it by contract: its WaitTimeout, or (none, or 0: wait
// for ever) the query timeout, which then ends it.
func longPollWait(q livestatus.Query, fallback time.Duration) (time.Duration, bool) {
	poll, wait := false, time.Duration(0)
	for _, line := range q.Lines[1:] {
		name, value, found := bytes.Cut(line, []byte(":"))
		if !found {
			continue
		}
		switch string(name) {
		case "WaitTrigger", "WaitCondition", "WaitObject":
			poll = true
		case "WaitTimeout":
			poll = true
			if ms, err := strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64); err == nil && ms > 0 && ms < int64(24*time.Hour/time.Millisecond) {
				wait = time.Duration(ms) * time.Millisecond
			}
		}
	}
	if poll && wait == 0 {
		wait = fallback
	}
	return wait, poll
}
