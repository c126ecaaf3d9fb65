package sim

import (
	"fmt"
	"hash/crc32"
	"strings"
)

// The query cache. Cached clients send "Cache: reload" GETs drawn from a
// small set of request lines and AuthUsers, so that the core sees the same
// upstream request again and again and may answer it from its cache.
//
// The site answers such a request with a body that is a function of its
// lines (AuthUser among them) and of the site's program_start when it
// renders the answer, nothing else: a cached answer is byte-identical to a
// fresh one as long as program_start stays. program_start only ever grows
// (a restart or a reload of the monitoring core gives a new, later one).
//
// The rule. Let known be the highest program_start that heartbeat answers
// delivered to the core had reported when the query's last byte reached the
// core ("delivered": the answer's last byte was handed to the core in a
// Step; cut, garbled and COMMAND-probe answers do not count). The answer a
// client gets must be, byte for byte, the site's answer to the client's own
// lines under some program_start P the site had, with P >= known. For a
// correct core this holds whether the answer is fresh or cached:
//   - fresh: the site renders it after the query reached the core, so after
//     every heartbeat answer that the core had by then; P >= known;
//   - cached: the core drops its entries when a heartbeat reports another
//     program_start, so an entry made under P is never served once the core
//     has been told of a later one; P >= known.
//
// An entry kept across a restart the core was told of gives P < known: a
// stale answer. One user's answer served to another, or the answer to other
// lines, differs in its bytes. A query pipelined behind others is taken
// after its arrival; that only makes the check more lenient for it.

// hbMark is a heartbeat answer in a channel's byte stream: once the core
// has been handed end bytes of the channel, it has been told ps.
type hbMark struct {
	end int
	ps  int64
}

// cachedLines are the request lines cached clients choose from (after the
// request line's table); cachedUsers their AuthUsers ("" for none).
var (
	cachedLines = [][]string{
		{"GET hosts", "Columns: name state address", "Filter: state = 0"},
		{"GET services", "Columns: host_name description state", "Filter: state > 0"},
		{"GET hostgroups", "Columns: name members"},
	}
	cachedUsers = []string{"omdadmin", "alice", "bob", ""}
)

// cachedAnswer is the site's answer to a cached-kind upstream request of
// user under program_start ps: unit repeated to n bytes. The unit names
// user and ps (for readable failures); the checksum binds it to the lines.
func cachedAnswer(upstream []byte, user string, ps int64) (unit string, n int) {
	if user == "" {
		user = "-"
	}
	h := crc32.ChecksumIEEE(upstream)
	unit = fmt.Sprintf("%s@%d#%08x.", user, ps, h)
	return unit, len(unit) + int(h%4000)
}

// spawnCached: a few cached-kind queries, one after another or pipelined.
func (s *siteSim) spawnCached() {
	w := s.w
	c := s.newClient("cached")
	c.pipelined = w.chance(0.2)
	fixed := w.chance(0.75)
	n := w.intn(1, 6)
	for i := 0; i < n; i++ {
		c.script = append(c.script, c.cached(fixed, i < n-1 || w.chance(0.5)))
	}
	c.begin()
}

// cached builds one cached-kind query; the headers the proxy owns go
// anywhere, as in get.
func (c *client) cached(fixed, ka bool) *query {
	w := c.w
	lines := cachedLines[w.intn(0, len(cachedLines)-1)]
	first, lines := lines[0], append([]string(nil), lines[1:]...)
	user := cachedUsers[w.intn(0, len(cachedUsers)-1)]
	if user != "" {
		lines = append(lines, "AuthUser: "+user)
	}
	q := &query{id: c.newID(), c: c, kind: qCached, fixed16: fixed, keepAlive: ka, user: user}
	q.upstream = []byte(first + "\nResponseHeader: fixed16\nKeepAlive: on\n" + strings.Join(lines, "\n") + "\n\n")
	proxy := []string{"Cache: reload"}
	if fixed {
		proxy = append(proxy, "ResponseHeader: fixed16")
	}
	if ka {
		proxy = append(proxy, "KeepAlive: on")
	}
	for _, p := range proxy {
		i := w.intn(0, len(lines))
		lines = append(lines[:i], append([]string{p}, lines[i:]...)...)
	}
	q.raw = c.render(append([]string{first}, lines...))
	q.own = q.cachedAt(c.s.srv.programStart) // for the first byte only; see feed
	return q
}

// cachedAt is the answer the client must see if the site rendered it under
// program_start ps.
func (q *query) cachedAt(ps int64) answer {
	unit, n := cachedAnswer(q.upstream, q.user, ps)
	a := answer{unit: unit, n: n}
	if q.fixed16 {
		a.head = fixed16(200, n)
		a.n += len(a.head)
	}
	return a
}

// cand is the answer under one program_start the site had.
type cand struct {
	a  answer
	ps int64
}

// cachedCands are the answers a cached-kind query may get: one for every
// program_start the site has had so far (the answer's first byte is here,
// so it was rendered already).
func (c *client) cachedCands(q *query) []cand {
	out := make([]cand, 0, len(c.s.srv.starts))
	for _, ps := range c.s.srv.starts {
		out = append(out, cand{q.cachedAt(ps), ps})
	}
	return out
}

// matchCached narrows the candidates of the current answer by b, which
// starts at offset rx.got; it fails the run if none is left.
func (c *client) matchCached(b []byte) bool {
	rx := &c.rx
	last := rx.cands[len(rx.cands)-1]
	keep := rx.cands[:0]
	for _, k := range rx.cands {
		if k.a.mismatch(rx.got, b) < 0 {
			keep = append(keep, k)
		}
	}
	rx.cands = keep
	if len(keep) > 0 {
		return true
	}
	i := last.a.mismatch(rx.got, b)
	c.w.fail(invAnswerBytes, "client %d query %s: answer byte %d is %q, want %q (under the site's program_start %d); got %q..., want %q... (another user's or query's answer?)",
		c.id, rx.q.id, rx.got+i, b[i], last.a.at(rx.got+i), last.ps, clip(b[i:]), last.a.excerpt(rx.got+i))
	return false
}

// judgeCached applies the rule to a complete cached-kind answer.
func (c *client) judgeCached(q *query) {
	w := c.w
	ps := c.rx.cands[0].ps
	w.res.Cache.Checked++
	if ps < q.knownPS {
		w.fail(invCacheFresh, "client %d query %s: stale answer: made under program_start %d, but a heartbeat answer delivered at +%v had told the core program_start %d before the query reached it (sent at +%v)",
			c.id, q.id, ps, q.knownAt, q.knownPS, q.sentAt)
		return
	}
	if ps < c.s.srv.programStart {
		w.res.Cache.Behind++ // the site moved on; the core had not been told yet
	}
}

// noteCached registers a cached-kind query as sent, so that the site can
// recognise its upstream request.
func (s *siteSim) noteCached(q *query) {
	if s.cachedQs == nil {
		s.cachedQs = map[string][]*query{}
	}
	k := string(q.upstream)
	s.cachedQs[k] = append(s.cachedQs[k], q)
}

// admitCached takes an upstream request that is one of the cached kind. Any
// client with that upstream may be the one it carries, so the site notes it
// on all of them that are still waiting (lenient for their error checks).
func (s *siteSim) admitCached(r *request) bool {
	k := string(r.raw)
	qs, ok := s.cachedQs[k]
	if !ok {
		return false
	}
	live := qs[:0]
	for _, q := range qs {
		if !q.done {
			live = append(live, q)
		}
	}
	clear(qs[len(live):])
	s.cachedQs[k] = live
	r.cached, r.qs = true, append([]*query(nil), live...)
	for _, q := range live {
		if q.siteSeen++; q.siteSeen == 1 {
			q.siteAt = s.w.now
		}
		if s.srv.hung {
			q.hung = true
		}
	}
	return true
}

// nextReload plans the next reload of the monitoring core: it keeps its
// connections, so only a heartbeat's program_start can tell the core.
func (s *siteSim) nextReload() {
	w := s.w
	w.after(w.between(reloadGapMin, w.plan.ReloadGapMax), func() {
		if w.ending {
			return
		}
		if w.enabled(FaultReload) && !s.srv.down {
			s.srv.reload()
			w.fired(s, FaultReload, uint64(s.srv.programStart))
		}
		s.nextReload()
	})
}
