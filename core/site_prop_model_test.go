package core

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// The model behind TestPropSite: what the simulated clients sent, and the
// rules their answer streams must follow. It is written from the protocol,
// not from the core's code, so that the two can disagree.

type pmKind uint8

const (
	pmPending    pmKind = iota // not complete yet, no EOF: no answer due
	pmGet                      // forwarded, answered by the site
	pmCommand                  // forwarded, no answer
	pmBad                      // invalid request method: 400
	pmIncomplete               // half line, then EOF: 451
	pmOversized                // longer than MaxQueryBytes: 413
)

func (k pmKind) String() string {
	return [...]string{"pending", "GET", "COMMAND", "bad", "incomplete", "oversized"}[k]
}

// pmErrorCodes are the error replies each kind of request may get.
var pmErrorCodes = map[pmKind][]int{
	pmGet:        {CodeBadGateway, CodeBusy, CodeTimeout},
	pmCommand:    {CodeBadGateway, CodeBusy, CodeTimeout},
	pmBad:        {CodeBadRequest},
	pmIncomplete: {CodeIncomplete},
	pmOversized:  {CodeTooLarge},
}

// pmHeartbeat is the heartbeat the core must send (docs/design.md §7.1;
// fixed16 and KeepAlive as docs/protocol.md §1.5 and §2.3 want them).
const pmHeartbeat = "GET status\nResponseHeader: fixed16\nKeepAlive: on\nColumns: program_start\n\n"

// pmReq is one request a client sends, possibly in pieces.
type pmReq struct {
	tag       string
	c         *pmClient
	text      []byte // blank lines, the request's lines, the empty line
	blank     int    // length of the leading blank lines
	eol       string
	sent      int       // bytes of text sent so far
	began     time.Time // when its first byte after the blank lines was sent
	forwarded bool      // seen on a channel
	bodyLen   int       // length of the site's answer, -1 until it answers
	answered  bool      // the site sent all of its answer
}

type pmClient struct {
	id      ClientID
	closed  bool // ActCloseClient seen
	gone    bool // EvClientGone sent
	eof     bool // EvClientEOF sent
	reqs    []*pmReq
	out     []byte // everything the core wrote to it
	unacked int
	n       int // requests made, for tags
}

func (c *pmClient) open() bool { return !c.closed && !c.gone }

func (r *pmReq) begun() bool     { return r.sent > r.blank }
func (r *pmReq) isCommand() bool { return bytes.HasPrefix(r.text[r.blank:], []byte("COMMAND")) }
func (r *pmReq) done() bool      { return r.sent == len(r.text) }

// view says what the core must make of the part of r sent so far: a kind,
// the lines it forwards, and whether the client asked for fixed16 and
// KeepAlive in complete lines.
func (r *pmReq) view(max int) (kind pmKind, lines []string, fixed16, keepAlive bool) {
	sent := r.text[r.blank:r.sent]
	if r.done() && !r.isCommand() {
		sent = sent[:len(sent)-len(r.eol)]
	}
	oversized := len(sent) > max
	switch {
	case oversized && !r.done():
		return pmOversized, nil, false, false // its 413 is framed by a guess at EOF
	case r.done():
	case !r.c.eof:
		return pmPending, nil, false, false
	case sent[len(sent)-1] != '\n':
		// A half line of whitespace at EOF ends the query like a blank
		// line would; any other half line makes it incomplete.
		nl := strings.LastIndexByte(string(sent), '\n')
		if nl < 0 || strings.Trim(string(sent[nl+1:]), " \t\r\v\f") != "" {
			return pmIncomplete, nil, false, false
		}
		sent = sent[:nl+1]
	}
	for _, l := range strings.SplitAfter(string(sent), "\n") {
		if l != "" {
			lines = append(lines, strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r"))
		}
	}
	for _, l := range lines[1:] {
		fixed16 = fixed16 || l == "ResponseHeader: fixed16"
		keepAlive = keepAlive || l == "KeepAlive: on"
	}
	switch method, _, _ := strings.Cut(lines[0], " "); method {
	case "GET":
		kind = pmGet
	case "COMMAND":
		kind = pmCommand
	default:
		kind = pmBad
	}
	if oversized {
		kind = pmOversized
	}
	return kind, lines, fixed16, keepAlive
}

// pmUpstream is the request the proxy must write on a channel (docs/design.md
// §5.4; a COMMAND goes alone).
func pmUpstream(kind pmKind, lines []string) string {
	if kind == pmCommand {
		return lines[0] + "\n\n"
	}
	up := lines[0] + "\nResponseHeader: fixed16\nKeepAlive: on\n"
	for _, l := range lines[1:] {
		name, _, _ := strings.Cut(l, ":")
		if name != "ResponseHeader" && name != "KeepAlive" && name != "Cache" {
			up += l + "\n"
		}
	}
	return up + "\n"
}

// pmBody is the site's answer to a tagged query: the tag repeated, so a
// byte in the wrong place shows.
func pmBody(tag string, n int) []byte {
	return []byte(strings.Repeat(tag+";", n/(len(tag)+1)+1)[:n])
}

// pmErrorAt recognises a proxy error reply at the start of b: framed
// (fixed16, a code other than the site's 200) or the bare text line.
func pmErrorAt(b []byte, site string) (n, code int, framed, ok bool) {
	if len(b) >= HeaderLen {
		if h, err := ParseHeader(b[:HeaderLen]); err == nil && h.Code != 200 {
			return HeaderLen + int(h.Length), h.Code, true, true
		}
	}
	if bytes.HasPrefix(b, []byte("site "+site+": ")) || bytes.HasPrefix(b, []byte("All ")) {
		return bytes.IndexByte(b, '\n') + 1, 0, false, true
	}
	return 0, 0, false, false
}

// pmBusyText matches Checkmk's busy text, the one error without the site's
// name.
var pmBusyText = regexp.MustCompile(`^All [0-9]+ channels busy, timeout waiting for free channel\.\n$`)

// checkStream walks what the core wrote to c and matches it, answer by
// answer, with c's requests: each request at most one answer, in order;
// a GET's answer is exactly the site's answer to that GET (a prefix while
// streaming or when truncated); an error reply ends the stream and the
// client is closed with it; nothing follows a non-KeepAlive answer.
func (m *pmModel) checkStream(c *pmClient) error {
	out, pos := c.out, 0
	for _, r := range c.reqs {
		if pos == len(out) {
			return nil
		}
		if !r.begun() {
			continue
		}
		kind, _, fixed16, keepAlive := r.view(m.cfg.MaxQueryBytes)
		if kind == pmCommand {
			// No answer, not even an error (it would be read as the next
			// query's): what follows answers a later request.
			continue
		}
		rest := out[pos:]
		// Once the site sent a whole answer, the client gets exactly that
		// (an empty body is no answer at all without fixed16).
		if n, code, framed, ok := pmErrorAt(rest, m.cfg.Name); ok && !r.answered {
			body := rest[:max(n, 0)]
			if framed {
				body = rest[HeaderLen:min(n, len(rest))]
			}
			switch {
			case n <= 0 || n > len(rest) || bytes.IndexByte(body, '\n') != len(body)-1:
				return fmt.Errorf("request %s: malformed error reply %q", r.tag, rest)
			case !bytes.HasPrefix(body, []byte("site "+m.cfg.Name+": ")) && !(pmBusyText.Match(body) && (!framed || code == CodeBusy)):
				return fmt.Errorf("request %s: error text %q does not name the site", r.tag, body)
			case n != len(rest):
				return fmt.Errorf("request %s: bytes after its error reply: %q", r.tag, rest)
			case !c.closed:
				return fmt.Errorf("request %s: error reply but client %d not closed", r.tag, c.id)
			case framed && !pmCodeAllowed(kind, code):
				return fmt.Errorf("request %s (%v) got error code %d", r.tag, kind, code)
			case kind == pmPending:
				return fmt.Errorf("request %s: error reply %q while it is still being sent", r.tag, rest)
			case kind == pmOversized && !r.done() && !c.eof && m.now.Before(r.began.Add(m.site.Config().QueryReadTimeout)):
				// A refusal is read to the query's end (core/refusal.go).
				return fmt.Errorf("request %s: 413 %q before its end, EOF or the read timeout", r.tag, rest)
			case (kind == pmGet || kind == pmCommand || kind == pmBad || kind == pmOversized && r.done()) && framed != fixed16:
				// A 413 waits for the query's end and is framed as it
				// asks; only one cut short by EOF (a 451, or a 413
				// before its end) may be framed by a guess.
				return fmt.Errorf("request %s (%v, fixed16 %v) got error reply %q", r.tag, kind, fixed16, rest)
			}
			return nil
		}
		if kind != pmGet {
			return fmt.Errorf("request %s (%v) got %q, not an error reply", r.tag, kind, rest)
		}
		if r.bodyLen < 0 {
			return fmt.Errorf("request %s: answer %q before the site answered it", r.tag, rest)
		}
		want := pmBody(r.tag, r.bodyLen)
		if fixed16 {
			want = append(FormatHeader(200, int64(r.bodyLen)), want...)
		}
		n := min(len(rest), len(want))
		if !bytes.Equal(rest[:n], want[:n]) {
			return fmt.Errorf("request %s: client %d got %q, want a prefix of %q", r.tag, c.id, rest, want)
		}
		pos += n
		if n < len(want) {
			return nil // streaming, or truncated
		}
		if !keepAlive {
			if pos < len(out) {
				return fmt.Errorf("request %s without KeepAlive: bytes after its answer: %q", r.tag, out[pos:])
			}
			if !c.closed && !c.gone {
				return fmt.Errorf("request %s without KeepAlive: answered but client %d open", r.tag, c.id)
			}
			return nil
		}
	}
	if pos < len(out) {
		return fmt.Errorf("client %d: more answers than requests: %q", c.id, out[pos:])
	}
	return nil
}

func pmCodeAllowed(kind pmKind, code int) bool {
	for _, c := range pmErrorCodes[kind] {
		if c == code {
			return true
		}
	}
	return false
}
