package core

import (
	"bytes"

	"liveproxyd/livestatus"
)

// skimCarry is how much of a line the skimmer keeps: room for the header
// that frames a reply ("ResponseHeader: fixed16", 23 bytes) with some
// whitespace around it, and for the word that tells a COMMAND. A longer
// line is read past unkept.
const skimCarry = 64

// skimmer reads a client's stream by livestatus.Framer's rules without keeping
// it: it finds where the first query that expects an answer ends, and
// whether that query asked for ResponseHeader: fixed16, holding at most
// skimCarry bytes of the current line. The core reads a client it has
// refused this way (refusal.go): the query is not kept, but the refusal
// must wait for the query's end and be framed as the query asked, and
// clients such as Checkmk's GUI and Perl's Monitoring::Livestatus put
// ResponseHeader last.
//
// A query ends at a line that is blank after trimming whitespace (Blank,
// as for the Framer); blank lines before a query are skipped; a COMMAND is
// one line and gets no reply, so the skimmer reads past it to the query
// after it, whose answer the client reads next. A ResponseHeader line
// longer than skimCarry is not recognised (the reply is then plain text);
// KeepAlive is not looked at, since an error reply always closes the client.
type skimmer struct {
	line    []byte // the first skimCarry bytes of the current line
	n       int    // length of the current line so far
	filled  bool   // the current line has a byte that is not whitespace
	inQuery bool   // the first line of the current query has been read
	fixed16 bool   // the current query asked for fixed16 in a line read so far
}

// push reads data and reports whether the first query that expects an
// answer ended in it. Nothing after that end is read.
func (k *skimmer) push(data []byte) bool {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			k.take(data)
			return false
		}
		k.take(data[:i])
		data = data[i+1:]
		if k.endLine() {
			return true
		}
	}
	return false
}

// finish reads the half line at the end of the stream as a line, as the
// Framer does at EOF: what it says counts for the framing guess.
func (k *skimmer) finish() {
	if k.n > 0 {
		k.endLine()
	}
}

// take adds part of the current line.
func (k *skimmer) take(b []byte) {
	if room := skimCarry - len(k.line); room > 0 {
		k.line = append(k.line, b[:min(room, len(b))]...)
	}
	k.n += len(b)
	k.filled = k.filled || !livestatus.Blank(b)
}

// endLine ends the current line and reports whether it ended the query.
func (k *skimmer) endLine() bool {
	line, whole, filled := k.line, k.n <= skimCarry, k.filled
	k.line, k.n, k.filled = k.line[:0], 0, false
	switch {
	case !filled:
		return k.inQuery // a blank line ends a query, or precedes one
	case !k.inQuery:
		// The first line: the carry holds enough of it to tell a COMMAND
		// (IsCommand looks at the first word only).
		k.inQuery, k.fixed16 = !livestatus.IsCommand(line), false
	case whole:
		// The same rule as ParseQuery: a valid header, the last one wins.
		if fixed16, ok := livestatus.ResponseHeaderLine(line); ok {
			k.fixed16 = fixed16
		}
	}
	return false
}
