package core

import "fmt"

// refusal is the error reply a refusing client gets once the query it is
// still sending ends (see refuse), and the skimmer that finds that end.
type refusal struct {
	code int
	text string
	skim skimmer
}

// refuse decides to answer the query a client is still sending with an
// error (its bytes do not fit the global query budget, the query is too
// large, or it is incomplete at EOF or on the read timeout), without
// keeping any more of it. The bytes buffered so far are read by the
// skimmer and dropped at once, giving their room back; later input is
// read past the same way (refusedData). The reply goes out when the query
// ends, or, failing that, at EOF or when QueryReadTimeout from the query's
// first byte is over, and the client is then closed.
//
// Why wait for the end: the reply must be framed as the client reads it,
// and the line that says so, ResponseHeader: fixed16, comes last from
// Checkmk's GUI and Perl's Monitoring::Livestatus. A reply framed by a
// guess from the first bytes is a broken header to them (sim seed 173).
// Waiting also keeps the close after the client's last byte: a socket
// closed with unread input is reset, which can destroy the reply before
// the client reads it.
//
// A client whose query already ended in what was buffered (a too-large
// query that is complete, or an EOF) is answered at once.
func (s *Site) refuse(c *client, code int, text string) {
	c.state, c.refusal = clientRefusing, refusal{code: code, text: text}
	ended := c.refusal.skim.push(c.framer.Discard())
	s.syncBuffered(c)
	if ended || c.eof {
		s.endRefusal(c)
	}
}

// refusedData reads input from a refusing client past, keeping nothing,
// and answers it when its query ends.
func (s *Site) refusedData(c *client, data []byte) {
	if c.refusal.skim.push(data) {
		s.endRefusal(c)
	}
}

// endRefusal writes a refusing client's error reply and closes it. When
// the query did not end (EOF, QueryReadTimeout), the framing is the best
// guess from every line the skimmer read, the half one included.
func (s *Site) endRefusal(c *client) {
	c.refusal.skim.finish()
	s.replyError(c, c.refusal.code, c.refusal.text, c.refusal.skim.fixed16)
}

// checkRefusing is the CheckInvariants clause of a refusing client: it
// keeps nothing of its query (no buffered bytes, none counted against the
// budget, no more than skimCarry bytes of the current line), and its clock
// runs, so QueryReadTimeout ends it; EOF ends it at once. A refusal exists
// only while refusing.
func checkRefusing(c *client) error {
	if c.state != clientRefusing {
		if c.refusal.code != 0 {
			return fmt.Errorf("client %d has a refusal (%d) while not refusing", c.id, c.refusal.code)
		}
		return nil
	}
	switch {
	case c.framer.Buffered() != 0 || c.buffered != 0:
		return fmt.Errorf("refusing client %d keeps %d query bytes (%d counted)", c.id, c.framer.Buffered(), c.buffered)
	case len(c.refusal.skim.line) > skimCarry:
		return fmt.Errorf("refusing client %d keeps %d bytes of a line", c.id, len(c.refusal.skim.line))
	case c.partialSince.IsZero():
		return fmt.Errorf("refusing client %d without a read deadline", c.id)
	case c.refusal.code == 0 || c.channel != nil:
		return fmt.Errorf("refusing client %d without a reply, or with channel", c.id)
	case c.eof:
		return fmt.Errorf("refusing client %d not answered at EOF", c.id)
	}
	return nil
}
