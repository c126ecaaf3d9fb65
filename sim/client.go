package sim

import (
	"bytes"
	"time"

	"liveproxyd/core"
	"liveproxyd/livestatus"
)

// qKind is what a query is and so what answer it may get.
type qKind uint8

const (
	qGet      qKind = iota // own 200 response, or a 5xx proxy error
	qNoSuch                // own 404 response from the site, or a 5xx proxy error
	qCommand               // nothing, or a 5xx proxy error
	qBad                   // invalid method: 400
	qHalf                  // half a line, then EOF: 451
	qOversize              // over MaxQueryBytes: 413
	qCached                // "Cache: reload" GET shared by many clients: see cache.go
)

// query is one request of a simulated client, with everything needed to
// judge its answer exactly.
type query struct {
	id        string
	c         *client
	kind      qKind
	fixed16   bool // the client asked for fixed16 (also for its error)
	keepAlive bool
	user      string        // qCached: its AuthUser
	raw       []byte        // what the client writes
	upstream  []byte        // what the site must receive for it
	own       answer        // the exact answer the site gives, as the client must see it (n 0: none)
	delay     time.Duration // the site's service time
	wait      time.Duration // a long-poll's WaitTimeout: the site may be silent so long

	sentAt     time.Duration
	progressAt time.Duration // last byte of its answer seen by the client
	done       bool
	upEnd      int // offset of its end in the client's byte stream

	// qCached: the highest program_start the core had been told by a
	// heartbeat answer when the query's last byte reached it (see cache.go).
	knownPS int64
	knownAt time.Duration

	// Written by the simulated site.
	siteSeen   int
	siteAt     time.Duration // first arrival at the site
	siteDoneAt time.Duration // complete, faultless answer written
	hung       bool          // waited through a site hang
	restarted  bool          // pending when the site restarted
	reset      bool          // the site reset the connection mid-answer
	garbage    bool          // the site sent a garbage header
	extra      bool          // the site sent an unrequested answer next to this one's
}

// siteFaulted: the site itself broke this very query's answer.
func (q *query) siteFaulted() bool { return q.hung || q.restarted || q.reset || q.garbage || q.extra }

// expectsAnswer: the client waits for bytes for this query.
func (q *query) expectsAnswer() bool { return q.kind != qCommand }

// allowedCode tells whether a proxy error code fits the query. Any query
// may meet a full query buffer (a 503, judged by errorFair).
func (q *query) allowedCode(code int) bool {
	if code == livestatus.CodeBusy && q.c != nil && q.c.w.queryBudgetTight() {
		return true
	}
	switch q.kind {
	case qBad:
		return code == livestatus.CodeBadRequest
	case qHalf:
		return code == livestatus.CodeIncomplete
	case qOversize:
		return code == livestatus.CodeTooLarge
	}
	return code == livestatus.CodeBadGateway || code == livestatus.CodeBusy || code == livestatus.CodeTimeout
}

// client is a simulated client connection with its script of queries.
type client struct {
	w      *World
	s      *siteSim
	id     core.ClientID
	label  string // kind of client, for traces
	probe  bool
	script []*query
	sent   int // queries written
	cur    int // first query not yet answered (or passed, for COMMANDs)

	pipelined       bool
	endAbort        bool // after the script: reset the connection instead of EOF
	abortAfterBytes int  // disconnect after this many answer bytes (0: never)
	think           time.Duration

	up          *pipe
	upSent      int           // bytes of queries written to up
	upGot       int           // bytes of up delivered to the core
	arrived     int           // queries whose last byte reached the core
	readSizeMax int           // the most bytes taken by one read
	readGapMin  time.Duration // the pause before each read, drawn from [min, max]
	readGapMax  time.Duration
	stall       time.Duration // the pause before the first read instead (0: none)
	outbuf      bytes.Buffer  // written by the core, not yet read
	unacked     int
	readPending bool

	eofSent    bool
	aborted    bool
	coreClosed bool // ActCloseClient seen
	goneSent   bool // EvClientGone given
	closing    bool // close arrives after outbuf
	closedSeen bool
	allDoneAt  time.Duration // every query answered; waiting for close
	rx         rxState
}

// start connects the client and begins its script.
func (c *client) start() {
	s := c.s
	s.clientIDLast++
	c.id = s.clientIDLast
	s.cls[c.id] = c
	s.clientsOpen++
	c.up = newPipe(c.w, c.w.between(10*time.Microsecond, 100*time.Microsecond), 50*time.Microsecond, func(b []byte) {
		c.upGot += len(b)
		for c.arrived < c.sent && c.script[c.arrived].upEnd <= c.upGot {
			q := c.script[c.arrived]
			q.knownPS, q.knownAt = s.hbPS, s.hbAt
			c.arrived++
		}
		if !c.coreClosed && !c.goneSent {
			s.step(core.Event{Kind: core.EvClientData, Client: c.id, Data: b})
		}
	})
	c.w.clients = append(c.w.clients, c)
	s.active = append(s.active, c)
	c.w.res.Clients++
	c.w.note(s, "client "+c.label, uint64(c.id), 0, nil)
	s.step(core.Event{Kind: core.EvClientAccepted, Client: c.id})
}

// sendNext writes the next query (or all of them, pipelined).
func (c *client) sendNext() {
	if c.aborted || c.closedSeen || c.sent >= len(c.script) {
		return
	}
	n := c.sent + 1
	if c.pipelined {
		n = len(c.script)
	}
	var buf []byte
	for ; c.sent < n; c.sent++ {
		q := c.script[c.sent]
		buf = append(buf, q.raw...)
		c.upSent += len(q.raw)
		c.s.seen.sent++
		q.sentAt, q.upEnd = c.w.now, c.upSent
		c.w.queries[q.id] = q
		if q.kind == qCached {
			c.s.noteCached(q)
		}
		switch q.kind {
		case qCommand:
			c.w.res.Queries.Commands++
		case qGet, qNoSuch, qCached:
			c.w.res.Queries.Sent++
		}
	}
	c.up.write(buf)
	last := c.script[c.sent-1]
	switch {
	case last.kind == qHalf:
		c.sendEOF()
	case c.pipelined && c.w.chance(0.5):
		c.sendEOF() // the proxy must still answer everything before
	case !c.pipelined && last.kind == qCommand && c.sent < len(c.script):
		c.w.after(c.think, c.sendNext) // no answer to wait for
	}
	c.checkDone()
}

func (c *client) sendEOF() {
	if c.eofSent || c.aborted {
		return
	}
	c.eofSent = true
	c.up.close(func() {
		if !c.coreClosed && !c.goneSent {
			c.s.step(core.Event{Kind: core.EvClientEOF, Client: c.id})
		}
	})
}

// abort resets the connection: the proxy learns it when it next reads.
func (c *client) abort() {
	if c.aborted || c.closedSeen {
		return
	}
	c.aborted = true
	c.outbuf = bytes.Buffer{}
	c.up.closed = true
	c.moot()
	c.up.then(func() {
		if !c.coreClosed && !c.goneSent {
			c.goneSent = true
			c.s.clientsOpen--
			c.s.step(core.Event{Kind: core.EvClientGone, Client: c.id})
		}
	})
}

// moot marks the queries that will never be answered, because the client
// left or an earlier error closed it.
func (c *client) moot() {
	for _, q := range c.script[c.cur:] {
		if !q.done {
			q.done = true
			if q.expectsAnswer() {
				c.w.res.Queries.Moot++
			}
		}
	}
	c.cur = len(c.script)
}

// checkDone runs when the client may have nothing left to do: it then
// ends the conversation as its script says, and waits for the close.
func (c *client) checkDone() {
	if c.aborted || c.closedSeen || c.sent < len(c.script) {
		return
	}
	for _, q := range c.script[c.cur:] {
		if q.expectsAnswer() && !q.done {
			return
		}
	}
	if c.allDoneAt == 0 {
		c.allDoneAt = c.w.now
	}
	last := c.script[len(c.script)-1]
	if last.kind == qGet || last.kind == qNoSuch || last.kind == qCached {
		if !last.keepAlive {
			return // the proxy closes after the answer
		}
	}
	if c.endAbort {
		c.w.after(c.think, c.abort)
		return
	}
	c.sendEOF()
}

// pending is the query whose answer the client waits for now.
func (c *client) pending() *query {
	for _, q := range c.script[c.cur:c.sent] {
		if q.expectsAnswer() && !q.done {
			return q
		}
	}
	return nil
}

// read takes bytes the core wrote, at the client's pace, and acknowledges
// them to the core as written (EvClientWritten): a slow reader is a slow
// socket, and so backpressure.
func (c *client) scheduleRead() {
	if c.readPending || c.aborted || c.closedSeen {
		return
	}
	c.readPending = true
	gap := c.w.between(c.readGapMin, c.readGapMax)
	if c.stall > 0 {
		gap, c.stall = c.stall, 0
	}
	c.w.after(gap, c.readOnce)
}

func (c *client) readOnce() {
	c.readPending = false
	if c.aborted || c.closedSeen {
		return
	}
	if n := min(c.outbuf.Len(), c.readSizeMax); n > 0 {
		// Check before acknowledging: the slice is valid only until the next
		// write to the buffer, which the acknowledgement may cause.
		c.receive(c.outbuf.Next(n))
		c.unacked -= n
		if c.aborted || c.closedSeen {
			return
		}
		if !c.coreClosed && !c.goneSent {
			c.s.step(core.Event{Kind: core.EvClientWritten, Client: c.id, N: n})
		}
	}
	if c.outbuf.Len() > 0 {
		c.scheduleRead()
	} else if c.closing {
		c.closedSeen = true
		c.onClose()
	}
}

// writeClient is the driver's ActWriteClient.
func (s *siteSim) writeClient(id core.ClientID, data []byte) {
	c := s.cls[id]
	switch {
	case c == nil:
		s.w.fail(invClientKnown, "site %s: write to unknown client %d", s.name, id)
		return
	case c.coreClosed:
		s.w.fail(invClientWriteOpen, "site %s: write to client %d after closing it", s.name, id)
		return
	case c.goneSent:
		s.w.fail(invClientWriteOpen, "site %s: write to client %d after EvClientGone", s.name, id)
		return
	case c.aborted:
		return // the write fails; EvClientGone is on its way
	}
	c.outbuf.Write(data)
	c.unacked += len(data)
	// Below HighWater the core feeds the client: a streamed answer adds
	// one read, plus a header that came in an earlier read and is written
	// with it (seed 5561); a held one goes out whole, at most AnswerBuffer.
	if limit := s.cfg.HighWater + max(chunkMax+livestatus.HeaderLen, s.cfg.AnswerBuffer); c.unacked > limit {
		s.w.fail(invClientBufferMax, "site %s: client %d has %d unflushed bytes, bound is HighWater+max(%d+%d, AnswerBuffer) = %d",
			s.name, id, c.unacked, chunkMax, livestatus.HeaderLen, limit)
	}
	c.scheduleRead()
}

// closeClient is the driver's ActCloseClient.
func (s *siteSim) closeClient(id core.ClientID) {
	c := s.cls[id]
	switch {
	case c == nil:
		s.w.fail(invClientKnown, "site %s: close of unknown client %d", s.name, id)
		return
	case c.coreClosed:
		s.w.fail(invClientCloseOnce, "site %s: client %d closed twice", s.name, id)
		return
	case c.goneSent:
		s.w.fail(invClientCloseOnce, "site %s: close of client %d after EvClientGone", s.name, id)
		return
	}
	c.coreClosed = true
	s.clientsOpen--
	if !c.aborted {
		c.closing = true
		c.scheduleRead()
	}
}
