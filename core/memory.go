package core

import (
	"fmt"
	"math"
	"slices"
	"time"

	"liveproxyd/livestatus"
)

// Memory budgets. A site holds client bytes of two kinds that a crowd of
// clients could grow without bound: answers (held until complete, or
// queued for a client that reads slowly) and unfinished queries. Each kind
// has a global budget shared by every site of the daemon. The core stays
// pure: it never sees the shared counter, only the room the driver read
// from it just before the event (Event.Budget), and it reports what it
// holds (Site.Memory) so the driver can add that to the counter after the
// Step. The simulator drives the same two numbers, so an exhausted budget
// is just another world it can draw. See docs/memory.md.

// Budget is the room left in the global budgets, in bytes, at the time of
// an event: the budget minus what every site of the daemon holds.
type Budget struct {
	AnswerBytes int64
	QueryBytes  int64
}

// MemoryUse is what one site holds under the global budgets.
type MemoryUse struct {
	// AnswerBytes: answers held until complete (counted in full from
	// their header on), plus bytes handed to clients and not yet written.
	AnswerBytes int64
	// QueryBytes: client input that is not yet a complete query.
	QueryBytes int64
}

// Memory returns what the site holds now. The driver calls it after each
// Step and adds the difference to the shared counters.
func (s *Site) Memory() MemoryUse {
	return MemoryUse{AnswerBytes: s.heldBytes + s.unackedBytes, QueryBytes: s.queryBytes}
}

// noteBudget records the room of the event being stepped, and what the
// site held before it: room used up during the Step is the site's own
// growth since then.
func (s *Site) noteBudget(b *Budget) {
	s.budget = b
	s.stepUse = s.Memory()
}

// answerRoom is the room left for a held answer right now.
func (s *Site) answerRoom() int64 {
	if s.budget == nil {
		return math.MaxInt64
	}
	return s.budget.AnswerBytes - (s.Memory().AnswerBytes - s.stepUse.AnswerBytes)
}

// queryRoom is the room left for unfinished queries right now.
func (s *Site) queryRoom() int64 {
	if s.budget == nil {
		return math.MaxInt64
	}
	return s.budget.QueryBytes - (s.queryBytes - s.stepUse.QueryBytes)
}

// holds decides whether the answer announced by h is held until complete.
// Checkmk's GUI reads the 16-byte header without a time limit and then
// allows 30 s for the body, assuming the proxy already has it all: an
// answer streamed at WAN speed fails there, and a site that breaks in the
// middle leaves a cut 200 answer instead of a clean 502. So an answer that
// fits the per-answer limit and the room left in the global budget is
// assembled first and handed over whole. Anything larger, or any answer
// once the budget is used up, is streamed with backpressure as before:
// memory stays bounded by the budget, at the price of the old behaviour
// for the biggest answers. Room is reserved for the whole announced length
// at once, so a hold never outgrows what was granted.
func (s *Site) holds(h livestatus.Header) bool {
	size := livestatus.HeaderLen + h.Length
	return h.Length >= 0 && size <= int64(s.cfg.AnswerBuffer) && size <= s.answerRoom()
}

// startHold reserves room for the whole answer and keeps its header.
func (s *Site) startHold(ch *channel, h livestatus.Header) {
	size := livestatus.HeaderLen + h.Length
	var buf []byte
	if s.buffers != nil {
		buf = s.buffers.Get(int(size))
	} else {
		buf = make([]byte, 0, size)
	}
	ch.hold = append(buf, ch.hdr[:]...)
	ch.reserved = size
	s.heldBytes += size
}

// dropHold discards a held answer (its client left, or the channel
// broke) and gives its room back. The rest of it is not cached either.
func (s *Site) dropHold(ch *channel) {
	if ch.hold != nil {
		ch.cacheWrite = false
	}
	s.heldBytes -= ch.reserved
	ch.hold, ch.reserved = nil, 0
}

// deliverHeld hands a complete held answer to its client in one write and
// gives its room back: from now on the bytes count as the client's
// unacked bytes until written.
func (s *Site) deliverHeld(ch *channel, c *client) {
	data, buf := ch.hold, ch.hold
	if s.buffers == nil {
		buf = nil // not lent by a driver: nothing to give back
	}
	if ch.cacheWrite {
		ch.cacheBuf = data // read-only from here on: the cache and the write share it
		buf = nil          // so the driver must not recycle it
	}
	s.heldBytes -= ch.reserved
	ch.hold, ch.reserved = nil, 0
	if !c.query.Fixed16 {
		data = data[livestatus.HeaderLen:]
	}
	s.writeClientBuf(c, data, buf)
}

// strayAfterAnswer: a complete held answer is followed by more bytes in
// what has been read. A server that wrote an answer nobody asked for (a
// late answer to an earlier query, say) leaves the channel out of step,
// and the answer just assembled may be that stray one rather than the
// client's: it is discarded, the client gets a 502, the channel is closed.
func (s *Site) strayAfterAnswer(ch *channel, n int) {
	s.noteError("bytes after an answer")
	s.logf(LevelInfo, "site %s: channel %d: %d bytes after the answer, discarding it and closing the channel", s.cfg.Name, ch.id, n)
	s.dropHold(ch)
	if c := ch.client; c != nil {
		s.failClient(c, livestatus.CodeBadGateway, s.siteErr("site sent more than the answer (out of step), answer discarded"))
	}
	s.closeChannel(ch)
}

// syncBuffered brings the count of unfinished query bytes up to date with
// the client's framer, and starts or stops the clock of its unfinished
// query. The clock runs only while the proxy reads the client (pipelined
// input behind a pending query waits for the proxy, not the client), and
// on for a refused query still arriving: it holds no bytes, but the time
// it may take is bounded as well.
func (s *Site) syncBuffered(c *client) {
	if s.clients[c.id] != c {
		return
	}
	n := int64(c.framer.Buffered())
	s.queryBytes += n - c.buffered
	c.buffered = n
	if c.state == clientRefusing || c.state == clientReading && n > 0 {
		if c.partialSince.IsZero() {
			c.partialSince = s.now
			s.partialDue = earliest(s.partialDue, s.now.Add(s.cfg.QueryReadTimeout))
		}
	} else {
		s.stopQueryClock(c)
	}
}

// stopQueryClock stops the clock of c's unfinished query. When its expiry
// was the site's earliest, partialDue moves on to the next one, so that
// NextDeadline never wakes the driver for a query that is no longer
// unfinished (a Tick then would act on nothing).
func (s *Site) stopQueryClock(c *client) {
	if c.partialSince.IsZero() {
		return
	}
	due := c.partialSince.Add(s.cfg.QueryReadTimeout)
	c.partialSince = time.Time{}
	if due.Equal(s.partialDue) {
		s.resetPartialDue()
	}
}

// resetPartialDue sets partialDue to the earliest expiry of the unfinished
// queries, or zero when there is none. It scans every client, but runs only
// when the earliest clock stops or the timeout changes.
func (s *Site) resetPartialDue() {
	s.partialDue = time.Time{}
	for _, c := range s.clients {
		if !c.partialSince.IsZero() {
			s.partialDue = earliest(s.partialDue, c.partialSince.Add(s.cfg.QueryReadTimeout))
		}
	}
}

// forgetClient takes a client that is being deleted out of the counts.
func (s *Site) forgetClient(c *client) {
	s.unackedBytes -= int64(c.unacked)
	s.queryBytes -= c.buffered
	c.unacked, c.buffered = 0, 0
	s.stopQueryClock(c)
}

// overQueryBudget refuses a client whose unfinished query grew while the
// global query budget had no room for it. The refusal is a 503 that says
// why. It answers the pending query if there is one (pipelined input
// behind it is what grew), at once, framed as that query asked; else the
// query still being sent, once it ends (refuse). A COMMAND gets no reply,
// so behind a pending COMMAND the refusal goes to the query after it. A
// client that already has part of an answer is just closed.
func (s *Site) overQueryBudget(c *client, grew bool) bool {
	if !grew || s.queryRoom() >= 0 || s.clients[c.id] != c {
		return false
	}
	s.stats.QueriesBusy++
	s.logf(LevelWarn, "site %s: client %d refused: the query buffer of all sites is full", s.cfg.Name, c.id)
	text := s.siteErr("liveproxyd's query buffer is full (liveproxyd_query_buffer_total), try again later")
	// The refusal answers the pending query, if there is one that expects
	// an answer; else the one still being sent.
	pending := c.state != clientReading && c.query.Method != "COMMAND"
	partial := c.state == clientInFlight && c.delivered > 0
	if c.state == clientInFlight {
		s.abortClient(c) // the channel drains the answer
	}
	if c.state == clientWaiting {
		s.dequeue(c)
		c.state = clientReading
	}
	switch {
	case partial:
		s.closeClient(c)
	case pending:
		s.replyError(c, livestatus.CodeBusy, text)
	default:
		s.refuse(c, livestatus.CodeBusy, text)
	}
	return true
}

// expireQueries answers clients whose unfinished query has not been
// completed within QueryReadTimeout of its first byte (a client that
// sends half a query and waits would otherwise pin its buffer forever;
// naemon closes such a connection after 10 s as well). A refusing client
// is bounded the same way, though it holds no bytes: it gets its refusal.
func (s *Site) expireQueries() {
	if s.partialDue.IsZero() || s.now.Before(s.partialDue) {
		return
	}
	var late []ClientID
	s.partialDue = time.Time{}
	for id, c := range s.clients {
		if c.partialSince.IsZero() {
			continue
		}
		due := c.partialSince.Add(s.cfg.QueryReadTimeout)
		if s.now.Before(due) {
			s.partialDue = earliest(s.partialDue, due)
			continue
		}
		late = append(late, id)
	}
	slices.Sort(late) // map order is random; actions must not be
	for _, id := range late {
		c := s.clients[id]
		s.logf(LevelDebug, "site %s: client %d: query not completed within %s", s.cfg.Name, id, s.cfg.QueryReadTimeout)
		if c.state != clientRefusing {
			s.stats.QueriesBad++
			s.refuse(c, livestatus.CodeIncomplete, s.siteErr("incomplete request: query not completed within %s", s.cfg.QueryReadTimeout))
		}
		if s.clients[id] == c { // a refused client keeps the reply it was given
			s.endRefusal(c)
		}
	}
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// checkMemory is the CheckInvariants clause of the memory counts: they
// must add up, or the global budgets drift.
func (s *Site) checkMemory() error {
	var held, unacked, buffered int64
	var due time.Time
	for _, ch := range s.channels {
		held += ch.reserved
		if ch.hold != nil && (ch.state != ChanBusy || ch.reader() == nil || int64(len(ch.hold)) > ch.reserved) {
			return fmt.Errorf("channel %d holds %d of %d bytes while %s without a reader", ch.id, len(ch.hold), ch.reserved, ch.state)
		}
	}
	for id, c := range s.clients {
		unacked += int64(c.unacked)
		buffered += c.buffered
		if c.buffered != int64(c.framer.Buffered()) {
			return fmt.Errorf("client %d: %d query bytes counted, %d buffered", id, c.buffered, c.framer.Buffered())
		}
		if !c.partialSince.IsZero() {
			due = earliest(due, c.partialSince.Add(s.cfg.QueryReadTimeout))
		}
	}
	// Not only no later than the first expiry but equal to it: an earlier
	// partialDue would be a deadline at which a Tick does nothing.
	if !due.Equal(s.partialDue) {
		return fmt.Errorf("partialDue is %v, but the first unfinished query would expire at %v", s.partialDue, due)
	}
	if held != s.heldBytes || unacked != s.unackedBytes || buffered != s.queryBytes {
		return fmt.Errorf("memory counts held/unacked/query %d/%d/%d, actual %d/%d/%d",
			s.heldBytes, s.unackedBytes, s.queryBytes, held, unacked, buffered)
	}
	return nil
}

// staleBytes handles bytes the driver read from a channel before the
// core's latest request on it was written. They answer nothing that was
// asked: bytes after an answer that arrive after the channel was reused
// (a late answer, naemon's "400:" after a COMMAND). Without this they would
// be read as the new request's answer; the channel is out of step, so it
// is closed and its client gets a 502 (nothing of its answer can have gone
// out: these bytes come first on the socket).
func (s *Site) staleBytes(ch *channel, n int) {
	s.noteError("bytes nobody asked for")
	s.logf(LevelInfo, "site %s: channel %d: %d bytes read before its request was written (out of step), closing it", s.cfg.Name, ch.id, n)
	switch c := ch.client; {
	case c != nil && ch.command:
		s.queryDone(c) // the COMMAND was written; it gets no reply, as from the server
	case c != nil:
		s.failClient(c, livestatus.CodeBadGateway, s.siteErr("site sent more than the answer (out of step)"))
	}
	s.closeChannel(ch)
	if s.state != SiteAlive && !s.hasProvenOpen() {
		s.markDead("bytes nobody asked for")
	}
}
