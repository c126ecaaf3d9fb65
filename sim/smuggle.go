package sim

import (
	"bytes"
	"fmt"
	"strings"
)

// Request smuggling: a client that hides a second request in its text
// where one server sees it and the proxy might not. To Icinga 2 a line of
// only whitespace ends a request; naemon reads the line after a COMMAND as
// the next request and, after "400 Undefined request header", keeps the
// unread lines of a request in front of the next one. The proxy must see
// every such request as the servers do and answer each to its own client.

// smuggleBlanks are lines that are empty to Icinga once trimmed.
var smuggleBlanks = []string{" ", "\t", "\r\r", "\v", "\f", "  ", " \t "}

// smuggleBogus are header lines a server could read otherwise than the
// proxy: the proxy answers 400 itself and forwards nothing.
var smuggleBogus = []string{
	"Columns : name", " ResponseHeader: fixed16", "no colon at all", ": value",
	"Filter: name = a\x00b", "Filter: name = a\x1b[2J", "Fil\tter: x",
}

// spawnSmuggler starts a pipelining client whose queries end at blank-
// looking lines, carry trailing whitespace, may start with whitespace
// lines or with a COMMAND that no blank line ends, and may end with a
// query the proxy must refuse.
func (s *siteSim) spawnSmuggler() {
	w := s.w
	c := s.newClient("smuggler")
	c.pipelined = true
	if w.chance(0.3) {
		q := c.command()
		q.raw = append(bytes.TrimRight(q.raw, "\r\n"), '\n') // one line: the GET follows at once
		c.script = append(c.script, q)
	}
	n := w.intn(1, 3)
	for i := 0; i < n; i++ {
		q := c.get(qGet, s.sizeNormal(), true, true, s.serviceTime())
		q.raw = c.smuggled(q.raw)
		c.script = append(c.script, q)
	}
	if w.chance(0.25) {
		c.script = append(c.script, c.unknownHeader())
	}
	if w.chance(0.3) {
		q := &query{id: c.newID(), c: c, kind: qBad, fixed16: true}
		q.raw = []byte("GET hosts\nResponseHeader: fixed16\n" + smuggleBogus[w.intn(0, len(smuggleBogus)-1)] + "\n\n")
		c.script = append(c.script, q)
	}
	c.begin()
}

// smuggled rewrites a rendered query: whitespace lines before it, trailing
// whitespace on its lines, and a blank-looking line instead of the empty
// one that ends it.
func (c *client) smuggled(raw []byte) []byte {
	w := c.w
	text := strings.TrimRight(string(raw), "\r\n")
	var b strings.Builder
	for i := w.intn(0, 2); i > 0; i-- {
		b.WriteString(smuggleBlanks[w.intn(0, len(smuggleBlanks)-1)] + "\n")
	}
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSuffix(l, "\r")
		if w.chance(0.3) {
			l += []string{" ", "\t", "  ", "\r"}[w.intn(0, 3)]
		}
		b.WriteString(l + "\n")
	}
	end := ""
	if w.chance(0.8) {
		end = smuggleBlanks[w.intn(0, len(smuggleBlanks)-1)]
	}
	b.WriteString(end + "\n")
	return []byte(b.String())
}

// naemonBadHeader answers a request naemon stopped reading at an unknown
// header: 400 (the text even without fixed16), and the connection stays
// open with the request's unread lines in front of the next request — so
// a proxy that reuses the channel sends its next query behind them.
func (c *srvConn) naemonBadHeader(r *request) {
	body := badHeaderBody(r.badHeader)
	if r.fixed16 {
		body = append(fixed16(400, len(body)), body...)
	}
	c.write(body)
	if !r.keepAlive {
		c.close("EOF")
		return
	}
	mark := []byte("\n" + r.badHeader + "\n")
	if i := bytes.Index(r.raw, mark); i >= 0 && len(r.raw) > i+len(mark) {
		c.in = append(append([]byte(nil), r.raw[i+len(mark):len(r.raw)-1]...), c.in...)
	}
	c.onData(nil)
}

// unknownHeader is a well-formed GET with a header the servers do not know:
// the proxy forwards it, the site answers 400 itself, and naemon keeps the
// line after that header for the next request, so the proxy must not put
// another query on that channel.
func (c *client) unknownHeader() *query {
	id := c.newID()
	q := &query{id: id, c: c, kind: qNoSuch, fixed16: true, keepAlive: true, delay: c.s.serviceTime()}
	q.upstream = []byte("GET hosts\nResponseHeader: fixed16\nKeepAlive: on\nFilter: name = " + id +
		"\nLimit: 10\nX-Bogus: 1\nColumns: name state\n\n")
	q.raw = q.upstream
	body := badHeaderBody("X-Bogus: 1")
	q.own = answer{head: fixed16(400, len(body)), unit: string(body), n: 16 + len(body)}
	return q
}

// badHeaderBody is the site's 400 text for a header it does not know.
func badHeaderBody(line string) []byte {
	return fmt.Appendf(nil, "Undefined request header %q\n", line)
}
