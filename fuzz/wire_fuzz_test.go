package fuzz

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"liveproxyd/core"
	"liveproxyd/core/coretest"
	"liveproxyd/livestatus"
)

// FuzzUpstreamFraming is differential: a client sends arbitrary bytes (in
// up to three pieces) through a real core with one channel, and every
// byte stream the core writes on a channel must split into exactly the
// requests it wrote, one per write, under independent models of both
// servers' request readers, as measured on Icinga 2.13 and naemon 1.5:
//
//   - Icinga 2 ends a request at a line that is blank after trimming
//     whitespace, and closes the connection on an empty request; it keeps
//     a line's leading whitespace.
//   - naemon ends a request only at a truly empty line, strips line ends and
//     skips lines of whitespace, runs a COMMAND as one line and stops at the
//     first header it does not know; lines it did not read stay in front of
//     the next request.
//
// The fake server answers as naemon would (400 at an unknown header) or as
// Icinga (200), drawn by the input; after an answer other than 200 the
// core must write nothing more on that channel. The models are written
// here, apart from the core's framer, so they do not share its mistakes.
func FuzzUpstreamFraming(f *testing.F) {
	for _, s := range []string{
		"GET hosts\nAuthUser: mallory\n \nGET hosts\nAuthUser: alice\n\n",
		"GET hosts\n\r\r\nGET services\nCache: reload\n\n",
		"COMMAND [1] DISABLE_NOTIFICATIONS\nGET hosts\n\n",
		"GET hosts\nX-Bogus: 1\nColumns: name\n\n",
	} {
		f.Add([]byte(s), uint16(len(s)/2), uint16(len(s)-2), true, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, cut1, cut2 uint16, eof, naemon bool) {
		if len(data) > 2048 {
			return // the limit is 512 bytes a query: more only repeats
		}
		r := newWireRun(t, naemon)
		a, b := int(cut1)%(len(data)+1), int(cut2)%(len(data)+1)
		if a > b {
			a, b = b, a
		}
		for _, part := range [][]byte{data[:a], data[a:b], data[b:]} {
			if len(part) > 0 && !r.clientClosed {
				r.step(core.Event{Kind: core.EvClientData, Client: 1, Data: append([]byte(nil), part...)})
			}
		}
		if eof && !r.clientClosed {
			r.step(core.Event{Kind: core.EvClientEOF, Client: 1})
		}
		r.check()
	})
}

// wireRun drives one core.Site through coretest.Env (so every step is
// checked against the driver contract) and plays the site: it connects
// dialled channels and answers every request written, at once.
type wireRun struct {
	t            *testing.T
	env          *coretest.Env
	naemon       bool
	writes       map[core.ChannelID][][]byte // requests written, in order
	owed         []owed                      // answers not yet delivered
	failedAt     map[core.ChannelID]int      // writes before a non-200 answer
	closed       map[core.ChannelID]bool
	dialled      []core.ChannelID
	clientClosed bool
	steps        int
}

type owed struct {
	ch   core.ChannelID
	data []byte
}

func newWireRun(t *testing.T, naemon bool) *wireRun {
	r := &wireRun{t: t, naemon: naemon,
		writes: map[core.ChannelID][][]byte{}, failedAt: map[core.ChannelID]int{}, closed: map[core.ChannelID]bool{}}
	r.env = coretest.New(t, core.Config{
		Name: "fz", Channels: 1, ChannelTimeout: time.Minute, QueryTimeout: time.Minute,
		ConnectTimeout: time.Minute, ConnectRetry: time.Second, HeartbeatInterval: time.Hour,
		HeartbeatTimeoutMin: time.Minute, MaxQueryBytes: 512, HighWater: 1 << 20,
		CapacityRetry: time.Hour, Cache: true, CacheEntries: 8, CacheBytes: 1 << 16,
	})
	r.step(core.Event{Kind: core.EvTick})
	r.step(core.Event{Kind: core.EvClientAccepted, Client: 1})
	return r
}

// step runs one event, then plays the site until nothing is owed.
func (r *wireRun) step(ev core.Event) {
	queue := []core.Event{ev}
	for len(queue) > 0 {
		if r.steps++; r.steps > 10000 {
			r.t.Fatal("the core does not settle")
		}
		ev, queue = queue[0], queue[1:]
		for _, a := range r.env.Step(ev) {
			switch a.Kind {
			case core.ActDial:
				r.dialled = append(r.dialled, a.Channel)
				queue = append(queue, core.Event{Kind: core.EvChannelConnected, Channel: a.Channel})
			case core.ActCloseChannel:
				r.closed[a.Channel] = true
			case core.ActCloseClient:
				r.clientClosed = true
			case core.ActWriteChannel:
				r.written(a.Channel, append([]byte(nil), a.Data...))
			}
		}
		for _, o := range r.owed {
			if !r.closed[o.ch] {
				queue = append(queue, core.Event{Kind: core.EvChannelData, Channel: o.ch, Data: o.data})
			}
		}
		r.owed = r.owed[:0]
	}
}

// written takes one request the core wrote and owes its answer.
func (r *wireRun) written(ch core.ChannelID, w []byte) {
	if r.closed[ch] {
		r.t.Fatalf("write on closed channel %d: %q", ch, w)
	}
	if n, failed := r.failedAt[ch]; failed {
		r.t.Fatalf("channel %d reused after an answer other than 200 (to write %d): %q", ch, n, w)
	}
	r.writes[ch] = append(r.writes[ch], w)
	groups := naemonRead(w)
	if len(groups) == 0 || len(groups) > 1 && groups[0].bad == "" {
		r.t.Fatalf("write %q is %d requests to naemon: %q", w, len(groups), groups)
	}
	g := groups[0]
	switch {
	case strings.HasPrefix(g.lines[0], "COMMAND "):
		return // no answer; the core's probe follows
	case r.naemon && g.bad != "":
		r.owe(ch, 400, fmt.Sprintf("Undefined request header '%s'\n", g.bad))
		r.failedAt[ch] = len(r.writes[ch])
	case g.lines[0] == "GET status":
		r.owe(ch, 200, "1700000000\n") // a heartbeat, or a client's status query
	default:
		r.owe(ch, 200, "x\n")
	}
}

func (r *wireRun) owe(ch core.ChannelID, code int, body string) {
	r.owed = append(r.owed, owed{ch, append(livestatus.FormatHeader(code, int64(len(body))), body...)})
}

// check compares, per channel, what each server reads from the whole byte
// stream with the requests as they were written one by one.
func (r *wireRun) check() {
	for _, ch := range r.dialled {
		writes := r.writes[ch]
		stream := bytes.Join(writes, nil)
		var want []string
		for _, w := range writes {
			reqs, rest, err := icingaRead(w)
			if err != "" || len(rest) > 0 || len(reqs) != 1 {
				r.t.Fatalf("write %q to Icinga: %q, rest %q, %s", w, reqs, rest, err)
			}
			want = append(want, reqs[0])
			lines := strings.Split(reqs[0], "\n")
			if strings.HasPrefix(lines[0], "GET ") && (len(lines) < 3 || lines[1] != "ResponseHeader: fixed16" || lines[2] != "KeepAlive: on") {
				r.t.Fatalf("GET written without the proxy's headers first: %q", w)
			}
			for _, l := range lines {
				if strings.HasPrefix(l, "Cache:") {
					r.t.Fatalf("proxy-only Cache header went upstream: %q", w)
				}
			}
		}
		got, rest, err := icingaRead(stream)
		if err != "" || len(rest) > 0 || !slices.Equal(got, want) {
			r.t.Fatalf("channel %d: Icinga reads %q (rest %q, %s)\nfrom the writes %q", ch, got, rest, err, writes)
		}
		// naemon: up to the first request it stops reading early (its rest
		// would be read in front of the next request: with a naemon the
		// core closed the channel there, Icinga ignores unknown headers).
		var nwant []string
		upto := len(writes)
		for i, w := range writes {
			groups := naemonRead(w)
			if g := groups[0]; g.bad == "" && strings.Join(g.lines, "\n") != want[i] {
				r.t.Fatalf("write %q: naemon reads %q, Icinga %q", w, g.lines, want[i])
			}
			for _, g := range groups {
				nwant = append(nwant, g.String())
			}
			if groups[0].bad != "" {
				upto = i + 1
				break
			}
		}
		var ngot []string
		for _, g := range naemonRead(bytes.Join(writes[:upto], nil)) {
			ngot = append(ngot, g.String())
		}
		if !slices.Equal(ngot, nwant) {
			r.t.Fatalf("channel %d: naemon reads %q\nfrom the writes %q", ch, ngot, writes)
		}
	}
}

// isSpace is C's isspace, which both servers trim with.
func isSpace(c rune) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// icingaRead splits a stream as Icinga 2 does: a line blank after trimming
// ends the request; an empty request makes Icinga close. Lines are taken
// without trailing whitespace (Icinga trims header values).
func icingaRead(stream []byte) (reqs []string, rest []byte, err string) {
	var cur []string
	for {
		i := bytes.IndexByte(stream, '\n')
		if i < 0 {
			return reqs, stream, ""
		}
		line := strings.TrimRightFunc(string(stream[:i]), isSpace)
		stream = stream[i+1:]
		switch {
		case strings.TrimFunc(line, isSpace) != "":
			cur = append(cur, line)
		case len(cur) == 0:
			return reqs, stream, "empty request: Icinga closes"
		default:
			reqs, cur = append(reqs, strings.Join(cur, "\n")), nil
		}
	}
}

// naemonGroup is one request as naemon reads it.
type naemonGroup struct {
	lines []string
	bad   string // the first unknown header: naemon answers 400 there
}

func (g naemonGroup) String() string { return strings.Join(g.lines, "\n") + "|" + g.bad }

// naemonKnown are the headers naemon's Livestatus accepts (proxy-only
// "Cache" is not among them).
var naemonKnown = map[string]bool{
	"Columns": true, "Filter": true, "Limit": true, "ResponseHeader": true, "KeepAlive": true,
	"OutputFormat": true, "AuthUser": true, "Localtime": true, "Timelimit": true, "Separators": true,
	"Stats": true, "StatsAnd": true, "StatsOr": true, "StatsNegate": true, "And": true, "Or": true,
	"Negate": true, "ColumnHeaders": true, "WaitObject": true, "WaitCondition": true,
	"WaitTrigger": true, "WaitTimeout": true, "WaitConditionAnd": true, "WaitConditionOr": true,
	"WaitConditionNegate": true,
}

// naemonRead splits a stream as naemon does. A request ends at an empty
// line only; lines are stripped at the end and skipped when nothing is
// left. A COMMAND is its first line; a GET ends at its first unknown
// header. What follows either is read in front of the next request.
func naemonRead(stream []byte) []naemonGroup {
	var out []naemonGroup
	var cur []string
	for {
		i := bytes.IndexByte(stream, '\n')
		if i < 0 {
			break
		}
		raw := string(stream[:i])
		stream = stream[i+1:]
		if raw != "" {
			if l := strings.TrimRightFunc(raw, isSpace); l != "" {
				cur = append(cur, l)
			}
			continue
		}
		for len(cur) > 0 {
			g := naemonGroup{lines: cur}
			cur = nil
			if strings.HasPrefix(g.lines[0], "COMMAND ") {
				g.lines, cur = g.lines[:1], g.lines[1:]
			} else {
				for j, l := range g.lines[1:] {
					name, _, _ := strings.Cut(l, ":")
					if !naemonKnown[name] || !strings.Contains(l, ":") {
						g.bad = l
						g.lines, cur = g.lines[:j+2], g.lines[j+2:]
						break
					}
				}
			}
			out = append(out, g)
		}
	}
	return out
}
