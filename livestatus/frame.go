package livestatus

import (
	"bytes"
	"errors"
	"fmt"
)

// Query is one complete client request.
type Query struct {
	// Lines are the request's lines in canonical form, the request line
	// first: each without trailing whitespace, a header rewritten as
	// "Name: value" (value trimmed). The terminating blank line is not
	// included. A line of a Bad query may not be canonical.
	Lines     [][]byte
	Method    string // "GET", "COMMAND" or whatever the client sent
	Fixed16   bool   // the client asked for ResponseHeader: fixed16
	KeepAlive bool   // the client asked for KeepAlive: on
	Cache     bool   // Cache: reload (a Checkmk GUI hint for the proxy)
	AuthUser  string
	// Bad says why the query must not go upstream (a malformed request
	// line or header line); empty for a query the proxy may forward.
	Bad  string
	Size int // bytes the query took in the client stream
}

// Framing errors. Each maps to a Livestatus error reply.
var (
	ErrQueryTooLarge = errors.New("query too large")
	ErrIncomplete    = errors.New("incomplete request")
)

// Framer splits a client byte stream into queries. It keeps only what is
// not yet a complete query, and never more than max bytes of it.
//
// A query ends at the first line that is blank after trimming whitespace
// (space, tab, CR, VT, FF), not only at an empty one: to Icinga 2 such a
// line ends a request (a line of spaces, a lone "\r\r", VT, FF), and a
// proxy that forwarded the lines after it would let one client start a
// second request on a shared channel. A COMMAND is one line: naemon reads
// the next line as the next request.
type Framer struct {
	buf  []byte
	max  int
	scan int // lines before this offset are known not to end the query
	// consumed counts bytes taken off the front of buf since its backing
	// array was allocated: they are still held by it (see compact).
	consumed int
}

// NewFramer returns a framer refusing queries larger than max bytes.
func NewFramer(max int) *Framer { return &Framer{max: max} }

// Push appends bytes read from the client.
func (f *Framer) Push(data []byte) { f.buf = append(f.buf, data...) }

// Buffered is the number of bytes held that are not yet a returned query.
func (f *Framer) Buffered() int { return len(f.buf) }

// Discard drops every byte held and returns them, for a caller that reads
// a refused query's bytes past instead of keeping them (the core does).
func (f *Framer) Discard() []byte {
	b := f.buf
	f.buf, f.scan, f.consumed = nil, 0, 0
	return b
}

// Next returns the next complete query, if there is one. eof says the client
// will send nothing more: then a last query ended by EOF after a complete
// line (or by a blank half line) counts as complete, and a half line is
// ErrIncomplete. Blank lines between queries are skipped (naemon skips
// them). ErrQueryTooLarge is returned once a query, or a blank line, grows
// past the limit: the verdict does not depend on how the bytes were chunked.
func (f *Framer) Next(eof bool) (Query, bool, error) {
	if err := f.skipBlankLines(); err != nil {
		return Query{}, false, err
	}
	end, next, scanned := queryEnd(f.buf, f.scan)
	f.scan = scanned
	if end < 0 {
		// The half line at the end may still become the blank line that
		// ends the query: then it does not count towards the query's size.
		if part := f.buf[f.scan:]; Blank(part) {
			if f.scan > f.max || len(part) > f.max {
				return Query{}, false, ErrQueryTooLarge
			}
		} else if len(f.buf) > f.max {
			return Query{}, false, ErrQueryTooLarge
		}
		if !eof || len(f.buf) == 0 {
			return Query{}, false, nil
		}
		if !Blank(f.buf[f.scan:]) {
			return Query{}, false, ErrIncomplete
		}
		if f.scan == 0 { // only whitespace before EOF: not a request
			f.buf = f.buf[:0]
			return Query{}, false, nil
		}
		end, next = f.scan, len(f.buf)
	}
	if end > f.max || next-end-1 > f.max {
		return Query{}, false, ErrQueryTooLarge
	}
	// The query gets its own copy, so its lines never alias later input;
	// the rest stays in place (no copy per query of a long pipeline).
	q := ParseQuery(append([]byte(nil), f.buf[:end]...))
	q.Size = next
	f.buf, f.scan = f.buf[next:], 0
	f.consumed += next
	f.compact()
	return q, true, nil
}

// framerKeep is how many consumed bytes the framer's backing array may
// keep before the rest is moved to a fresh one.
const framerKeep = 64 << 10

// compact moves what is left to a right-sized array once a lot has been
// consumed from the front of the old one: slicing forward never frees
// anything, so one 15 MiB query would otherwise pin a 16-32 MiB array for
// the connection's life (100 such clients kept 1.3 GB after they left).
func (f *Framer) compact() {
	if f.consumed <= framerKeep {
		return
	}
	if len(f.buf) == 0 {
		f.buf = nil
	} else {
		f.buf = append(make([]byte, 0, len(f.buf)), f.buf...)
	}
	f.consumed = 0
}

// skipBlankLines drops complete blank lines before a query. One longer
// than the limit is refused, as it would be had it ended a query.
func (f *Framer) skipBlankLines() error {
	for {
		i := bytes.IndexByte(f.buf, '\n')
		if i < 0 || !Blank(f.buf[:i]) {
			return nil
		}
		if i > f.max {
			return ErrQueryTooLarge
		}
		f.buf = f.buf[i+1:]
		f.scan = max(0, f.scan-i-1)
		f.consumed += i + 1
	}
}

// queryEnd finds the line that ends the first query in b, looking at lines
// from offset start on (a line start): it returns the offset where the
// query's text ends (after its last line's newline) and where the next
// query begins, or -1, -1 and the line start to resume from later, so a
// large query pushed in many pieces is scanned once, not once per piece.
func queryEnd(b []byte, start int) (end, next, resume int) {
	for {
		i := bytes.IndexByte(b[start:], '\n')
		if i < 0 {
			return -1, -1, start
		}
		line := b[start : start+i]
		if Blank(line) {
			return start, start + i + 1, 0
		}
		if start == 0 && IsCommand(line) {
			// naemon: a COMMAND is one line, the next line starts the
			// next request (no blank line needed).
			return i + 1, i + 1, 0
		}
		start += i + 1
	}
}

// space is the whitespace servers trim from lines (C isspace without the
// newline): Icinga trims every line, naemon strips line ends.
const space = " \t\r\v\f"

// Blank tells whether a line is empty after trimming whitespace: to
// Icinga such a line ends a request.
func Blank(line []byte) bool { return len(bytes.Trim(line, space)) == 0 }

// IsCommand tells whether a request line is a COMMAND. It looks at the
// first word only, so a prefix of a long line is enough.
func IsCommand(line []byte) bool {
	m, _, _ := bytes.Cut(bytes.TrimRight(line, space), []byte{' '})
	return string(m) == "COMMAND"
}

// ResponseHeaderLine reads a header line as ParseQuery does and reports
// whether it is a valid ResponseHeader line (ok) and whether it asks for
// fixed16: a reader that keeps no query can still tell the framing of its
// reply.
func ResponseHeaderLine(line []byte) (fixed16, ok bool) {
	name, value, why := parseHeader(bytes.TrimRight(line, space))
	if why != "" || string(name) != "ResponseHeader" {
		return false, false
	}
	return string(value) == "fixed16", true
}

// ParseQuery reads the lines of one query (without its terminating blank
// line), rewrites them in canonical form, notes the headers the proxy acts
// upon, and sets Bad when a line is one the proxy must not forward.
//
// Canonical form is what Icinga 2 and naemon read identically. naemon
// strips whitespace at the end of every line and after "Name:"; Icinga 2
// (measured, 2.13) trims a header's value but keeps a line's leading
// whitespace (" ResponseHeader: fixed16" is an unknown header to it, and
// "  GET hosts" makes it close). So trailing whitespace and the space
// around a value carry no meaning to either, and "Name: value" with the
// value trimmed means the same to both. What they would read differently
// is refused: leading whitespace on a line (Icinga ignores such a header,
// naemon answers 400), a header name with whitespace or control
// characters ("Columns :"), a line without a colon, control characters
// other than tab in a value, a request line with extra spaces
// ("GET  hosts"), and a blank line inside. Whitespace inside a value is
// passed on as it is: it is the same bytes to both servers.
func ParseQuery(b []byte) Query {
	var q Query
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		var line []byte
		if i < 0 {
			line, b = b, nil
		} else {
			line, b = b[:i], b[i+1:]
		}
		q.Lines = append(q.Lines, bytes.TrimRight(line, space))
	}
	if len(q.Lines) == 0 {
		q.Bad = "empty request"
		return q
	}
	first := q.Lines[0]
	m, arg, _ := bytes.Cut(first, []byte{' '})
	q.Method = string(m)
	q.Bad = checkRequestLine(q.Method, arg)
	if q.Method == "COMMAND" && len(q.Lines) > 1 && q.Bad == "" {
		q.Bad = "COMMAND with header lines"
	}
	for i, l := range q.Lines[1:] {
		name, value, why := parseHeader(l)
		if why != "" {
			if q.Bad == "" {
				q.Bad = fmt.Sprintf("%s: %.60q", why, l)
			}
			continue
		}
		q.Lines[i+1] = canonicalHeader(l, name, value)
		switch string(name) { // no allocation: the compiler compares in place
		case "ResponseHeader":
			q.Fixed16 = string(value) == "fixed16"
		case "KeepAlive":
			q.KeepAlive = string(value) == "on"
		case "Cache":
			q.Cache = string(value) == "reload"
		case "AuthUser":
			q.AuthUser = string(value)
		}
	}
	return q
}

// checkRequestLine validates "GET <table>" and "COMMAND <text>"; it returns
// why the line is refused, or "".
func checkRequestLine(method string, arg []byte) string {
	switch method {
	case "GET":
		if len(arg) == 0 || bytes.IndexFunc(arg, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
			return fmt.Sprintf("invalid table name %.40q", arg)
		}
	case "COMMAND":
		if len(arg) == 0 || bytes.IndexFunc(arg, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
			return fmt.Sprintf("invalid COMMAND %.40q", arg)
		}
	default:
		return fmt.Sprintf("invalid request method %.40q", method)
	}
	return ""
}

// parseHeader splits a trimmed "Name: value" line and validates it: a name
// without whitespace or control characters, a colon, a value without
// control characters other than tab. Names are case-sensitive, as on the
// servers. why is empty for a valid header; name and value alias l.
func parseHeader(l []byte) (name, value []byte, why string) {
	n, v, ok := bytes.Cut(l, []byte{':'})
	switch {
	case !ok:
		return nil, nil, "header line without a colon"
	case len(n) == 0 || bytes.IndexFunc(n, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return nil, nil, "invalid header name"
	case bytes.IndexFunc(v, func(r rune) bool { return (r < ' ' && r != '\t') || r == 0x7f }) >= 0:
		return nil, nil, "control character in header value"
	}
	return n, bytes.Trim(v, space), ""
}

// canonicalHeader renders header line l as sent upstream: "Name: value",
// or "Name:" for an empty value. A line already in that form is kept as
// it is (the common case: no copy).
func canonicalHeader(l, name, value []byte) []byte {
	if len(value) == 0 {
		return l[:len(name)+1]
	}
	if len(l) == len(name)+2+len(value) && l[len(name)+1] == ' ' {
		return l
	}
	out := make([]byte, 0, len(name)+2+len(value))
	return append(append(append(out, name...), ": "...), value...)
}

// proxyHeader tells whether a canonical header line is one of those the
// proxy owns upstream.
func proxyHeader(l []byte) bool {
	n, _, ok := bytes.Cut(l, []byte{':'})
	return ok && (string(n) == "ResponseHeader" || string(n) == "KeepAlive" || string(n) == "Cache")
}

// Upstream renders the request the proxy sends on a channel, in canonical
// form only (never the client's bytes): the request line, then for a GET
// "ResponseHeader: fixed16" and "KeepAlive: on" right after it, because
// servers stop parsing at the first bad header; then the client's other
// headers as "Name: value", its own ResponseHeader, KeepAlive and Cache
// lines dropped; then one empty line. Lines end in "\n" alone: CRLF hangs
// naemon. A COMMAND is sent alone: naemon would read any header after it
// as a new request. Only a query without Bad may be rendered.
func Upstream(q Query) []byte {
	n := 64
	for _, l := range q.Lines {
		n += len(l) + 1
	}
	out := make([]byte, 0, n)
	if len(q.Lines) == 0 {
		return out
	}
	out = append(out, q.Lines[0]...)
	out = append(out, '\n')
	if q.Method == "COMMAND" {
		return append(out, '\n')
	}
	out = append(out, "ResponseHeader: fixed16\nKeepAlive: on\n"...)
	for _, l := range q.Lines[1:] {
		if proxyHeader(l) {
			continue
		}
		out = append(out, l...)
		out = append(out, '\n')
	}
	return append(out, '\n')
}
