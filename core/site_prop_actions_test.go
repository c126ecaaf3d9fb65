package core

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"pgregory.net/rapid"
)

// The actions of TestPropSite: what clients, the site server, the clock
// and the operator can do next.

func (m *pmModel) actions() map[string]func(*rapid.T) {
	acts := m.baseActions()
	// rapid picks actions uniformly: the common ones get a second name.
	acts["send (more)"] = acts["send"]
	acts["serve all (again)"] = acts["serve all"]
	acts["reply (more)"] = acts["reply"]
	return acts
}

func (m *pmModel) baseActions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){
		"new client": func(t *rapid.T) {
			c := &pmClient{id: ClientID(len(m.clients) + 1)}
			m.clients = append(m.clients, c)
			m.step(t, Event{Kind: EvClientAccepted, Client: c.id})
			m.send(t, c)
		},
		"send": func(t *rapid.T) {
			m.send(t, pick(t, m.clients, "client", func(c *pmClient) bool { return c.open() && !c.eof }))
		},
		"client leaves": func(t *rapid.T) {
			c := pick(t, m.clients, "client", func(c *pmClient) bool { return c.open() && !c.eof })
			if rapid.Bool().Draw(t, "reset") {
				c.gone = true
				m.step(t, Event{Kind: EvClientGone, Client: c.id})
				return
			}
			c.eof = true // shut down writing, still reading
			m.step(t, Event{Kind: EvClientEOF, Client: c.id})
		},
		"ack": func(t *rapid.T) {
			c := pick(t, m.clients, "client", func(c *pmClient) bool { return !c.gone && c.unacked > 0 })
			n := rapid.IntRange(1, c.unacked).Draw(t, "acked")
			c.unacked -= n
			m.step(t, Event{Kind: EvClientWritten, Client: c.id, N: n})
		},
		"tick": func(t *rapid.T) {
			d, _ := m.site.NextDeadline() // nothing scheduled: the zero time, a tick now
			switch rapid.IntRange(0, 5).Draw(t, "when") {
			case 0: // exactly when the site asked to be woken
				if d.After(m.now) {
					m.now = d
				}
			case 1: // a moment before that
				if d.After(m.now.Add(time.Millisecond)) {
					m.now = d.Add(-time.Millisecond)
				}
			default: // time passes while events happen
				m.now = m.now.Add(time.Duration(rapid.IntRange(0, 40).Draw(t, "ms")) * time.Millisecond)
			}
			m.step(t, Event{Kind: EvTick})
		},
		"connect": func(t *rapid.T) {
			m.connect(t, pick(t, m.chans, "channel", canConnect))
		},
		"reply": func(t *rapid.T) {
			ch := pick(t, m.chans, "channel", func(ch *pmChan) bool { return canReply(ch) && ch.owes() })
			// 0: a part of the rest, drawn once its length is known.
			m.reply(t, ch, rapid.SampledFrom([]int{0, 0, 1 << 20}).Draw(t, "all"))
		},
		"serve all": func(t *rapid.T) {
			// A healthy server: connect what is dialling, answer whatever
			// is owed (the core may ask more as it goes: bounded).
			for i := 0; i < 50; i++ {
				if ch := first(m.chans, canConnect); ch != nil {
					m.connect(t, ch)
				} else if ch := first(m.chans, func(ch *pmChan) bool { return canReply(ch) && ch.owes() }); ch != nil {
					m.reply(t, ch, 1<<20)
				} else {
					return
				}
			}
		},
		"channel fault": func(t *rapid.T) {
			// Mostly a connection that works; a failed dial sometimes.
			dial := rapid.IntRange(0, 3).Draw(t, "dial fails") == 0
			ch := pick(t, m.chans, "channel", func(ch *pmChan) bool { return !ch.closed() && ch.connected != dial })
			// Garbage only where an answer would start: later, any bytes
			// could be body bytes, or complete a header that parses.
			if canReply(ch) && ch.resp == nil && rapid.Bool().Draw(t, "garbage") {
				ch.tainted = true
				data := rapid.SampledFrom([]string{"400: Invalid command\n", "HTTP/1.1 400 Bad Request\r\n\r\n", "\x00\xff"}).Draw(t, "bytes")
				m.step(t, Event{Kind: EvChannelData, Channel: ch.id, Data: []byte(data)})
				return
			}
			ch.closedByModel = true
			m.step(t, Event{Kind: EvChannelClosed, Channel: ch.id, Err: "connection reset by peer"})
		},
		// Events still on their way after the core closed something must
		// be ignored: the action checks fail on any action naming them.
		"stale event": func(t *rapid.T) {
			if rapid.Bool().Draw(t, "client") {
				c := pick(t, m.clients, "client", func(c *pmClient) bool { return !c.open() })
				kind := rapid.SampledFrom([]EventKind{EvClientData, EvClientEOF, EvClientGone, EvClientWritten}).Draw(t, "event")
				m.step(t, Event{Kind: kind, Client: c.id, Data: []byte("GET hosts\n\n"), N: 1})
				return
			}
			ch := pick(t, m.chans, "channel", func(ch *pmChan) bool { return ch.closedByCore && !ch.closedByModel })
			kind := rapid.SampledFrom([]EventKind{EvChannelData, EvChannelClosed, EvChannelConnected}).Draw(t, "event")
			if kind == EvChannelConnected && ch.connected {
				kind = EvChannelClosed
			}
			m.step(t, Event{Kind: kind, Channel: ch.id, Data: FormatHeader(200, 0), Err: "late"})
		},
		"reconfigure": func(t *rapid.T) {
			m.cfg.Channels = rapid.IntRange(1, 3).Draw(t, "channels")
			cfg := m.cfg
			m.step(t, Event{Kind: EvReconfigure, Config: &cfg})
		},
		"shutdown": func(t *rapid.T) {
			if m.stopped || rapid.IntRange(0, 15).Draw(t, "really") != 0 {
				t.Skip("not now")
			}
			m.step(t, Event{Kind: EvShutdown})
		},
	}
}

// send sends the next piece of c's current request, or starts a new one;
// sometimes it pipelines: the rest of one request and the next in one go.
func (m *pmModel) send(t *rapid.T, c *pmClient) {
	var r *pmReq
	if len(c.reqs) > 0 {
		r = c.reqs[len(c.reqs)-1]
	}
	for chunks := rapid.IntRange(1, 3).Draw(t, "chunks"); chunks > 0 && c.open(); chunks-- {
		if r == nil || r.done() {
			r = m.newRequest(t, c)
		}
		n := len(r.text) - r.sent
		if !rapid.Bool().Draw(t, "whole") {
			n = rapid.IntRange(1, n).Draw(t, "chunk")
		}
		data := append([]byte(nil), r.text[r.sent:r.sent+n]...)
		if r.sent <= r.blank && r.sent+n > r.blank {
			r.began = m.now
		}
		r.sent += n
		m.step(t, Event{Kind: EvClientData, Client: c.id, Data: data})
	}
}

// first returns the first item that satisfies ok, or the zero value.
func first[E any](items []E, ok func(E) bool) (none E) {
	for _, it := range items {
		if ok(it) {
			return it
		}
	}
	return none
}

// pick draws one of the items that satisfy ok, or skips the action.
func pick[E any](t *rapid.T, items []E, label string, ok func(E) bool) E {
	var idx []int
	for i, it := range items {
		if ok(it) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		t.Skip("no " + label)
	}
	return items[rapid.SampledFrom(idx).Draw(t, label)]
}

// newRequest makes c's next request: a tagged GET with shuffled headers, a
// COMMAND, an invalid method, or a GET far over the size limit.
func (m *pmModel) newRequest(t *rapid.T, c *pmClient) *pmReq {
	c.n++
	tag := fmt.Sprintf("c%dq%d", c.id, c.n)
	r := &pmReq{tag: tag, c: c, bodyLen: -1, eol: rapid.SampledFrom([]string{"\n", "\r\n"}).Draw(t, "eol")}
	m.reqs[tag] = r
	var lines []string
	switch rapid.IntRange(0, 6).Draw(t, "kind") {
	case 0:
		lines = []string{"COMMAND [1700000000] ACK_" + tag}
	case 1:
		lines = []string{"XGET hosts_" + tag, "ResponseHeader: fixed16"}
	default:
		lines = []string{"GET hosts_" + tag}
		extra := []string{"Columns: name state", "Filter: state = 0", "OutputFormat: json", "Cache: reload",
			"ResponseHeader: fixed16", "KeepAlive: on", "ResponseHeader: fixed16", "KeepAlive: on"}
		extra = rapid.Permutation(extra).Draw(t, "headers")
		lines = append(lines, extra[:rapid.IntRange(0, len(extra)).Draw(t, "nheaders")]...)
		if rapid.IntRange(0, 5).Draw(t, "oversized") == 0 {
			// Anywhere among the headers: a ResponseHeader after it must
			// still frame the 413.
			at := rapid.IntRange(1, len(lines)).Draw(t, "oversized at")
			lines = slices.Insert(lines, at, "Filter: name = "+strings.Repeat("x", 2*m.cfg.MaxQueryBytes))
		}
	}
	for i := rapid.IntRange(0, 2).Draw(t, "blanks"); i > 0; i-- {
		r.text = append(r.text, r.eol...)
	}
	r.blank = len(r.text)
	for _, l := range lines {
		r.text = append(r.text, l+r.eol...)
	}
	if !r.isCommand() { // a COMMAND is one line (naemon): no blank line ends it
		r.text = append(r.text, r.eol...)
	}
	c.reqs = append(c.reqs, r)
	return r
}

// reply sends the next n bytes (at most; n <= 0: a drawn part) of the
// answer that channel ch owes: a heartbeat answer or the tagged body of a
// client's GET.
func (m *pmModel) reply(t *rapid.T, ch *pmChan, n int) {
	t.Helper()
	if !ch.owes() {
		t.Skip("nothing owed")
	}
	if ch.resp == nil {
		if r := ch.queue[0]; r == nil {
			body := rapid.SampledFrom([]string{"1700000000\n", "1700000000\n", "1700009999\n"}).Draw(t, "program_start")
			ch.resp = append(FormatHeader(200, int64(len(body))), body...)
		} else {
			hw := m.cfg.HighWater
			r.bodyLen = rapid.OneOf(rapid.IntRange(0, 8), rapid.IntRange(hw, 3*hw)).Draw(t, "body")
			ch.resp = append(FormatHeader(200, int64(r.bodyLen)), pmBody(r.tag, r.bodyLen)...)
		}
	}
	if n <= 0 {
		n = rapid.IntRange(1, len(ch.resp)).Draw(t, "bytes")
	}
	n = min(n, len(ch.resp))
	data := append([]byte(nil), ch.resp[:n]...)
	if ch.resp = ch.resp[n:]; len(ch.resp) == 0 {
		if r := ch.queue[0]; r != nil {
			r.answered = true
		}
		ch.resp, ch.queue = nil, ch.queue[1:]
	}
	m.step(t, Event{Kind: EvChannelData, Channel: ch.id, Data: data})
}

func (m *pmModel) connect(t *rapid.T, ch *pmChan) {
	ch.connected = true
	m.step(t, Event{Kind: EvChannelConnected, Channel: ch.id})
}
