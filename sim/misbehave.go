package sim

import "fmt"

// How the simulated server misbehaves. server.go models what a Livestatus
// server does; the misbehaviours here come on top, when the world's fault
// plan says so.

// command executes a COMMAND: no answer, except naemon's "400: ..." when the
// command failed, bytes that no request on the connection asked for.
func (srv *server) command(c *srvConn, r *request) {
	if srv.naemon && srv.w.strikes(FaultCommand400) {
		srv.w.fired(srv.s, FaultCommand400, uint64(c.ch.id))
		c.write([]byte("400: Command failed: no such host or service\n"))
	}
}

// armIdle starts naemon's idle timeout for a connection with nothing to do.
func (c *srvConn) armIdle() {
	srv := c.srv
	if !srv.naemon || !srv.w.enabled(FaultIdleClose) {
		return
	}
	c.idleGen++
	gen := c.idleGen
	srv.w.after(srv.w.between(idleCloseAfterMin, srv.w.plan.IdleCloseAfterMax), func() {
		if c.open && gen == c.idleGen && !c.busy && len(c.reqs) == 0 && len(c.in) == 0 && !srv.hung && srv.w.enabled(FaultIdleClose) {
			srv.w.fired(srv.s, FaultIdleClose, uint64(c.ch.id))
			c.close("EOF")
		}
	})
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
