package livestatus

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"liveproxyd/internal/querygen"

	"pgregory.net/rapid"
)

// Property tests of the framing layer: the Framer, Upstream and fixed16.

// frameResult is what a Framer returned, flattened for comparison.
type frameResult struct {
	lines                     string
	method                    string
	fixed16, keepAlive, cache bool
	authUser                  string
	size                      int
	err                       string
}

func flatten(q Query, err error) frameResult {
	return frameResult{
		lines: string(bytes.Join(q.Lines, []byte{'|'})), method: q.Method,
		fixed16: q.Fixed16, keepAlive: q.KeepAlive, cache: q.Cache, authUser: q.AuthUser,
		size: q.Size, err: fmt.Sprint(err),
	}
}

// drain takes every query the framer can give now. It stops at the first
// error, as the core does (the client is answered and closed). The loop is
// bounded: each query consumes at least one byte.
func drain(f *Framer, eof bool, out []frameResult, limit int) ([]frameResult, bool) {
	for i := 0; i <= limit; i++ {
		q, ok, err := f.Next(eof)
		if err != nil {
			return append(out, flatten(q, err)), true
		}
		if !ok {
			return out, false
		}
		out = append(out, flatten(q, nil))
	}
	panic("framer returned more queries than bytes")
}

// frameAll pushes stream in the given pieces, draining after each one,
// then drains with eof.
func frameAll(max int, pieces [][]byte, total int) []frameResult {
	f := NewFramer(max)
	var out []frameResult
	for _, p := range pieces {
		f.Push(p)
		var failed bool
		if out, failed = drain(f, false, out, total); failed {
			return out
		}
	}
	out, _ = drain(f, true, out, total)
	return out
}

func TestPropFramerChunkingDoesNotMatter(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var stream []byte
		var ends []int  // where each line ends, in the stream
		var sizes []int // how long each query's text is
		for i := rapid.IntRange(1, 4).Draw(t, "queries"); i > 0; i-- {
			q := querygen.Render(t, querygen.Lines(t))
			text := bytes.TrimLeft(q, "\r\n")
			// The text ends before the terminating empty line.
			size := len(text) - 1
			if bytes.HasSuffix(text, []byte("\r\n\r\n")) {
				size--
			}
			sizes = append(sizes, size-1, size, size+1)
			for j := range q {
				if q[j] == '\n' || q[j] == '\r' {
					ends = append(ends, len(stream)+j, len(stream)+j+1)
				}
			}
			stream = append(stream, q...)
		}
		// Sometimes a trailing unfinished query: EOF then decides.
		if rapid.Bool().Draw(t, "tail") {
			tail := querygen.Render(t, querygen.Lines(t))
			stream = append(stream, tail[:rapid.IntRange(0, len(tail)-1).Draw(t, "cut")]...)
		}
		// Limits and cuts at line ends are where off-by-one errors hide.
		max := rapid.OneOf(rapid.IntRange(1, 2*len(stream)), rapid.SampledFrom(sizes)).Draw(t, "max")
		if max < 1 {
			max = 1
		}

		whole := frameAll(max, [][]byte{append([]byte(nil), stream...)}, len(stream))

		var pieces [][]byte
		rest := stream
		for len(rest) > 0 {
			n := rapid.IntRange(1, len(rest)).Draw(t, "chunk")
			if at := rapid.SampledFrom(ends).Draw(t, "cut") - (len(stream) - len(rest)); at > 0 && at <= len(rest) && rapid.Bool().Draw(t, "at line end") {
				n = at
			}
			pieces = append(pieces, append([]byte(nil), rest[:n]...))
			rest = rest[n:]
		}
		chunked := frameAll(max, pieces, len(stream))

		if fmt.Sprint(whole) != fmt.Sprint(chunked) {
			t.Fatalf("max %d, stream %q\nwhole:   %+v\nchunked: %+v", max, stream, whole, chunked)
		}
	})
}

// propIsProxyHeader is the model of the headers the proxy owns upstream,
// written independently of the core: the exact name before the first colon.
func propIsProxyHeader(l string) bool {
	for _, name := range []string{"ResponseHeader", "KeepAlive", "Cache"} {
		if len(l) > len(name) && l[:len(name)] == name && l[len(name)] == ':' {
			return true
		}
	}
	return false
}

// propTrim strips the whitespace (C isspace) both servers strip from the
// end of a line and around a header value.
func propTrim(s string) string { return strings.Trim(s, " \t\r\v\f") }

// propCanonical is the model of what the proxy may send for one line, or
// ok=false when the line must be refused, written independently of the
// core: a request line "GET <table>" / "COMMAND <text>", a header
// "Name: value" with a name of visible characters and a value without
// control characters but tab.
func propCanonical(l string, first bool) (string, bool) {
	if l != "" && propTrim(l[:1]) == "" {
		return "", false // leading whitespace: Icinga and naemon differ
	}
	l = strings.TrimRight(l, " \t\r\v\f")
	ctl := func(s string, tab bool) bool {
		for _, r := range []byte(s) {
			if (r < ' ' && !(tab && r == '\t')) || r == 0x7f {
				return true
			}
		}
		return false
	}
	if first {
		m, arg, _ := strings.Cut(l, " ")
		switch {
		case m == "GET" && arg != "" && !strings.ContainsAny(arg, " ") && !ctl(arg, false):
		case m == "COMMAND" && arg != "" && !ctl(arg, false):
		default:
			return "", false
		}
		return l, true
	}
	name, value, ok := strings.Cut(l, ":")
	if !ok || name == "" || strings.ContainsAny(name, " ") || ctl(name, false) || ctl(value, true) {
		return "", false
	}
	if value = propTrim(value); value == "" {
		return name + ":", true
	}
	return name + ": " + value, true
}

// propSpiced draws lines of one query, sometimes padded with whitespace or
// carrying control characters, the way a smuggling client writes them.
func propSpiced(t *rapid.T) []string {
	lines := querygen.Lines(t)
	pads := []string{"", "", "", " ", "\t", "\r", "\v", "\f", "  "}
	for i := range lines {
		lines[i] = rapid.SampledFrom(pads).Draw(t, "pre") + lines[i] + rapid.SampledFrom(pads).Draw(t, "post")
		if rapid.IntRange(0, 15).Draw(t, "ctl") == 0 {
			at := rapid.IntRange(0, len(lines[i])).Draw(t, "at")
			lines[i] = lines[i][:at] + string(rapid.SampledFrom([]byte("\x00\x1b\x7f\t\r")).Draw(t, "c")) + lines[i][at:]
		}
	}
	return lines
}

func TestPropUpstreamRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lines := propSpiced(t)
		// ParseQuery takes the text of a query without its blank line.
		eol := rapid.SampledFrom([]string{"\n", "\r\n"}).Draw(t, "eol")
		in := []byte(strings.Join(lines, eol) + eol)
		q := ParseQuery(in)
		if len(q.Lines) != len(lines) {
			t.Fatalf("ParseQuery(%q) gave %d lines, want %d", in, len(q.Lines), len(lines))
		}
		canon := make([]string, len(lines))
		valid := true
		for i, l := range lines {
			c, ok := propCanonical(l, i == 0)
			canon[i], valid = c, valid && ok && propTrim(l) != ""
		}
		method, _, _ := strings.Cut(canon[0], " ")
		if method == "COMMAND" && len(lines) > 1 {
			valid = false // a COMMAND is one line
		}
		if valid != (q.Bad == "") {
			t.Fatalf("ParseQuery(%q): Bad %q, want valid=%v", in, q.Bad, valid)
		}
		if !valid {
			return // refused with 400, never rendered
		}
		up := string(Upstream(q))

		want := []string{canon[0]}
		if method != "COMMAND" {
			want = append(want, "ResponseHeader: fixed16", "KeepAlive: on")
			for _, l := range canon[1:] {
				if !propIsProxyHeader(l) {
					want = append(want, l)
				}
			}
		}
		wantUp := strings.Join(want, "\n") + "\n\n"
		if up != wantUp {
			t.Fatalf("Upstream of %q\n got %q\nwant %q", lines, up, wantUp)
		}

		// What the server parses from it: the proxy's headers in force.
		back := ParseQuery([]byte(up[:len(up)-2]))
		if back.Bad != "" || string(Upstream(back)) != up {
			t.Fatalf("upstream %q is not canonical: Bad %q, renders %q", up, back.Bad, Upstream(back))
		}
		if q.Method != "COMMAND" && (!back.Fixed16 || !back.KeepAlive || back.Cache) {
			t.Fatalf("upstream %q parses as fixed16=%v keepalive=%v cache=%v", up, back.Fixed16, back.KeepAlive, back.Cache)
		}
		if back.Method != q.Method || back.AuthUser != q.AuthUser && q.Method != "COMMAND" {
			t.Fatalf("upstream %q: method %q authuser %q, want %q %q", up, back.Method, back.AuthUser, q.Method, q.AuthUser)
		}
	})
}

func TestPropFixed16RoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		code := rapid.IntRange(0, 999).Draw(t, "code")
		n := rapid.OneOf(rapid.Int64Range(0, 99_999_999_999), rapid.Int64Range(0, 1000),
			rapid.Int64Range(99_999_999_000, 99_999_999_999)).Draw(t, "length")
		b := FormatHeader(code, n)
		if len(b) != HeaderLen {
			t.Fatalf("FormatHeader(%d, %d) = %q: %d bytes", code, n, b, len(b))
		}
		h, err := ParseHeader(b)
		if err != nil || h.Code != code || h.Length != n {
			t.Fatalf("ParseHeader(%q) = %+v, %v; want %d %d", b, h, err, code, n)
		}
		// Icinga puts the dataset separator into byte 16: any byte goes.
		b[HeaderLen-1] = rapid.Byte().Draw(t, "last")
		h2, err := ParseHeader(b)
		if err != nil || h2 != h {
			t.Fatalf("ParseHeader(%q) = %+v, %v; want %+v", b, h2, err, h)
		}
	})
}

func TestPropParseHeaderTotal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := rapid.SliceOfN(rapid.OneOf(rapid.Byte(), rapid.SampledFrom([]byte("0123456789 "))), 0, 20).Draw(t, "b")
		h, err := ParseHeader(b)
		if err != nil {
			return
		}
		// Accepted: it must be exactly what FormatHeader writes for it,
		// up to leading zeros in the length and the free last byte.
		if len(b) != HeaderLen || h.Code < 0 || h.Code > 999 || h.Length < 0 {
			t.Fatalf("ParseHeader(%q) accepted %+v", b, h)
		}
		if back, err := ParseHeader(FormatHeader(h.Code, h.Length)); err != nil || back != h {
			t.Fatalf("re-format of %+v parses as %+v, %v", h, back, err)
		}
	})
}

// TestFramerLimitIgnoresChunking is the minimal case the chunking property
// found: a CRLF query whose text is exactly max bytes is accepted when it
// arrives whole, but refused with ErrQueryTooLarge when the read ends right
// after the "\r" of its terminating empty line (then max+1 bytes are held
// and no end is seen yet).
func TestFramerLimitIgnoresChunking(t *testing.T) {
	stream := []byte("GET hosts\r\n\r\n") // text "GET hosts\r\n": 11 bytes
	const max = 11
	whole := frameAll(max, [][]byte{stream}, len(stream))
	split := frameAll(max, [][]byte{stream[:12], stream[12:]}, len(stream))
	if len(whole) != 1 || whole[0].err != "<nil>" {
		t.Fatalf("whole: %+v, want one query", whole)
	}
	if fmt.Sprint(whole) != fmt.Sprint(split) {
		t.Errorf("framer limit depends on chunking\nwhole: %+v\nsplit: %+v", whole, split)
	}
}
