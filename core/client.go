package core

import (
	"time"

	"liveproxyd/livestatus"
)

type client struct {
	id        ClientID
	state     clientState
	since     time.Time // waiting since
	framer    *livestatus.Framer
	query     livestatus.Query
	eof       bool
	started   time.Time // when the current query was complete
	unacked   int       // bytes handed to the driver, not yet written
	delivered int64     // bytes of the current answer handed to the driver
	channel   *channel  // in flight
	cacheKey  string    // the current query's cache key; "" if not cacheable
	// buffered is the framer's size as last counted in Site.queryBytes;
	// partialSince is when the unfinished query being read began.
	buffered     int64
	partialSince time.Time
	refusal      refusal // while clientRefusing
}

func (s *Site) clientAccepted(id ClientID) {
	if _, dup := s.clients[id]; dup {
		return
	}
	s.clients[id] = &client{id: id, framer: livestatus.NewFramer(s.cfg.MaxQueryBytes)}
}

func (s *Site) clientData(id ClientID, data []byte) {
	c := s.clients[id]
	if c == nil || c.eof {
		return
	}
	if c.state == clientRefusing {
		s.refusedData(c, data)
		return
	}
	before := c.buffered
	c.framer.Push(data)
	defer func() {
		s.syncBuffered(c)
		s.overQueryBudget(c, c.buffered > before)
	}()
	if c.state == clientReading {
		s.nextQuery(c)
		return
	}
	// Pipelined input waits in the framer; a client that floods it while
	// its query is pending is cut off rather than buffered without bound.
	if c.framer.Buffered() > s.cfg.MaxQueryBytes {
		s.logf(LevelDebug, "site %s: client %d flooded pipelined input", s.cfg.Name, id)
		s.abortClient(c)
		s.closeClient(c)
	}
}

func (s *Site) clientEOF(id ClientID) {
	c := s.clients[id]
	if c == nil || c.eof {
		return
	}
	c.eof = true
	switch c.state {
	case clientRefusing:
		s.endRefusal(c)
		return
	case clientReading:
		s.nextQuery(c)
	}
	s.syncBuffered(c)
}

func (s *Site) clientGone(id ClientID) {
	c := s.clients[id]
	if c == nil {
		return
	}
	s.abortClient(c)
	s.forgetClient(c)
	delete(s.clients, id)
}

func (s *Site) clientWritten(id ClientID, n int) {
	c := s.clients[id]
	if c == nil {
		return
	}
	acked := min(max(n, 0), c.unacked)
	c.unacked -= acked
	s.unackedBytes -= int64(acked)
	if ch := c.channel; ch != nil && ch.paused {
		if c.unacked <= s.cfg.HighWater/2 {
			s.resume(ch)
		} else if n > 0 {
			ch.deadline = s.now.Add(s.cfg.QueryTimeout) // the client makes progress
		}
	}
}

// abortClient detaches a client that will get no more bytes: a query in
// flight keeps its channel, which drains the rest of the response.
func (s *Site) abortClient(c *client) {
	switch c.state {
	case clientWaiting:
		s.dequeue(c)
		s.stats.QueriesGone++
	case clientInFlight:
		ch := c.channel
		ch.client = nil
		ch.draining = true
		s.dropHold(ch)
		if ch.paused {
			s.resume(ch)
		}
		s.stats.QueriesGone++
	}
	c.channel = nil
	c.state = clientReading
}

func (s *Site) dequeue(c *client) {
	s.unfollow(c)
	for i, w := range s.waitQ {
		if w == c {
			s.waitQ = append(s.waitQ[:i], s.waitQ[i+1:]...)
			return
		}
	}
}

// nextQuery takes the next complete query of a reading client, if any.
// Queries answered from the cache are served in a loop, not by recursion:
// a client may pipeline many of them.
func (s *Site) nextQuery(c *client) {
	for s.takeQuery(c) {
		if c.query.KeepAlive || c.query.Method == "COMMAND" {
			continue
		}
		s.closeClient(c)
		return
	}
}

// takeQuery handles the next query and reports whether it was dealt with
// at once (answered from the cache, or a COMMAND dropped), so the client
// reads on.
func (s *Site) takeQuery(c *client) bool {
	q, ok, err := c.framer.Next(c.eof)
	switch {
	case err == livestatus.ErrQueryTooLarge:
		s.stats.QueriesBad++
		s.logf(LevelDebug, "site %s: client %d: query over %d bytes", s.cfg.Name, c.id, s.cfg.MaxQueryBytes)
		s.refuse(c, livestatus.CodeTooLarge, s.siteErr("query too large (limit %d bytes)", s.cfg.MaxQueryBytes))
		return false
	case err == livestatus.ErrIncomplete:
		s.stats.QueriesBad++
		s.refuse(c, livestatus.CodeIncomplete, s.siteErr("incomplete request")) // at EOF: answered at once
		return false
	case !ok:
		if c.eof {
			s.closeClient(c)
		}
		return false
	}
	c.query, c.started = q, s.now
	c.delivered = 0
	if q.Bad != "" {
		// Not forwarded: a line a server could read otherwise than the
		// proxy (ParseQuery says which) would desynchronise a shared channel.
		s.stats.QueriesBad++
		s.replyError(c, livestatus.CodeBadRequest, s.siteErr("%s", q.Bad))
		return false
	}
	if q.Method == "COMMAND" && (s.state == SiteDead || s.state == SiteStopped) {
		// No reply to a COMMAND, not even an error: only the log tells.
		s.stats.QueriesDead++
		s.logf(LevelInfo, "site %s: COMMAND dropped, site is %s: %.80s", s.cfg.Name, s.state, q.Lines[0])
		return true
	}
	if s.state == SiteDead || s.state == SiteStopped {
		s.stats.QueriesDead++
		s.stats.observe(0)
		text := s.siteErr("site is dead: %s", s.cause)
		if s.state == SiteStopped {
			text = s.siteErr("liveproxyd is shutting down")
		}
		s.replyError(c, livestatus.CodeBadGateway, text)
		return false
	}
	c.cacheKey = ""
	if s.cacheable(q) {
		c.cacheKey = cacheKey(q)
	}
	if s.answerFromCache(c) {
		return true
	}
	if s.cacheUsable(c) && s.flying(c.cacheKey) {
		s.follow(c) // the same answer is on its way: wait for it (flight.go)
		return false
	}
	if s.cacheUsable(c) {
		s.stats.CacheMisses++
	}
	c.state, c.since = clientWaiting, s.now
	s.waitQ = append(s.waitQ, c)
	return false
}

// cacheUsable tells whether c's query may be answered from the cache now.
// A client that does not read its answers is not fed from the cache:
// forwarded queries have backpressure, cached ones would pile up here.
func (s *Site) cacheUsable(c *client) bool {
	return c.cacheKey != "" && s.state == SiteAlive && c.unacked <= s.cfg.HighWater
}

// answerFromCache answers c's query from the cache, if it may and can.
func (s *Site) answerFromCache(c *client) bool {
	if !s.cacheUsable(c) {
		return false
	}
	resp, hit := s.cache.get(c.cacheKey)
	if !hit {
		return false
	}
	s.stats.CacheHits++
	s.stats.QueriesOK++
	if !c.query.Fixed16 {
		resp = resp[livestatus.HeaderLen:]
	}
	s.writeClient(c, resp)
	s.stats.observe(0)
	return true
}

func (s *Site) cacheable(q livestatus.Query) bool {
	return s.cfg.Cache && q.Cache && q.Method == "GET"
}

// queryDone ends the answer of a client's query: a KeepAlive client reads
// on, any other is closed.
func (s *Site) queryDone(c *client) {
	c.state, c.channel = clientReading, nil
	if !c.query.KeepAlive && c.query.Method != "COMMAND" {
		s.closeClient(c)
		return
	}
	s.nextQuery(c)
	s.syncBuffered(c)
}

// replyError answers the client's query with a proxy error and closes it.
// fixed16 defaults to what the current query asked for.
func (s *Site) replyError(c *client, code int, text string, fixed16 ...bool) {
	f := c.query.Fixed16
	if len(fixed16) > 0 {
		f = fixed16[0]
	}
	if c.state == clientWaiting {
		s.dequeue(c)
	}
	s.writeClient(c, livestatus.ErrorReply(f, code, text))
	c.state, c.channel = clientReading, nil
	s.closeClient(c)
}

// failClient ends a waiting or in-flight query with an error, or, when part
// of the answer already went out, just closes the client (a truncated
// answer is all that can honestly be given).
func (s *Site) failClient(c *client, code int, text string) {
	if c.delivered > 0 {
		s.stats.QueriesGone++
		c.state, c.channel = clientReading, nil
		s.closeClient(c)
		return
	}
	s.stats.observe(s.now.Sub(c.started))
	switch code {
	case livestatus.CodeBadGateway:
		s.stats.QueriesDead++
	case livestatus.CodeBusy:
		s.stats.QueriesBusy++
	case livestatus.CodeTimeout:
		s.stats.QueriesTimeout++
	}
	if c.query.Method == "COMMAND" {
		// A COMMAND never gets a reply, not even an error: the text would
		// be read as the answer to the client's next query. That query is
		// taken now and answered (with an error, if the site is gone).
		if c.state == clientWaiting {
			s.dequeue(c)
		}
		s.queryDone(c)
		return
	}
	s.replyError(c, code, text)
}

func (s *Site) writeClient(c *client, data []byte) { s.writeClientBuf(c, data, nil) }

// writeClientBuf writes data, which lies in buf when buf is not nil: a
// buffer the core lets go of (Action.Buf).
func (s *Site) writeClientBuf(c *client, data, buf []byte) {
	if len(data) == 0 {
		return
	}
	c.unacked += len(data)
	s.unackedBytes += int64(len(data))
	c.delivered += int64(len(data))
	s.stats.BytesToClients += uint64(len(data))
	s.emit(Action{Kind: ActWriteClient, Client: c.id, Data: data, Buf: buf})
}

func (s *Site) closeClient(c *client) {
	s.emit(Action{Kind: ActCloseClient, Client: c.id})
	s.forgetClient(c)
	delete(s.clients, c.id)
}
