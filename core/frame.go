package core

import (
	"bytes"
	"errors"
)

// Query is one complete client request.
type Query struct {
	// Lines are the request's lines without line ends (CR stripped), the
	// request line first; the terminating empty line is not included.
	Lines     [][]byte
	Method    string // "GET", "COMMAND" or whatever the client sent
	Fixed16   bool   // the client asked for ResponseHeader: fixed16
	KeepAlive bool   // the client asked for KeepAlive: on
	Cache     bool   // Cache: reload (a Checkmk GUI hint for the proxy)
	AuthUser  string
	Size      int // bytes the query took in the client stream
}

// Framing errors. Each maps to a Livestatus error reply.
var (
	ErrQueryTooLarge = errors.New("query too large")
	ErrIncomplete    = errors.New("incomplete request")
)

// Framer splits a client byte stream into queries. It keeps only what is
// not yet a complete query, and never more than max bytes of it.
type Framer struct {
	buf  []byte
	max  int
	scan int // lines before this offset are known not to be the empty line
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

// Next returns the next complete query, if there is one. eof says the client
// will send nothing more: then a last query ended by EOF after a complete
// line counts as complete, and a half line is ErrIncomplete. Leading empty
// lines between queries are skipped. ErrQueryTooLarge is returned once a
// query grows past the limit without ending.
func (f *Framer) Next(eof bool) (Query, bool, error) {
	f.skipBlankLines()
	if eof && len(bytes.TrimRight(f.buf, "\r")) == 0 {
		f.buf, f.scan = f.buf[:0], 0 // a stray CR before EOF is not a request
	}
	end, next, scanned := queryEnd(f.buf, f.scan)
	f.scan = scanned
	if end < 0 {
		// A trailing CR may be the start of the ending "\r\n": it does not
		// count, so the limit does not depend on how the bytes were chunked.
		if n := len(bytes.TrimSuffix(f.buf, []byte{'\r'})); n > f.max {
			return Query{}, false, ErrQueryTooLarge
		}
		if !eof || len(f.buf) == 0 {
			return Query{}, false, nil
		}
		if f.buf[len(f.buf)-1] != '\n' {
			return Query{}, false, ErrIncomplete
		}
		end, next = len(f.buf), len(f.buf)
	}
	if end > f.max {
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

func (f *Framer) skipBlankLines() {
	i := 0
	for i < len(f.buf) {
		switch {
		case f.buf[i] == '\n':
			i++
		case f.buf[i] == '\r' && i+1 < len(f.buf) && f.buf[i+1] == '\n':
			i += 2
		default:
			f.buf = f.buf[i:]
			f.scan = max(0, f.scan-i)
			return
		}
	}
	f.buf, f.scan = f.buf[:0], 0
}

// queryEnd finds the empty line that ends the first query in b, looking
// at lines from offset start on (a line start): it returns the offset where
// the query's text ends (after its last line's newline) and where the next
// query begins, or -1, -1 and the line start to resume from later, so a
// large query pushed in many pieces is scanned once, not once per piece.
func queryEnd(b []byte, start int) (end, next, resume int) {
	for {
		i := bytes.IndexByte(b[start:], '\n')
		if i < 0 {
			return -1, -1, start
		}
		line := b[start : start+i]
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			return start, start + i + 1, 0
		}
		start += i + 1
	}
}

// ParseQuery reads the lines of one query (without its terminating empty
// line) and notes the headers that the proxy acts upon.
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
		line = bytes.TrimSuffix(line, []byte{'\r'})
		q.Lines = append(q.Lines, line)
	}
	if len(q.Lines) == 0 {
		return q
	}
	first := q.Lines[0]
	if sp := bytes.IndexByte(first, ' '); sp >= 0 {
		q.Method = string(first[:sp])
	} else {
		q.Method = string(first)
	}
	for _, l := range q.Lines[1:] {
		name, value, ok := header(l)
		if !ok {
			continue
		}
		switch name {
		case "ResponseHeader":
			q.Fixed16 = value == "fixed16"
		case "KeepAlive":
			q.KeepAlive = value == "on"
		case "Cache":
			q.Cache = value == "reload"
		case "AuthUser":
			q.AuthUser = value
		}
	}
	return q
}

// header splits "Name: value". Names are case-sensitive, as on the servers.
func header(l []byte) (name, value string, ok bool) {
	i := bytes.IndexByte(l, ':')
	if i <= 0 {
		return "", "", false
	}
	return string(l[:i]), string(bytes.TrimSpace(l[i+1:])), true
}

// proxyHeaders are the client headers the proxy owns upstream.
func proxyHeader(l []byte) bool {
	name, _, ok := header(l)
	return ok && (name == "ResponseHeader" || name == "KeepAlive" || name == "Cache")
}

// Upstream renders the request the proxy sends on a channel. A GET gets
// "ResponseHeader: fixed16" and "KeepAlive: on" right after the request line,
// because servers stop parsing at the first bad header; the client's own
// ResponseHeader, KeepAlive and Cache lines are dropped. A COMMAND is sent
// alone: naemon would read any header after it as a new request.
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
