package core

import (
	"bytes"
	"strconv"
	"time"

	"liveproxyd/livestatus"
)

type channel struct {
	id       ChannelID
	state    ChannelState
	since    time.Time
	proven   bool      // answered a heartbeat: the server serves this connection
	client   *client   // busy: whose query this is (nil while draining)
	draining bool      // busy, but the client left: discard the rest
	command  bool      // busy with a COMMAND: the answer awaited is the probe's
	paused   bool      // reading stopped for backpressure
	deadline time.Time // connecting, heartbeat; busy: query timeout (total), paused: the client's read bound
	sentAt   time.Time // when the heartbeat went out

	// Liveness (liveness.go): what the site owes on this channel.
	extra      bool          // the probe outside the pool
	crowd      int           // the probe: pool channels connected before it, ahead in the server's queue
	left       time.Duration // paused: the query timeout left (the client's time is not the site's)
	quietUntil time.Time     // busy with a long-poll: silent by contract until then
	owedFrom   time.Time     // busy: the site owes bytes from then (dispatch, resume, long-poll end)

	// The response being read, parsed by position.
	hdr       [livestatus.HeaderLen]byte
	hn        int
	header    livestatus.Header
	remaining int64
	hbBody    []byte
	hold      []byte // the answer held until complete (memory.go), or nil
	reserved  int64  // room reserved for hold in the global answer budget

	// A "Cache: reload" answer is copied while it streams, unless it grows
	// too large for the cache.
	cacheKey   string
	cacheAt    int64 // program_start when the query went out
	cacheBuf   []byte
	cacheWrite bool
}

// heartbeatQuery is the tiny query that proves a site alive; its answer
// also tells whether the monitoring core restarted.
var heartbeatQuery = []byte("GET status\nResponseHeader: fixed16\nKeepAlive: on\nColumns: program_start\n\n")

const maxHeartbeatBody = 1024

func (s *Site) channel(id ChannelID) *channel {
	// Channels are few (tens) and kept ordered, so a scan is fine.
	for _, ch := range s.channels {
		if ch.id == id {
			return ch
		}
	}
	return nil
}

func (s *Site) dial() {
	s.nextChan++
	ch := &channel{id: s.nextChan, state: ChanConnecting, since: s.now, deadline: s.now.Add(s.cfg.ConnectTimeout)}
	s.channels = append(s.channels, ch)
	s.emit(Action{Kind: ActDial, Channel: ch.id})
}

func (s *Site) removeChannel(ch *channel) {
	if !ch.extra {
		// The server frees this channel's thread, maybe before we learn of
		// it (its close, a non-200 answer): a probe just answered may have
		// had it, so the room it showed is not sure any more.
		s.probeRoom = 0
	}
	s.dropHold(ch)
	for i, c := range s.channels {
		if c == ch {
			s.channels = append(s.channels[:i], s.channels[i+1:]...)
			return
		}
	}
}

func (s *Site) closeChannel(ch *channel) {
	s.removeChannel(ch)
	s.emit(Action{Kind: ActCloseChannel, Channel: ch.id})
}

func (s *Site) pause(ch *channel) {
	ch.paused = true
	ch.left = ch.deadline.Sub(s.now)
	ch.deadline = s.now.Add(s.cfg.QueryTimeout) // now the client's deadline
	s.emit(Action{Kind: ActPauseChannel, Channel: ch.id})
}

func (s *Site) resume(ch *channel) {
	ch.paused = false
	ch.deadline = s.now.Add(ch.left)
	s.owe(ch)
	s.emit(Action{Kind: ActResumeChannel, Channel: ch.id})
}

func (ch *channel) resetResponse() {
	ch.hn, ch.remaining, ch.header, ch.hbBody = 0, 0, livestatus.Header{}, ch.hbBody[:0]
	ch.cacheKey, ch.cacheBuf, ch.cacheWrite = "", nil, false
}

func (s *Site) channelConnected(id ChannelID) {
	ch := s.channel(id)
	if ch == nil || ch.state != ChanConnecting {
		return
	}
	ch.state, ch.since = ChanProbing, s.now
	if ch.extra {
		ch.crowd = s.countPool(false)
	}
	s.sendHeartbeat(ch)
}

func (s *Site) sendHeartbeat(ch *channel) {
	if ch.proven {
		ch.state = ChanHeartbeat
	} else {
		ch.state = ChanProbing
	}
	deadline := s.now.Add(s.hbTimeout())
	if ch.extra && !ch.deadline.IsZero() && ch.deadline.Before(deadline) {
		deadline = ch.deadline // the probe's time counts from its dial
	}
	ch.since, ch.sentAt = s.now, s.now
	ch.deadline = deadline
	ch.resetResponse()
	s.emit(Action{Kind: ActWriteChannel, Channel: ch.id, Data: heartbeatQuery})
}

// assign puts a waiting client's query on a free channel.
func (s *Site) assign(c *client, ch *channel) {
	up := livestatus.Upstream(c.query)
	s.emit(Action{Kind: ActWriteChannel, Channel: ch.id, Data: up})
	ch.state, ch.since, ch.client, ch.draining = ChanBusy, s.now, c, false
	ch.command = c.query.Method == "COMMAND"
	if ch.command {
		// No reply will come. A probe right behind the COMMAND catches
		// anything the server writes after a failed one (naemon's
		// "400: ...") as a bad header instead of letting it reach the next
		// client, and its answer proves the server has read the COMMAND:
		// the client's next query goes out only then, so it sees the
		// command's effect.
		s.stats.Commands++
		s.emit(Action{Kind: ActWriteChannel, Channel: ch.id, Data: heartbeatQuery})
	}
	// query_timeout is Checkmk's total query timeout: dispatch to last
	// byte, whatever trickles meanwhile. A long-poll gets its WaitTimeout
	// on top: the client asked for the wait, the answer after it gets the
	// usual budget.
	wait, poll := longPollWait(c.query, s.cfg.QueryTimeout)
	ch.deadline, ch.quietUntil = s.now.Add(s.cfg.QueryTimeout+wait), time.Time{}
	if poll {
		ch.quietUntil = s.now.Add(wait)
	}
	s.owe(ch)
	ch.resetResponse()
	ch.cacheWrite = !ch.command && s.cacheable(c.query)
	if ch.cacheWrite {
		ch.cacheKey, ch.cacheAt = c.cacheKey, s.programStart
	}
	c.state, c.channel = clientInFlight, ch
	if c.unacked > s.cfg.HighWater {
		// A pipelining client still has the last answer unread: its next
		// one waits in the channel, not in our memory.
		s.pause(ch)
	}
}

func (s *Site) channelData(id ChannelID, data []byte, stale bool) {
	ch := s.channel(id)
	if ch == nil || len(data) == 0 {
		return
	}
	s.lastRx = s.now
	s.stats.BytesFromSite += uint64(len(data))
	switch ch.state {
	case ChanBusy, ChanHeartbeat, ChanProbing:
		if stale {
			s.staleBytes(ch, len(data))
			return
		}
		s.consume(ch, data)
	default:
		s.logf(LevelInfo, "site %s: channel %d: %d unexpected bytes while %s, closing it", s.cfg.Name, ch.id, len(data), ch.state)
		s.closeChannel(ch)
	}
}

// consume reads response bytes: the 16-byte header by position (it may
// arrive split anywhere), then exactly Length body bytes.
func (s *Site) consume(ch *channel, data []byte) {
	if ch.hn < livestatus.HeaderLen {
		n := copy(ch.hdr[ch.hn:], data)
		ch.hn += n
		data = data[n:]
		if ch.hn < livestatus.HeaderLen {
			return
		}
		h, err := livestatus.ParseHeader(ch.hdr[:])
		if err != nil {
			s.badResponse(ch, err.Error())
			return
		}
		ch.header, ch.remaining = h, h.Length
		ch.cacheWrite = ch.cacheWrite && h.Code == 200 && s.cache.fits(livestatus.HeaderLen+int(min(h.Length, 1<<40)))
		c := ch.reader()
		switch {
		case c != nil && s.holds(h):
			s.startHold(ch, h)
		case c != nil && c.query.Fixed16:
			s.writeClient(c, append([]byte(nil), ch.hdr[:]...))
		}
		if ch.cacheWrite && ch.hold == nil {
			ch.cacheBuf = append(make([]byte, 0, livestatus.HeaderLen+int(h.Length)), ch.hdr[:]...)
		}
	}
	n := len(data)
	if int64(n) > ch.remaining {
		n = int(ch.remaining)
	}
	body, rest := data[:n], data[n:]
	ch.remaining -= int64(n)
	if ch.cacheWrite && ch.hold == nil {
		ch.cacheBuf = append(ch.cacheBuf, body...)
	}
	switch c := ch.reader(); {
	case ch.hold != nil:
		ch.hold = append(ch.hold, body...)
	case c != nil:
		s.writeClient(c, body)
		if c.unacked > s.cfg.HighWater && !ch.paused && ch.remaining > 0 {
			s.pause(ch)
		}
	case len(ch.hbBody) < maxHeartbeatBody:
		ch.hbBody = append(ch.hbBody, body[:min(len(body), maxHeartbeatBody-len(ch.hbBody))]...)
	}
	if ch.remaining > 0 {
		return
	}
	if ch.hold != nil {
		if len(rest) > 0 {
			s.strayAfterAnswer(ch, len(rest))
			return
		}
		s.deliverHeld(ch, ch.reader())
	}
	s.responseDone(ch)
	if len(rest) > 0 && s.channel(ch.id) == ch {
		s.logf(LevelInfo, "site %s: channel %d: %d bytes after the response, closing it", s.cfg.Name, ch.id, len(rest))
		s.closeChannel(ch)
	}
}

// reader is the client that reads the channel's answer: nobody for a
// heartbeat, a drained answer or the probe behind a COMMAND.
func (ch *channel) reader() *client {
	if ch.command {
		return nil
	}
	return ch.client
}

// badResponse handles a channel that sent something other than fixed16.
func (s *Site) badResponse(ch *channel, why string) {
	if ch.command {
		// What came back is the server's word on the COMMAND itself
		// (naemon: "400: <why>"): the COMMAND was delivered and gets no
		// reply, as from the server; the channel is out of step: closed.
		s.logf(LevelInfo, "site %s: COMMAND answered with %q, closing channel %d", s.cfg.Name, ch.hdr[:ch.hn], ch.id)
		if c := ch.client; c != nil {
			s.queryDone(c)
		}
		s.closeChannel(ch)
		return
	}
	s.noteError("invalid response: " + why)
	s.logf(LevelInfo, "site %s: channel %d: invalid response (%s), closing it", s.cfg.Name, ch.id, why)
	if c := ch.client; c != nil {
		s.failClient(c, livestatus.CodeBadGateway, s.siteErr("invalid response from site"))
	}
	s.closeChannel(ch)
	if s.state != SiteAlive && !s.hasProvenOpen() {
		s.markDead("invalid response: " + why)
	}
}

func (s *Site) responseDone(ch *channel) {
	switch ch.state {
	case ChanHeartbeat, ChanProbing:
		s.heartbeatAnswered(ch)
	case ChanBusy:
		if ch.cacheWrite && ch.cacheAt == s.programStart {
			s.cache.put(ch.cacheKey, ch.cacheBuf)
		}
		ch.cacheBuf = nil
		if c := ch.client; c != nil && ch.command {
			s.queryDone(c)
		} else if c != nil {
			s.stats.QueriesOK++
			s.stats.observe(s.now.Sub(c.started))
			s.queryDone(c)
		}
		if ch.header.Code != 200 {
			// naemon stops reading a request at a bad header and keeps
			// the rest of it in its input buffer, in front of the next
			// request on the connection: after any answer but 200 the
			// channel is closed and the pool redials.
			s.logf(LevelDebug, "site %s: channel %d answered %d, closing it", s.cfg.Name, ch.id, ch.header.Code)
			s.closeChannel(ch)
			return
		}
		s.release(ch)
	}
}

func (s *Site) heartbeatAnswered(ch *channel) {
	if ch.extra {
		s.probeAnswered(ch)
		return
	}
	sample := s.now.Sub(ch.sentAt)
	if s.rtt == 0 {
		s.rtt = sample
	} else {
		s.rtt += (sample - s.rtt) / 8
	}
	s.stats.Heartbeats++
	ch.proven = true
	if ch.header.Code == 200 {
		s.noteProgramStart(ch.hbBody)
	}
	s.release(ch)
	s.markAlive()
}

func (s *Site) noteProgramStart(body []byte) {
	ps, err := strconv.ParseInt(string(bytes.TrimSpace(body)), 10, 64)
	if err != nil || ps == s.programStart || ps == 0 {
		return // Icinga answers 0 for a moment after its start
	}
	if s.programStart != 0 {
		s.logf(LevelInfo, "site %s: monitoring core restarted (program_start %d -> %d)", s.cfg.Name, s.programStart, ps)
	}
	s.cache.clear()
	s.programStart = ps
	s.probeRoom = 0 // a restarted server may have another pool
}

func (s *Site) channelClosed(id ChannelID, err string) {
	ch := s.channel(id)
	if ch == nil {
		return
	}
	s.removeChannel(ch)
	switch {
	case ch.extra:
		s.probeFailed(err)
	case ch.state == ChanConnecting, ch.state == ChanProbing:
		// A connection closed before it ever answered counts as a failed
		// connect, so a server that accepts and drops is not hammered.
		s.connectFailed(err)
	case ch.state == ChanBusy:
		if c := ch.client; c != nil {
			s.failClient(c, livestatus.CodeBadGateway, s.siteErr("connection to site lost: %s", err))
		}
		s.logf(LevelInfo, "site %s: channel %d lost while busy: %s", s.cfg.Name, id, err)
	default:
		// A server may close a free channel at any time (naemon's idle
		// timeout): redial quietly, the site is not dead.
		s.logf(LevelDebug, "site %s: channel %d closed while %s: %s", s.cfg.Name, id, ch.state, err)
	}
}

func (s *Site) connectFailed(err string) {
	s.stats.ConnectFailures++
	s.noteError("connect failed: " + err)
	if !s.hasProvenOpen() {
		s.markDead("cannot connect: " + err)
		return
	}
	s.redialAt = s.now.Add(s.cfg.ConnectRetry)
	s.logf(LevelInfo, "site %s: connect failed: %s", s.cfg.Name, err)
}

// hasProvenOpen tells whether some open channel has answered a heartbeat.
func (s *Site) hasProvenOpen() bool {
	for _, ch := range s.channels {
		if ch.proven && ch.state != ChanConnecting {
			return true
		}
	}
	return false
}
