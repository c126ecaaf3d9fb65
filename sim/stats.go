package sim

import (
	"bytes"
	"strings"

	"liveproxyd/core"
	"liveproxyd/livestatus"
)

// The core's counters (core.Stats) against what the world saw. Operators
// read these numbers (metrics, status), so a counter that counts down, or
// not at all, is a bug the simulator must see. After every step:
//
//   - every counter only grows;
//   - Commands is exactly the COMMANDs the driver wrote to channels;
//   - each query counter is at least the answers of its kind the clients
//     of the site received (the core counts before it writes, and bytes
//     reach a client later), and at most the queries they sent;
//   - heartbeats answered or lost are at most the heartbeats written,
//     and connect failures plus lost heartbeats at most the dials (each
//     closes the channel it happened on);
//   - a pool channel that the driver reports closed while the core had it
//     connecting or probing is exactly one connect failure;
//   - cache hits are answered queries, and hits and misses together are
//     at most the queries sent;
//   - a step that declares the site dead for an unanswered heartbeat
//     counts that heartbeat lost, and one that declares it dead because
//     it cannot connect counts that connect failure.
//
// Exact equality for the query counters is out of reach: a client that
// goes away never sees the answer the core counted.

// seenStats counts what the world saw of one site.
type seenStats struct {
	sent       uint64 // queries written by clients (whole or not)
	ok         uint64 // own answers received whole
	dead       uint64 // 502s, or their plain text
	busy       uint64 // 503s, or their plain text
	timeout    uint64 // 504s, or their plain text
	bad        uint64 // 4xx, or their plain text
	commands   uint64 // COMMANDs written to channels
	heartbeats uint64 // heartbeat queries written to channels
	dials      uint64
	refused    uint64 // pool channels closed while connecting or probing
}

// noteWrite counts a write of the core to a channel.
func (s *siteSim) noteWrite(data []byte) {
	switch {
	case bytes.HasPrefix(data, []byte("COMMAND ")):
		s.seen.commands++
	case bytes.HasPrefix(data, []byte("GET status\n")) && bytes.Contains(data, []byte("Columns: program_start\n")):
		s.seen.heartbeats++
	}
}

// noteClosedEvent counts a close of a channel given to the core.
func (s *siteSim) noteClosedEvent(id core.ChannelID) {
	for _, ch := range s.snap.Channels {
		if ch.ID == id && !ch.Probe && (ch.State == core.ChanConnecting || ch.State == core.ChanProbing) {
			s.seen.refused++
		}
	}
}

// noteError counts an error reply a client received, by code, or by its
// text when it came without fixed16.
func (s *siteSim) noteError(q *query, code int, text string) {
	st := &s.seen
	switch {
	case code == livestatus.CodeBadGateway:
		st.dead++
	case code == livestatus.CodeBusy:
		st.busy++
	case code == livestatus.CodeTimeout:
		st.timeout++
	case code >= 400 && code < 500:
		st.bad++
	case code != 0:
	case strings.HasPrefix(text, "All ") || strings.Contains(text, "no channel ready") || strings.Contains(text, queryBufferFull):
		st.busy++
	case strings.Contains(text, "query timeout after"):
		st.timeout++
	case strings.Contains(text, "query too large") || strings.Contains(text, "incomplete request"):
		st.bad++
	case strings.Contains(text, "site is dead") || strings.Contains(text, "connection to site lost") ||
		strings.Contains(text, "shutting down") || strings.Contains(text, "invalid response") || strings.Contains(text, "out of step"):
		st.dead++
	case q.kind == qBad:
		st.bad++
	}
}

// checkStats compares the core's counters after a step with the last ones
// and with what the world saw.
func (s *siteSim) checkStats(prev, now core.Stats) {
	w := s.w
	type counter struct {
		name      string
		prev, now uint64
		min, max  uint64
	}
	st := &s.seen
	never := ^uint64(0)
	cs := [...]counter{
		{"QueriesOK", prev.QueriesOK, now.QueriesOK, st.ok, st.sent},
		{"QueriesDead", prev.QueriesDead, now.QueriesDead, st.dead, st.sent},
		{"QueriesBusy", prev.QueriesBusy, now.QueriesBusy, st.busy, st.sent},
		{"QueriesTimeout", prev.QueriesTimeout, now.QueriesTimeout, st.timeout, st.sent},
		{"QueriesBad", prev.QueriesBad, now.QueriesBad, st.bad, st.sent},
		{"QueriesGone", prev.QueriesGone, now.QueriesGone, 0, st.sent},
		{"Commands", prev.Commands, now.Commands, st.commands, st.commands},
		{"Heartbeats", prev.Heartbeats, now.Heartbeats, 0, st.heartbeats},
		{"HeartbeatsLost", prev.HeartbeatsLost, now.HeartbeatsLost, 0, st.heartbeats},
		{"ConnectFailures", prev.ConnectFailures, now.ConnectFailures, st.refused, st.dials},
		{"CacheHits", prev.CacheHits, now.CacheHits, 0, now.QueriesOK},
		{"CacheMisses", prev.CacheMisses, now.CacheMisses, 0, st.sent},
		{"BytesFromSite", prev.BytesFromSite, now.BytesFromSite, 0, never},
		{"BytesToClients", prev.BytesToClients, now.BytesToClients, 0, never},
		{"CacheHits+CacheMisses", prev.CacheHits + prev.CacheMisses, now.CacheHits + now.CacheMisses, 0, st.sent},
		{"ConnectFailures+HeartbeatsLost", prev.ConnectFailures + prev.HeartbeatsLost, now.ConnectFailures + now.HeartbeatsLost, 0, st.dials},
		{"sum of Latency", sum(prev.Latency[:]), sum(now.Latency[:]), 0, never},
	}
	for _, c := range cs {
		switch {
		case c.now < c.prev:
			w.fail(invStatsMonotonic, "site %s: Stats.%s went down from %d to %d", s.name, c.name, c.prev, c.now)
		case c.now < c.min:
			w.fail(invStatsMatchWorld, "site %s: Stats.%s is %d, but the world saw %d", s.name, c.name, c.now, c.min)
		case c.now > c.max:
			w.fail(invStatsMatchWorld, "site %s: Stats.%s is %d, more than the %d the world allows", s.name, c.name, c.now, c.max)
		default:
			continue
		}
		return
	}
	if now.LatencySum < prev.LatencySum {
		w.fail(invStatsMonotonic, "site %s: Stats.LatencySum went down from %v to %v", s.name, prev.LatencySum, now.LatencySum)
	}
}

// checkDeathCounted: a site declared dead in this step for a heartbeat
// unanswered (on a pool channel or the extra probe) lost that heartbeat;
// one declared dead as it cannot connect failed that connect.
func (s *siteSim) checkDeathCounted(prev, now core.Snapshot) {
	if now.State != core.SiteDead || prev.State == core.SiteDead {
		return
	}
	switch {
	case strings.HasPrefix(now.LastError, "heartbeat") && now.Stats.HeartbeatsLost == prev.Stats.HeartbeatsLost:
		s.w.fail(invDeathCounted, "site %s: declared dead for %q, but Stats.HeartbeatsLost stayed %d", s.name, now.LastError, now.Stats.HeartbeatsLost)
	case strings.HasPrefix(now.LastError, "cannot connect") && now.Stats.ConnectFailures == prev.Stats.ConnectFailures:
		s.w.fail(invDeathCounted, "site %s: declared dead for %q, but Stats.ConnectFailures stayed %d", s.name, now.LastError, now.Stats.ConnectFailures)
	}
}

func sum(ns []uint64) uint64 {
	var t uint64
	for _, n := range ns {
		t += n
	}
	return t
}
