package sim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Client behaviours, drawn per client from the seed.

// mixEntry is one kind of client among the random arrivals: its weight (in
// percent), whether the world has it on, and how it starts.
type mixEntry struct {
	weight int
	on     func(*World) bool
	spawn  func(*siteSim)
}

// clientMix is the share of each kind of client among random arrivals. A
// kind that is off (Options.DisabledClients, or its fault class off in the
// plan) arrives as a plain client instead. Bursts come on their own clock.
var clientMix = []mixEntry{
	{12, kindOn(ClientCached), (*siteSim).spawnCached},
	{2, kindOn(ClientLongPoll), (*siteSim).spawnLongPoll},
	{2, kindOn(ClientStall), (*siteSim).spawnStalled},
	{20, func(*World) bool { return true }, (*siteSim).spawnPlain},
	{4, kindOn(ClientSmuggle), (*siteSim).spawnSmuggler},
	{8, kindOn(ClientPipelined), (*siteSim).spawnPipelined},
	{8, kindOn(ClientCommand), (*siteSim).spawnCommand},
	{8, faultOn(FaultSlowClient), (*siteSim).spawnSlow},
	{5, faultOn(FaultClientGoneQuery), (*siteSim).spawnGoneQuery},
	{5, faultOn(FaultClientGoneResponse), (*siteSim).spawnGoneResponse},
	{4, kindOn(ClientNoSuch), func(s *siteSim) { s.spawnOne("nosuch", qNoSuch) }},
	{4, kindOn(ClientBadMethod), func(s *siteSim) { s.spawnOne("bad-method", qBad) }},
	{4, kindOn(ClientHalfLine), func(s *siteSim) { s.spawnOne("half-line", qHalf) }},
	{4, kindOn(ClientOversize), func(s *siteSim) { s.spawnOne("oversize", qOversize) }},
	{10, kindOn(ClientBulky), (*siteSim).spawnBulky},
}

func kindOn(k ClientKind) func(*World) bool {
	return func(w *World) bool { return !w.opts.DisabledClients.Has(k) }
}

func faultOn(f Fault) func(*World) bool { return func(w *World) bool { return w.enabled(f) } }

// spawnRandom starts one client of a kind drawn from clientMix.
func (s *siteSim) spawnRandom() {
	w := s.w
	total := 0
	for _, m := range clientMix {
		total += m.weight
	}
	r := w.rng.IntN(total)
	for _, m := range clientMix {
		if r -= m.weight; r < 0 {
			if m.on(w) {
				m.spawn(s)
			} else {
				s.spawnPlain()
			}
			return
		}
	}
}

// spawnPlain: one to four GETs of ordinary size, one after another.
func (s *siteSim) spawnPlain() { s.spawnNormal("normal", s.w.intn(1, 4), false, s.sizeNormal) }

// spawnPipelined: two to five GETs in one write.
func (s *siteSim) spawnPipelined() { s.spawnNormal("pipelined", s.w.intn(2, 5), true, s.sizeNormal) }

// spawnBulky: one or two GETs with big answers.
func (s *siteSim) spawnBulky() {
	w := s.w
	s.spawnNormal("bulky", w.intn(1, 2), false, func() int { return w.intn(8<<10, 32<<10) })
}

// newClient makes a fast, well-behaved client and connects it.
func (s *siteSim) newClient(label string) *client {
	w := s.w
	c := &client{
		w: w, s: s, label: label, readSizeMax: 64 << 10,
		readGapMin: 20 * time.Microsecond, readGapMax: 200 * time.Microsecond,
		think: w.between(0, 100*time.Millisecond), endAbort: w.chance(0.3),
	}
	c.start()
	if w.strikes(FaultOneByte) {
		w.fired(s, FaultOneByte, uint64(c.id))
		c.up.oneByte = true
	}
	return c
}

// begin sends the first query after a moment.
func (c *client) begin() { c.w.after(c.w.between(0, 5*time.Millisecond), c.sendNext) }

func (s *siteSim) sizeNormal() int {
	w := s.w
	switch r := w.rng.IntN(100); {
	case r < 70:
		return w.intn(1, 500)
	case r < 95:
		return w.intn(500, 8<<10)
	}
	return w.intn(8<<10, 32<<10)
}

// serviceTime is how long the site will take for a client query.
func (s *siteSim) serviceTime() time.Duration {
	w := s.w
	switch r := w.rng.IntN(100); {
	case r < 85:
		return w.between(500*time.Microsecond, 30*time.Millisecond)
	case r < 97:
		return w.between(50*time.Millisecond, time.Second)
	}
	return w.between(time.Second, 4*time.Second)
}

// spawnNormal: n GETs, KeepAlive on all but maybe the last, sent one after
// another or all in one write.
func (s *siteSim) spawnNormal(label string, n int, pipelined bool, size func() int) *client {
	w := s.w
	c := s.newClient(label)
	c.pipelined = pipelined
	fixed := w.chance(0.75)
	for i := 0; i < n; i++ {
		ka := i < n-1 || w.chance(0.5)
		c.script = append(c.script, c.get(qGet, size(), fixed, ka, s.serviceTime()))
	}
	c.begin()
	return c
}

// spawnBurst starts more clients with slow queries than there are
// channels, so that some must wait and may get "all channels busy".
func (s *siteSim) spawnBurst() {
	for i := s.cfg.Channels + s.w.intn(1, 3); i > 0; i-- {
		c := s.newClient("burst")
		c.script = append(c.script, c.get(qGet, s.w.intn(1, 200), true, false, s.w.between(time.Second, 3*time.Second)))
		c.begin()
	}
}

// spawnLongPoll starts a long-poll on every channel at once (Checkmk's
// GUI waits so for a recheck result): WaitTrigger with a WaitTimeout of up
// to 10 s, which the site answers when the trigger fires or the timeout is
// over, silent until then.
func (s *siteSim) spawnLongPoll() {
	w := s.w
	for i := s.cfg.Channels; i > 0; i-- {
		c := s.newClient("long-poll")
		wait := w.between(time.Second, 10*time.Second)
		q := c.get(qGet, w.intn(1, 200), w.chance(0.7), false, w.between(wait/2, wait+time.Second),
			"WaitTrigger: check", fmt.Sprintf("WaitTimeout: %d", wait/time.Millisecond))
		q.wait = wait
		c.script = append(c.script, q)
		c.begin()
	}
}

// spawnStalled starts one reader per channel, each asking for an answer
// too big to be held (so it streams and its channel is paused) and then
// not reading for longer than a heartbeat interval and timeout: every
// channel is paused, so no heartbeat can go out, and the silence is the
// core's own choice, never the site's. Each stall ends before the query
// timeout, so the core must keep the readers and the site alive. A
// reconfiguration may lower the query timeout to its floor meanwhile.
func (s *siteSim) spawnStalled() {
	w := s.w
	stall := min(s.cfgMax.HeartbeatInterval+s.hbTimeoutMax+w.between(500*time.Millisecond, 2*time.Second),
		queryTimeoutFloor-2*time.Second)
	for i := s.cfg.Channels; i > 0; i-- {
		c := s.newClient("stalled")
		c.stall = stall
		c.script = append(c.script, c.get(qGet, w.intn(64<<10, 96<<10), w.chance(0.7), false, w.between(time.Millisecond, 50*time.Millisecond)))
		c.begin()
	}
}

// spawnProbe: a small plain query; probes show when a site works again.
func (s *siteSim) spawnProbe() {
	c := s.newClient("probe")
	c.probe = true
	c.script = append(c.script, c.get(qGet, s.w.intn(10, 200), true, false, time.Millisecond))
	c.begin()
}

func (s *siteSim) spawnCommand() {
	w := s.w
	c := s.newClient("command")
	c.pipelined = w.chance(0.3)
	c.script = append(c.script, c.command())
	follow := w.intn(0, 2)
	for i := 0; i < follow; i++ {
		c.script = append(c.script, c.get(qGet, s.sizeNormal(), w.chance(0.75), i < follow-1 || w.chance(0.5), s.serviceTime()))
	}
	c.begin()
}

// spawnSlow: a big answer read in small pieces with pauses, so the core
// must stop reading the channel (backpressure).
func (s *siteSim) spawnSlow() {
	w := s.w
	c := s.newClient("slow")
	w.fired(s, FaultSlowClient, uint64(c.id))
	c.readSizeMax = w.intn(256, 2048)
	c.readGapMin, c.readGapMax = 5*time.Millisecond, 50*time.Millisecond
	n := 1
	if w.chance(0.3) {
		n, c.pipelined = 2, true
	}
	for i := 0; i < n; i++ {
		c.script = append(c.script, c.get(qGet, w.intn(16<<10, 48<<10), w.chance(0.5), i < n-1, s.serviceTime()))
	}
	c.begin()
}

// spawnGoneQuery: part of a query, then the client vanishes.
func (s *siteSim) spawnGoneQuery() {
	w := s.w
	c := s.newClient("gone-query")
	w.fired(s, FaultClientGoneQuery, uint64(c.id))
	q := c.get(qGet, 10, true, false, time.Millisecond)
	q.done = true // never complete, never answered
	c.up.write(q.raw[:w.intn(1, len(q.raw)-2)])
	w.after(w.between(0, 20*time.Millisecond), c.abort)
}

// spawnGoneResponse: the client vanishes after part of a big answer.
func (s *siteSim) spawnGoneResponse() {
	w := s.w
	c := s.newClient("gone-response")
	q := c.get(qGet, w.intn(4<<10, 24<<10), w.chance(0.5), false, s.serviceTime())
	c.script = append(c.script, q)
	c.abortAfterBytes = w.intn(1, q.own.len()-1)
	c.begin()
}

// spawnOne: a client with a single query of the given kind.
func (s *siteSim) spawnOne(label string, kind qKind) {
	w := s.w
	c := s.newClient(label)
	fixed := w.chance(0.6)
	var q *query
	switch kind {
	case qNoSuch:
		q = c.get(qNoSuch, 0, fixed, w.chance(0.3), s.serviceTime())
	default:
		q = c.malformed(kind, fixed)
	}
	c.script = append(c.script, q)
	c.begin()
}

func (c *client) newID() string {
	return fmt.Sprintf("q%d-%d-%d", c.s.idx, c.id, len(c.script)+1)
}

// get builds a GET whose answer is derived from its id and Limit. The
// headers the proxy owns are placed anywhere, as clients do.
func (c *client) get(kind qKind, size int, fixed, ka bool, delay time.Duration, extra ...string) *query {
	w := c.w
	q := &query{id: c.newID(), c: c, kind: kind, fixed16: fixed, keepAlive: ka, delay: delay}
	if !fixed && size < 1 {
		size = 1 // without a header an empty answer cannot be told from none
	}
	first := "GET hosts"
	if kind == qNoSuch {
		first = "GET nosuch_" + strconv.Itoa(w.intn(1, 99))
	}
	lines := []string{"Columns: name state", "Filter: name = " + q.id, "Limit: " + strconv.Itoa(size)}
	var proxy []string
	switch {
	case fixed:
		proxy = append(proxy, "ResponseHeader: fixed16")
	case w.chance(0.3):
		proxy = append(proxy, "ResponseHeader: off")
	}
	switch {
	case ka:
		proxy = append(proxy, "KeepAlive: on")
	case w.chance(0.3):
		proxy = append(proxy, "KeepAlive: off")
	}
	if w.chance(0.2) {
		proxy = append(proxy, "Cache: reload")
	}
	if w.chance(0.3) {
		lines = append(lines, "OutputFormat: csv")
	}
	if w.chance(0.2) {
		lines = append(lines, "AuthUser: omdadmin")
	}
	lines = append(lines, extra...)
	up := first + "\nResponseHeader: fixed16\nKeepAlive: on\n" + strings.Join(lines, "\n") + "\n\n"
	q.upstream = []byte(up)
	for _, p := range proxy {
		i := w.intn(0, len(lines))
		lines = append(lines[:i], append([]string{p}, lines[i:]...)...)
	}
	q.raw = c.render(append([]string{first}, lines...))
	q.own = answer{unit: q.id + ".", n: size}
	code := 200
	if kind == qNoSuch {
		text := noSuchTable(strings.TrimPrefix(first, "GET "), q.id)
		q.own, code = answer{unit: string(text), n: len(text)}, 404
	}
	if fixed {
		q.own.head = fixed16(code, q.own.n)
		q.own.n += len(q.own.head)
	}
	return q
}

// render joins request lines; a few clients end lines with CRLF, which the
// proxy must not pass on (naemon hangs on it).
func (c *client) render(lines []string) []byte {
	sep := "\n"
	if c.w.chance(0.05) {
		sep = "\r\n"
	}
	return []byte(strings.Join(lines, sep) + sep + sep)
}

func (c *client) command() *query {
	q := &query{id: c.newID(), c: c, kind: qCommand}
	ts := epoch.Unix() + int64(c.w.now/time.Second)
	line := fmt.Sprintf("COMMAND [%d] SCHEDULE_FORCED_HOST_CHECK;%s;%d", ts, q.id, ts)
	q.raw = c.render([]string{line})
	q.upstream = []byte(line + "\n\n")
	return q
}

// malformed builds what the proxy must refuse itself.
func (c *client) malformed(kind qKind, fixed bool) *query {
	w := c.w
	q := &query{id: c.newID(), c: c, kind: kind, fixed16: fixed}
	head := ""
	if fixed {
		head = "ResponseHeader: fixed16\n"
	}
	switch kind {
	case qBad:
		junk := []string{"PUT /hosts HTTP/1.1", "get hosts", "HELLO", "\x16\x03\x01 tls?", "SELECT * FROM hosts"}
		q.raw = []byte(junk[w.intn(0, len(junk)-1)] + "\n" + head + "\n")
	case qHalf:
		q.raw = []byte("GET hosts\n" + head + "Columns: na")
	case qOversize:
		// ResponseHeader last, past the limit, as Checkmk's GUI writes it:
		// the 413 must still be framed by it (core/refusal.go).
		b := []byte("GET hosts\n")
		for len(b) <= c.s.cfg.MaxQueryBytes+100 {
			b = append(b, "Filter: name = "+strings.Repeat("x", w.intn(10, 200))+"\n"...)
		}
		b = append(b, head...)
		if w.chance(0.5) {
			b = append(b, '\n')
		}
		q.raw = b
	}
	return q
}
