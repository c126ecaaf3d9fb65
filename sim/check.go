package sim

import (
	"bytes"
	"strings"
	"time"

	"liveproxyd/livestatus"
)

// The client-side check: every byte a client receives must belong to its
// own expected answer, or to exactly one proxy error reply that ends the
// connection. Anything else is a violation.

type rxMode uint8

const (
	rxIdle    rxMode = iota // nothing of the current answer yet
	rxOwn                   // matching the own answer byte by byte
	rxErrHdr                // reading a fixed16 error header
	rxErrBody               // reading the error text
	rxErrDone               // error complete: only the close may follow
)

type rxState struct {
	q      *query
	mode   rxMode
	got    int // own bytes matched
	hdr    []byte
	code   int // 0 for a plain-text error
	errLen int // fixed16 error body length
	text   []byte
	cands  []cand // qCached: the answers still possible (cache.go)
}

// receive checks bytes read from the proxy.
func (c *client) receive(b []byte) {
	w := c.w
	for len(b) > 0 && !c.aborted && w.err == nil {
		if c.rx.mode == rxErrDone {
			w.fail(invBytesAfterError, "client %d: %d bytes %q after its error reply", c.id, len(b), clip(b))
			return
		}
		if c.rx.q == nil {
			q := c.nextAnswer(b[0])
			if q == nil {
				w.fail(invBytesUnasked, "client %d: %d bytes %q with no query waiting for them (another query's answer?)", c.id, len(b), clip(b))
				return
			}
			c.rx = rxState{q: q}
		}
		b = b[c.feed(b):]
	}
}

// nextAnswer picks the query that bytes starting with first answer. A
// COMMAND gets no answer: if the bytes do not look like an error text, it
// is passed and the next query is meant.
func (c *client) nextAnswer(first byte) *query {
	for c.cur < c.sent {
		q := c.script[c.cur]
		if q.done && q.expectsAnswer() {
			c.cur++
			continue
		}
		// A COMMAND the site got was forwarded, and a forwarded COMMAND gets
		// no error any more: what comes is the next query's.
		if q.kind == qCommand && (first != 's' || q.siteSeen > 0) {
			q.done = true
			c.cur++
			continue
		}
		return q
	}
	return nil
}

// feed consumes a prefix of b for the current answer; it returns how much.
func (c *client) feed(b []byte) int {
	rx := &c.rx
	q := rx.q
	w := c.w
	if rx.mode == rxIdle {
		// A cached-kind answer may be another user's: without fixed16,
		// anything but an error text ("site ..." or the busy text "All
		// ...", no user name starts so) is judged as the answer.
		if q.own.n > 0 && (b[0] == q.own.at(0) || q.kind == qCached && !q.fixed16 && b[0] != 's' && b[0] != 'A') {
			rx.mode = rxOwn
			if q.kind == qCached {
				rx.cands = c.cachedCands(q)
			}
		} else if q.fixed16 {
			rx.mode = rxErrHdr
		} else {
			rx.mode = rxErrBody
		}
	}
	switch rx.mode {
	case rxOwn:
		n := min(len(b), q.own.len()-rx.got)
		if c.abortAfterBytes > 0 {
			n = min(n, c.abortAfterBytes-rx.got)
		}
		if rx.cands != nil {
			if !c.matchCached(b[:n]) {
				return len(b)
			}
		} else if i := q.own.mismatch(rx.got, b[:n]); i >= 0 {
			w.fail(invAnswerBytes, "client %d query %s: answer byte %d is %q, want %q; got %q..., want %q... (another query's bytes?)",
				c.id, q.id, rx.got+i, b[i], q.own.at(rx.got+i), clip(b[i:]), q.own.excerpt(rx.got+i))
			return len(b)
		}
		rx.got += n
		q.progressAt = w.now
		if c.abortAfterBytes > 0 && rx.got >= c.abortAfterBytes {
			w.fired(c.s, FaultClientGoneResponse, uint64(c.id))
			c.abort()
			return len(b)
		}
		if rx.got == q.own.len() {
			if rx.cands != nil {
				c.judgeCached(q)
			}
			c.answered(q)
		}
		return n
	case rxErrHdr:
		n := min(len(b), livestatus.HeaderLen-len(rx.hdr))
		rx.hdr = append(rx.hdr, b[:n]...)
		if len(rx.hdr) == livestatus.HeaderLen {
			code, length, ok := parseFixed16(rx.hdr)
			switch {
			case !ok:
				w.fail(invErrorHeader, "client %d query %s: bad fixed16 header %q", c.id, q.id, rx.hdr)
			case !q.allowedCode(code):
				w.fail(invErrorCode, "client %d query %s: error code %d does not fit (header %q)", c.id, q.id, code, rx.hdr)
			case length < 1 || length > 1024:
				w.fail(invErrorLength, "client %d query %s: error reply of %d bytes", c.id, q.id, length)
			}
			rx.code, rx.errLen, rx.mode = code, length, rxErrBody
		}
		return n
	case rxErrBody:
		n := len(b)
		if rx.code != 0 {
			n = min(n, rx.errLen-len(rx.text))
		} else if i := bytes.IndexByte(b, '\n'); i >= 0 {
			n = i + 1
		}
		rx.text = append(rx.text, b[:n]...)
		if len(rx.text) > 1024 {
			w.fail(invErrorLength, "client %d query %s: error text longer than 1 KiB: %q", c.id, q.id, clip(rx.text))
		} else if (rx.code != 0 && len(rx.text) == rx.errLen) || (rx.code == 0 && rx.text[len(rx.text)-1] == '\n') {
			c.errorDone(q)
		}
		return n
	}
	return len(b)
}

// answered: the own answer is complete.
func (c *client) answered(q *query) {
	w := c.w
	q.done = true
	c.rx = rxState{}
	c.cur++
	w.res.Queries.OK++
	c.s.seen.ok++
	c.s.recovered(q)
	if q.keepAlive {
		w.after(c.think, c.sendNext)
	}
	c.checkDone()
}

// errorDone validates a complete error reply: one line naming the site, or
// Checkmk's busy text, which does not.
func (c *client) errorDone(q *query) {
	w := c.w
	rx := &c.rx
	text := string(rx.text)
	prefix := "site " + c.s.name + ": "
	switch {
	case strings.Count(text, "\n") != 1:
		w.fail(invErrorOneLine, "client %d query %s: error reply is not one line: %q", c.id, q.id, text)
	case rx.code == livestatus.CodeBusy && strings.HasPrefix(text, "All ") && !c.s.isBusyText(q.sentAt, text):
		w.fail(invBusyText, "client %d query %s: busy text %q is not Checkmk's with a configured channel count", c.id, q.id, text)
	case rx.code == 0 && !q.allowedText(text, prefix) && !c.s.isBusyText(q.sentAt, text):
		w.fail(invTextReplyKnown, "client %d query %s: unexpected bytes instead of the answer: %q (want %q...)", c.id, q.id, clip(rx.text), q.own.excerpt(0))
	case rx.code >= 500 && !strings.HasPrefix(text, prefix) && !c.s.isBusyText(q.sentAt, text):
		w.fail(invErrorNamesSite, "client %d query %s: error text %q does not start with %q", c.id, q.id, text, prefix)
	case !c.errorFair(q, rx.code, text):
		w.fail(invErrorFair, "client %d query %s: error %q is not justified: the site did not fault the query (seen %d times, at +%v), "+
			"the core did not hold the site dead, no connection was cut since it was sent at +%v", c.id, q.id, text, q.siteSeen, q.siteAt, q.sentAt)
	case rx.code == livestatus.CodeTimeout && !c.timeoutFair(q):
		w.fail(invTimeoutFair, "client %d query %s: 504 though the site got it %d times, at +%v, and answered at +%v (query timeout %v)",
			c.id, q.id, q.siteSeen, q.siteAt, q.siteDoneAt, c.s.minSince(q.sentAt).QueryTimeout)
	}
	q.done = true
	rx.mode = rxErrDone
	c.s.noteError(q, rx.code, text)
	qc := &w.res.Queries
	qc.Errors++
	switch {
	case rx.code == 0:
		qc.ErrText++
	case rx.code == livestatus.CodeBadGateway:
		qc.Err502++
	case rx.code == livestatus.CodeBusy:
		qc.Err503++
	case rx.code == livestatus.CodeTimeout:
		qc.Err504++
	case rx.code < 500:
		qc.Err4xx++
	}
}

// allowedText: a plain-text error (no fixed16) for a query that expects a
// 5xx must name the site; a 4xx text may be any one line.
func (q *query) allowedText(text, prefix string) bool {
	switch q.kind {
	case qBad, qHalf, qOversize:
		return true
	}
	return strings.HasPrefix(text, prefix)
}

// errorFair: a 502 needs a cause the world can see: the site broke this
// query, or cut a connection while it was on its way, or the core held the
// site dead, or it shut down. A 503 comes only after a channel_timeout of
// waiting. Text-only errors carry no code; they are judged like a 502.
func (c *client) errorFair(q *query, code int, text string) bool {
	s := c.s
	if strings.Contains(text, queryBufferFull) {
		return c.w.queryBudgetTight()
	}
	if q.kind == qBad || q.kind == qHalf || q.kind == qOversize {
		return true // the proxy's own refusals: the code was checked by kind
	}
	if q.kind == qCommand {
		// Bytes after a COMMAND may be the error of the query sent after
		// it, which can overtake the COMMAND on another channel.
		for _, n := range c.script[:c.sent] {
			if n.kind != qCommand && !n.done && c.errorFair(n, code, text) {
				return true
			}
		}
	}
	switch code {
	case livestatus.CodeBusy:
		return c.w.now-q.sentAt >= s.minSince(q.sentAt).ChannelTimeout
	case livestatus.CodeTimeout:
		return true // judged by timeoutFair
	case 0:
		if c.w.now-q.sentAt >= s.minSince(q.sentAt).ChannelTimeout {
			return true // may be the plain text of a 503 or 504
		}
	}
	return q.siteFaulted() || s.stopped || s.downAt(q.sentAt) || s.diedSince(q.sentAt) ||
		s.cutSeenAt >= q.sentAt
}

// timeoutFair: a 504 is right only if the site hung, restarted or broke
// this query, or really took about the query timeout to answer it.
func (c *client) timeoutFair(q *query) bool {
	if q.siteFaulted() {
		return true
	}
	if q.siteSeen == 0 || q.siteDoneAt == 0 {
		return false
	}
	return q.siteDoneAt-q.siteAt >= c.s.minSince(q.sentAt).QueryTimeout-time.Second
}

// onClose judges the state the client is in when the proxy closes it.
func (c *client) onClose() {
	w, s := c.w, c.s
	rx := &c.rx
	switch rx.mode {
	case rxErrDone:
	case rxErrHdr, rxErrBody:
		w.fail(invErrorWhole, "client %d query %s: closed in the middle of an error reply (%q)", c.id, rx.q.id, append(rx.hdr, rx.text...))
	case rxOwn:
		q := rx.q
		if q.fixed16 && w.holdsWhole(s.cfg.AnswerBuffer, q.own.len()) {
			// Checkmk's GUI takes a 200 header as the promise of the whole
			// body: an answer that fits the hold limit goes out whole or
			// not at all, whatever the site does.
			w.fail(invAnswerHeldWhole, "client %d query %s: answer cut after %d of %d bytes, though it fits the hold limit (%d bytes)",
				c.id, q.id, rx.got, q.own.len(), s.cfg.AnswerBuffer)
		} else if q.siteFaulted() || s.diedSince(q.sentAt) {
			w.res.Queries.Truncated++
			q.done = true
		} else {
			w.fail(invAnswerCutFair, "client %d query %s: answer cut after %d of %d bytes, though the site neither faulted it nor died", c.id, q.id, rx.got, q.own.len())
		}
	case rxIdle:
		if s.stopped {
			break
		}
		if q := c.pending(); q != nil {
			w.fail(invCloseAfterAnswers, "client %d query %s: closed without an answer (site seen %d)", c.id, q.id, q.siteSeen)
		} else if c.allDoneAt == 0 {
			w.fail(invCloseAfterAnswers, "client %d: closed in the middle of its KeepAlive conversation (%d of %d queries sent)", c.id, c.sent, len(c.script))
		}
	}
	c.moot()
}

func clip(b []byte) []byte {
	if len(b) > 48 {
		return b[:48]
	}
	return b
}
