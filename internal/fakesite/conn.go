package fakesite

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

var (
	errTooLarge   = errors.New("request too large")
	errIncomplete = errors.New("incomplete request")
	errSpill      = errors.New("answer too big for memory")
)

// serve runs one connection: wait for a Capacity slot, then answer
// requests in order until the client or the answer ends the connection.
func (s *Server) serve(c *conn) {
	defer s.forget(c)
	if !s.acquire(c) {
		return
	}
	defer s.release()
	br := bufio.NewReaderSize(c.nc, 64<<10)
	for {
		if s.opts.IdleClose > 0 {
			c.nc.SetReadDeadline(time.Now().Add(s.opts.IdleClose))
		}
		lines, err := readRequest(br, s.opts.Naemon, c)
		if len(lines) == 0 && err != nil && err != errTooLarge && err != errIncomplete {
			return // EOF, idle timeout, dropped: nothing to answer
		}
		if !s.waitRunning(c) {
			return
		}
		switch err {
		case nil:
		case errTooLarge:
			s.replyError(c, false, &lsError{code: codeTooLarge, msg: "Request too large"}, 0)
			return
		case errIncomplete:
			s.replyError(c, false, &lsError{code: codeIncomplete, msg: "Client connection terminated while request still incomplete"}, 0)
			return
		default:
			return
		}
		if !s.answer(c, lines) {
			return
		}
	}
}

// wsp is the whitespace the servers trim from lines (C isspace).
const wsp = " \t\r\v\f"

// readRequest reads lines up to the line that ends a request: to Icinga a
// line blank after trimming, to naemon only an empty one (then lines of
// whitespace are skipped, and lines c holds from the last request come
// first). EOF right after a complete line also ends a request; EOF inside
// a line is errIncomplete. Blank lines before a request are skipped.
func readRequest(br *bufio.Reader, naemon bool, c *conn) ([]string, error) {
	lines, done := c.pending, c.pendingDone
	if c.pending, c.pendingDone = nil, false; len(lines) > 0 && done {
		return lines, nil
	}
	budget := MaxRequestBytes
	for {
		line, err := readLine(br, budget, naemon)
		if err == io.EOF && len(lines) > 0 {
			return lines, nil
		}
		if err != nil {
			return lines, err
		}
		budget -= len(line) + 1
		switch {
		case naemon && line != "":
			if line = strings.TrimRight(line, wsp); line == "" {
				continue
			}
		case strings.Trim(line, wsp) == "":
			if len(lines) == 0 {
				continue
			}
			return lines, nil
		}
		lines = append(lines, line)
	}
}

// readLine reads one line of at most budget bytes without its "\n" (and a
// "\r" before it, as Icinga accepts CRLF, unless keepCR: naemon does not).
func readLine(br *bufio.Reader, budget int, keepCR bool) (string, error) {
	var acc []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(acc)+len(frag) > budget {
			return "", errTooLarge
		}
		acc = append(acc, frag...)
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(acc) > 0:
			return "", errIncomplete
		case err != nil:
			return "", err
		}
		line := string(acc[:len(acc)-1])
		if keepCR {
			return line, nil
		}
		return strings.TrimSuffix(line, "\r"), nil
	}
}

// answer handles one complete request; false closes the connection.
func (s *Server) answer(c *conn, lines []string) bool {
	switch {
	case strings.HasPrefix(lines[0], "GET ") || lines[0] == "GET":
		return s.answerGet(c, lines)
	case strings.HasPrefix(lines[0], "COMMAND "):
		s.answerCommand(c, lines[0])
		if s.opts.Naemon && len(lines) > 1 {
			c.pending, c.pendingDone = lines[1:], true // naemon: the next request
		}
		return true // no answer, and the server keeps the connection
	}
	// Servers close here; naemon first writes the text, never a header.
	s.replyError(c, false, &lsError{code: codeInvalidRequest, msg: "Invalid request method"}, 0)
	return false
}

func (s *Server) answerCommand(c *conn, line string) {
	cmd, err := parseCommand(line)
	if err == nil {
		err = s.st.apply(cmd)
	}
	s.noteCommand(line, err != nil)
	if err != nil && s.opts.CommandError {
		// Bytes no request asked for: the proxy must resync or close.
		c.nc.Write([]byte("400: " + err.Error() + "\n"))
	}
}

func (s *Server) answerGet(c *conn, lines []string) bool {
	q, perr := parseGet(lines)
	if perr != nil {
		if s.opts.Naemon && q.stop > 0 && q.stop < len(lines)-1 {
			c.pending = lines[q.stop+1:] // naemon reads them in front of the next request
		}
		s.replyError(c, q.fixed16, perr, 0)
		// Without fixed16 nothing marks the end of an error text: close.
		return q.fixed16 && q.keepAlive
	}
	if !s.sleep(c, s.opts.Latency) || !s.waitRunning(c) {
		return false
	}
	snap := s.st.snapshot(s.Stats())
	s.count(func(st *Stats) { st.Queries++ })
	w := &gatedWriter{s: s, c: c}
	sep := byte('\n')
	if q.sepsSet {
		// Icinga puts the dataset separator in the header's last byte.
		sep = q.seps[0]
	}
	buf := &spillBuffer{limit: s.spillAt}
	err := render(buf, q, snap)
	switch {
	case err == nil && q.fixed16:
		out := append(header(codeOK, int64(buf.Len()), sep), buf.Bytes()...)
		_, err = w.Write(out)
	case err == nil:
		_, err = w.Write(buf.Bytes())
	case err == errSpill && q.fixed16:
		var n countWriter
		if err = render(&n, q, snap); err == nil {
			if _, err = w.Write(header(codeOK, int64(n), sep)); err == nil {
				err = render(w, q, snap)
			}
		}
	case err == errSpill:
		err = render(w, q, snap)
	}
	return err == nil && q.keepAlive
}

// replyError writes an error answer: header and text with fixed16, else
// the text alone (naemon; Icinga would send nothing).
func (s *Server) replyError(c *conn, fixed16 bool, e *lsError, sep byte) {
	s.count(func(st *Stats) { st.Queries++; st.Errors++ })
	body := e.msg + "\n"
	var out []byte
	if fixed16 {
		if sep == 0 {
			sep = '\n'
		}
		out = header(e.code, int64(len(body)), sep)
	}
	(&gatedWriter{s: s, c: c}).Write(append(out, body...))
}

// header renders a fixed16 header: `%03d %11d` and one more byte. It is
// the fake server's own, not livestatus.FormatHeader: a server the proxy is
// tested against must not share the proxy's code, and Icinga may put a
// separator into the last byte.
func header(code int, length int64, last byte) []byte {
	return append(fmt.Appendf(nil, "%03d %11d", code, length), last)
}

// sleep waits d unless the connection is dropped first.
func (s *Server) sleep(c *conn, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.done:
		return false
	}
}

// gatedWriter writes to a connection unless the site hangs, so a hang
// can stop an answer in the middle.
type gatedWriter struct {
	s *Server
	c *conn
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	if !g.s.waitRunning(g.c) {
		return 0, io.ErrClosedPipe
	}
	return g.c.nc.Write(p)
}

// spillBuffer collects an answer in memory up to limit bytes.
type spillBuffer struct {
	bytes.Buffer
	limit int
}

func (b *spillBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.limit {
		return 0, errSpill
	}
	return b.Buffer.Write(p)
}

// countWriter measures an answer without keeping it.
type countWriter int64

func (n *countWriter) Write(p []byte) (int, error) {
	*n += countWriter(len(p))
	return len(p), nil
}
