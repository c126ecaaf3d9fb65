package sim

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// request is one upstream request as a Livestatus server parses it.
type request struct {
	raw       []byte
	method    string // GET, COMMAND or whatever came
	table     string
	fixed16   bool
	keepAlive bool
	columns   string
	id        string // the query id a simulated client planted
	limit     int
	authUser  string
	wait      time.Duration // WaitTimeout: a long-poll answers within it, silent until then
	badHeader string        // first header a real server would reject
	heartbeat bool
	probe     bool     // a status query right behind a COMMAND (the core's resync probe)
	q         *query   // the client query it carries, if known
	cached    bool     // a cached-kind request: it carries any of qs
	qs        []*query // cached: the queries with this upstream pending when it came
}

// each runs fn for every client query the request may carry.
func (r *request) each(fn func(*query)) {
	if r.q != nil {
		fn(r.q)
	}
	for _, q := range r.qs {
		fn(q)
	}
}

// knownHeaders are the request headers Livestatus servers accept. Anything
// else (notably the proxy-only "Cache:") makes them reject the request.
var knownHeaders = map[string]bool{
	"Columns": true, "Filter": true, "Limit": true, "ResponseHeader": true, "KeepAlive": true,
	"OutputFormat": true, "AuthUser": true, "Localtime": true, "Timelimit": true, "Separators": true,
	"Stats": true, "StatsAnd": true, "StatsOr": true, "StatsNegate": true, "And": true, "Or": true,
	"Negate": true, "ColumnHeaders": true, "WaitObject": true, "WaitCondition": true,
	"WaitTrigger": true, "WaitTimeout": true,
}

// The request readers below model how each server cuts a byte stream into
// requests. They are written apart from core's framer (and must stay so):
// the simulator judges the core and must not share its mistakes.

// wsp is the whitespace the servers trim (C isspace without the newline).
const wsp = " \t\r\v\f"

// readIcinga takes the first request from in as Icinga 2 does: a line that
// is blank after trimming whitespace ends it, so " " or "\r\r" ends a
// request as "" does. n is the bytes taken (0: no complete request yet);
// empty says the request had no line at all, on which Icinga closes.
func readIcinga(in []byte) (raw []byte, n int, empty bool) {
	for off := 0; ; {
		i := bytes.IndexByte(in[off:], '\n')
		if i < 0 {
			return nil, 0, false
		}
		line := in[off : off+i]
		off += i + 1
		if len(bytes.Trim(line, wsp)) == 0 {
			return in[:off], off, off == i+1
		}
	}
}

// readNaemon takes the first request from in as naemon does: only an empty
// line ends it, lines of whitespace are skipped, and a COMMAND is its first
// line: the lines after it stay in front of the next request. Whitespace
// lines before a request are dropped (empty: nothing but them).
func readNaemon(in []byte) (raw []byte, n int, empty bool) {
	lines := 0
	for off := 0; ; {
		i := bytes.IndexByte(in[off:], '\n')
		if i < 0 {
			return nil, 0, false
		}
		line := in[off : off+i]
		off += i + 1
		switch {
		case len(line) == 0:
			return in[:off], off, lines == 0
		case len(bytes.Trim(line, wsp)) == 0:
			continue
		}
		lines++
		if lines == 1 && bytes.HasPrefix(line, []byte("COMMAND ")) && off < len(in) && in[off] != '\n' {
			return in[:off], off, false // the next line is the next request
		}
	}
}

// parseRequest reads one request (its lines and the empty line ending it)
// the way the servers do: headers in order, and parsing stops at the first
// header they do not know, so a ResponseHeader or KeepAlive line after it
// is never seen.
func parseRequest(raw []byte) (*request, error) {
	r := &request{raw: raw}
	text := strings.TrimSuffix(string(raw), "\n\n")
	if strings.Contains(text, "\r") {
		return r, fmt.Errorf("CR in upstream request %q", raw)
	}
	lines := strings.Split(text, "\n")
	if lines[0] == "" {
		return r, fmt.Errorf("upstream request starts with an empty line: %q", raw)
	}
	r.method, r.table, _ = strings.Cut(lines[0], " ")
	if r.method == "COMMAND" {
		// COMMAND [ts] NAME;<id>;...: the id rides in the first argument.
		if f := strings.Split(r.table, ";"); len(f) > 1 {
			r.id = f[1]
		}
		if len(lines) > 1 {
			return r, fmt.Errorf("COMMAND upstream with header lines: %q", raw)
		}
		return r, nil
	}
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ": ")
		if !ok || !knownHeaders[name] {
			r.badHeader = l
			break
		}
		switch name {
		case "ResponseHeader":
			r.fixed16 = value == "fixed16"
		case "KeepAlive":
			r.keepAlive = value == "on"
		case "Columns":
			r.columns = value
		case "Filter":
			if id, ok := strings.CutPrefix(value, "name = "); ok {
				r.id = id
			}
		case "Limit":
			r.limit, _ = strconv.Atoi(value)
		case "AuthUser":
			r.authUser = value
		case "WaitTimeout":
			ms, _ := strconv.Atoi(value)
			r.wait = time.Duration(ms) * time.Millisecond
		}
	}
	r.heartbeat = r.method == "GET" && r.table == "status" && r.columns == "program_start"
	return r, nil
}

// bodyFor is the answer to a query with this id and Limit: the id and a dot,
// repeated to exactly n bytes. A byte from another query's answer, or a
// shifted one, differs from what the owner expects.
func bodyFor(id string, n int) []byte { return repeatUnit(id+".", n) }

// repeatUnit is unit repeated to exactly n bytes.
func repeatUnit(unit string, n int) []byte {
	b := make([]byte, n)
	k := copy(b, unit)
	for k > 0 && k < n {
		k += copy(b[k:], b[:k]) // doubling: the pattern repeats every len(unit)
	}
	return b
}

// answer is the exact byte string a client expects for a query, kept
// small: an optional fixed16 header, then a body that is unit repeated up
// to n bytes in all. Nothing of the size of the body is allocated.
type answer struct {
	head []byte
	unit string
	n    int
}

func (a *answer) len() int { return a.n }

func (a *answer) at(i int) byte {
	if i < len(a.head) {
		return a.head[i]
	}
	return a.unit[(i-len(a.head))%len(a.unit)]
}

// mismatch compares b with the answer from offset off; it returns the
// index in b of the first byte that differs, or -1.
func (a *answer) mismatch(off int, b []byte) int {
	for i := 0; i < len(b); {
		p := off + i
		if p >= a.n {
			return i
		}
		if p < len(a.head) {
			if b[i] != a.head[p] {
				return i
			}
			i++
			continue
		}
		seg := a.unit[(p-len(a.head))%len(a.unit):]
		n := min(len(seg), len(b)-i, a.n-p)
		if string(b[i:i+n]) != seg[:n] {
			for j := 0; ; j++ {
				if b[i+j] != seg[j] {
					return i + j
				}
			}
		}
		i += n
	}
	return -1
}

// excerpt renders up to 48 expected bytes from offset off, for messages.
func (a *answer) excerpt(off int) []byte {
	var out []byte
	for i := off; i < a.n && len(out) < 48; i++ {
		out = append(out, a.at(i))
	}
	return out
}

// noSuchTable is the 404 answer to GET of an unknown table; it names the
// query so that it, too, is the client's own.
func noSuchTable(table, id string) []byte {
	return []byte("Invalid GET request, no such table '" + table + "' (" + id + ")\n")
}

// fixed16 renders a Livestatus response header, written independently of
// livestatus.FormatHeader so that the simulator does not trust the code it
// tests.
func fixed16(code, length int) []byte {
	return fmt.Appendf(nil, "%03d %11d\n", code, length)
}

// parseFixed16 parses a header strictly as the real clients do. It is the
// oracle's own, not livestatus.ParseHeader, which it judges.
func parseFixed16(h []byte) (code, length int, ok bool) {
	if len(h) != 16 || h[3] != ' ' || h[15] != '\n' {
		return 0, 0, false
	}
	code, err := strconv.Atoi(string(h[:3]))
	if err != nil {
		return 0, 0, false
	}
	length, err = strconv.Atoi(string(bytes.TrimLeft(h[4:15], " ")))
	if err != nil || length < 0 {
		return 0, 0, false
	}
	return code, length, true
}
