package sim

import (
	"bytes"
	"fmt"
	"time"
)

// server is a simulated Livestatus server (the remote site): it parses
// requests from each connection's byte stream, answers them in order after
// a service time, and misbehaves as the fault plan says.
type server struct {
	s            *siteSim
	w            *World
	naemon       bool  // naemon habits: idle close, "400:" after COMMAND; else Icinga's pool
	programStart int64 // answered to GET status
	starts       []int64
	down         bool // restarting: connects are refused
	hung         bool // accepts and reads, answers nothing
	slowHB       bool // heartbeat answers are delayed around the timeout
	capacity     int  // serve only the first capacity open connections; 0: all
	conns        []*srvConn
}

// srvConn is the server end of one channel.
type srvConn struct {
	srv       *server
	ch        *chanConn
	open      bool
	in        []byte
	reqs      []*request // parsed, not yet answered, in order
	busy      bool       // the head request is being rendered
	afterCmd  bool       // the last request was a COMMAND
	out       int        // bytes written to the proxy
	idleGen   uint64
	capNoted  bool
	responses int
}

func newServer(s *siteSim, naemon bool) *server {
	ps := epoch.Unix() - int64(s.w.intn(3600, 30*86400))
	return &server{s: s, w: s.w, naemon: naemon, programStart: ps, starts: []int64{ps}}
}

func (srv *server) knownStart(ps int64) bool {
	for _, v := range srv.starts {
		if v == ps {
			return true
		}
	}
	return false
}

// accept registers a new connection (the dial got through).
func (srv *server) accept(ch *chanConn) *srvConn {
	c := &srvConn{srv: srv, ch: ch, open: true}
	srv.conns = append(srv.conns, c)
	c.armIdle()
	return c
}

// serves tells whether c gets a worker: Icinga serves each connection with
// one thread of a fixed pool for its whole life, in accept order.
func (srv *server) serves(c *srvConn) bool {
	if srv.capacity == 0 {
		return true
	}
	for i, o := range srv.conns {
		if o == c {
			return i < srv.capacity
		}
	}
	return false
}

func (srv *server) pumpAll() {
	for _, c := range append([]*srvConn(nil), srv.conns...) {
		c.pump()
	}
}

func (srv *server) remove(c *srvConn) {
	for i, o := range srv.conns {
		if o == c {
			srv.conns = append(srv.conns[:i], srv.conns[i+1:]...)
			break
		}
	}
	// A worker came free: a waiting connection may be served now.
	srv.pumpAll()
}

// onData receives request bytes from the proxy.
func (c *srvConn) onData(b []byte) {
	if !c.open {
		return
	}
	c.idleGen++
	c.in = append(c.in, b...)
	read := readIcinga
	if c.srv.naemon {
		read = readNaemon
	}
	for {
		raw, n, empty := read(c.in)
		if n == 0 {
			break
		}
		raw = append([]byte(nil), raw...)
		c.in = c.in[n:]
		if empty {
			if !c.srv.naemon {
				// Icinga closes on an empty request: a proxy must never send one.
				c.srv.w.fail(invUpstreamNotEmpty, "site %s: empty upstream request (Icinga closes the connection): %q", c.srv.s.name, raw)
				return
			}
			continue
		}
		r, err := parseRequest(raw)
		if err != nil {
			c.srv.w.fail(invUpstreamWellFormed, "site %s: %v", c.srv.s.name, err)
			return
		}
		// A status query right behind a COMMAND is the core's resync probe,
		// not a heartbeat: its answer need not teach the core anything.
		r.probe = r.heartbeat && c.afterCmd
		c.afterCmd = r.method == "COMMAND"
		c.srv.admit(r)
		c.reqs = append(c.reqs, r)
	}
	c.pump()
}

// admit checks an upstream request against what the client really sent and
// notes on the client's query that the site got it.
func (srv *server) admit(r *request) {
	w := srv.w
	switch {
	case r.heartbeat:
		if !r.fixed16 || !r.keepAlive || r.badHeader != "" {
			w.fail(invHeartbeatFramed, "site %s: heartbeat without fixed16/KeepAlive: %q", srv.s.name, r.raw)
		}
		return
	case r.method != "GET" && r.method != "COMMAND":
		w.fail(invUpstreamWellFormed, "site %s: the proxy forwarded an invalid request method: %q", srv.s.name, r.raw)
		return
	}
	q := w.queries[r.id]
	if q == nil && srv.s.admitCached(r) {
		return
	}
	if q == nil {
		w.fail(invUpstreamKnown, "site %s: upstream request no client sent: %q", srv.s.name, r.raw)
		return
	}
	if !bytes.Equal(r.raw, q.upstream) {
		w.fail(invUpstreamCanonical, "site %s: upstream request for %s is %q, want %q", srv.s.name, q.id, r.raw, q.upstream)
		return
	}
	r.q = q
	if q.siteSeen == 0 {
		srv.checkOrder(q)
	}
	q.siteSeen++
	if q.siteSeen == 1 {
		q.siteAt = w.now
	}
	if srv.hung {
		q.hung = true
	}
}

// checkOrder: a client's queries reach the site in the order it sent
// them; a COMMAND must be executed before the GET the client sent after it.
func (srv *server) checkOrder(q *query) {
	for _, p := range q.c.script {
		if p == q {
			return
		}
		// Excused: a COMMAND the core dropped (a COMMAND gets no reply, not
		// even an error) because it held the site dead or found no channel
		// within channel_timeout, or one lost with a channel the site cut.
		s := srv.s
		lost := s.downAt(p.sentAt) || s.diedSince(p.sentAt) || s.cutSeenAt >= p.sentAt ||
			srv.w.now-p.sentAt >= s.minSince(p.sentAt).ChannelTimeout
		if p.kind == qCommand && p.siteSeen == 0 && !lost {
			srv.w.fail(invUpstreamOrder, "site %s: query %s reached the site before %s, which its client sent first", srv.s.name, q.id, p.id)
			return
		}
	}
}

// pump answers queued requests, one at a time, in order.
func (c *srvConn) pump() {
	srv := c.srv
	for c.open && !c.busy && len(c.reqs) > 0 && !srv.hung {
		if !srv.serves(c) {
			if !c.capNoted && srv.w.enabled(FaultCapacity) {
				c.capNoted = true
				srv.w.fired(srv.s, FaultCapacity, uint64(c.ch.id))
			}
			return
		}
		r := c.reqs[0]
		if r.method == "COMMAND" {
			c.reqs = c.reqs[1:]
			srv.command(c, r)
			continue
		}
		c.busy = true
		srv.w.after(srv.serviceTime(r), func() { c.respond(r) })
		return
	}
	if c.open && !c.busy && len(c.reqs) == 0 {
		c.armIdle()
	}
}

func (srv *server) serviceTime(r *request) time.Duration {
	w := srv.w
	switch {
	case r.heartbeat && srv.slowHB:
		hbt := srv.s.snap.HeartbeatTimeout
		w.fired(srv.s, FaultSlowHeartbeat, 0)
		return time.Duration(float64(hbt) * (0.6 + 0.9*w.rng.Float64()))
	case r.heartbeat:
		if w.chance(0.05) {
			return w.between(10*time.Millisecond, 300*time.Millisecond)
		}
		return w.between(100*time.Microsecond, 3*time.Millisecond)
	case r.q != nil && r.wait > 0:
		// A long-poll: silent until its trigger fires, at the latest
		// when its WaitTimeout is over.
		return min(r.q.delay, r.wait)
	case r.q != nil:
		return r.q.delay
	case r.cached:
		return w.between(500*time.Microsecond, 20*time.Millisecond)
	}
	return time.Millisecond
}

// respond writes the answer to the head request.
func (c *srvConn) respond(r *request) {
	srv, w := c.srv, c.srv.w
	c.busy = false
	if !c.open {
		return
	}
	if srv.hung {
		r.each(func(q *query) { q.hung = true })
		return // stays at the head; answered when the hang ends
	}
	c.reqs = c.reqs[1:]
	c.responses++
	if r.badHeader != "" && srv.naemon {
		c.naemonBadHeader(r)
		return
	}
	if r.badHeader != "" {
		// Icinga answers nothing if it never saw the fixed16 header.
		if r.fixed16 {
			body := badHeaderBody(r.badHeader)
			c.write(append(fixed16(400, len(body)), body...))
		}
		c.close("EOF")
		return
	}
	code, body := srv.answer(r)
	resp := body
	if r.fixed16 {
		resp = make([]byte, 0, 16+len(body))
		resp = append(append(resp, fixed16(code, len(body))...), body...)
	}
	// A heartbeat that is the only way back to life is spared faults
	// while the world waits for the site to recover.
	mayFault := r.fixed16 && len(resp) > 1 && (!r.heartbeat || !srv.s.watching())
	switch {
	case mayFault && w.strikes(FaultReset):
		w.fired(srv.s, FaultReset, uint64(c.ch.id))
		r.each(func(q *query) { q.reset = true })
		c.write(resp[:w.intn(1, len(resp)-1)])
		c.close("connection reset by peer")
		return
	case mayFault && w.strikes(FaultGarbageHeader):
		w.fired(srv.s, FaultGarbageHeader, uint64(c.ch.id))
		r.each(func(q *query) { q.garbage = true })
		resp = append(garbageHeader(w, code, len(body)), body...)
	case mayFault && !r.heartbeat && w.strikes(FaultExtraAnswer):
		w.fired(srv.s, FaultExtraAnswer, uint64(c.ch.id))
		r.each(func(q *query) { q.extra = true })
		c.out += len(resp) + len(lateAnswer)
		c.ch.down.writeGlued(c.withExtra(resp))
		if !r.keepAlive {
			c.close("EOF")
			return
		}
		c.pump()
		return
	default:
		r.each(func(q *query) { q.siteDoneAt = w.now })
		if r.heartbeat && !r.probe && r.fixed16 {
			// Once the core has read this far, it has been told.
			c.ch.hbs = append(c.ch.hbs, hbMark{end: c.out + len(resp), ps: srv.programStart})
		}
	}
	c.out += len(resp)
	c.ch.down.writeOwned(resp)
	if !r.keepAlive {
		c.close("EOF")
		return
	}
	c.pump()
}

// answer renders the response to a GET: code and body.
func (srv *server) answer(r *request) (int, []byte) {
	switch {
	case r.heartbeat:
		return 200, fmt.Appendf(nil, "%d\n", srv.programStart)
	case r.q != nil && r.q.kind == qNoSuch:
		return 404, noSuchTable(r.table, r.id)
	case r.cached:
		unit, n := cachedAnswer(r.raw, r.authUser, srv.programStart)
		return 200, repeatUnit(unit, n)
	}
	return 200, bodyFor(r.id, r.limit)
}

// close is the server closing the connection (idle timeout, reset, ...).
func (c *srvConn) close(why string) {
	if !c.open {
		return
	}
	c.open = false
	ch := c.ch
	ch.down.close(func() { ch.arriveClose(why) })
	c.srv.remove(c)
}

// peerClosed: the proxy closed the channel; its FIN has arrived.
func (c *srvConn) peerClosed() {
	if !c.open {
		return
	}
	c.open = false
	c.srv.remove(c)
}

// hang stops all answers for d; requests keep queueing.
func (srv *server) hang(d time.Duration) {
	srv.hung = true
	for _, c := range srv.conns {
		for _, r := range c.reqs {
			r.each(func(q *query) { q.hung = true })
		}
	}
	srv.w.after(d, func() {
		srv.hung = false
		srv.s.episodeEnded("hang")
		srv.pumpAll()
	})
}

// restart resets every connection, refuses connects for d, and comes back
// with program_start+1 and possibly a smaller worker pool.
func (srv *server) restart(d time.Duration) {
	for _, c := range append([]*srvConn(nil), srv.conns...) {
		for _, r := range c.reqs {
			r.each(func(q *query) { q.restarted = true })
		}
		c.close("connection reset by peer")
	}
	srv.down = true
	srv.w.after(d, func() {
		srv.down = false
		srv.newStart()
		srv.capacity = srv.s.pickCapacity()
		srv.s.episodeEnded("restart")
	})
}

// newStart gives the monitoring core a new program_start, later than all
// before it.
func (srv *server) newStart() {
	srv.programStart++
	srv.starts = append(srv.starts, srv.programStart)
}

// reload is a reload of the monitoring core that keeps its Livestatus
// connections: only program_start tells the proxy.
func (srv *server) reload() { srv.newStart() }

// write sends bytes the proxy did not ask for (or asked for and gets cut).
func (c *srvConn) write(b []byte) {
	c.out += len(b)
	c.ch.down.write(b)
}
