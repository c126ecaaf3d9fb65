package core

// refusal is the error reply a refusing client gets once the query it is
// still sending ends (see refuse), and the skimmer that finds that end.
type refusal struct {
	code int
	text string
	skim skimmer
}

// refuse decides to answer the query a client is still sending with an
// error (its bytes do not fit the global query budget, or the query is
// too large), without keeping any more of it. The bytes buffered so far
// are read by the skimmer and dropped at once, giving their room back;
// later input is read past the same way (refusedData). The reply goes out
// when the query ends, or, failing that, at EOF or when QueryReadTimeout
// from the query's first byte is over, and the client is then closed.
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
