// Package querygen draws Livestatus queries for property tests: the
// livestatus framing tests and the core's skimmer test draw from the same
// generators, so both are held to the same streams.
package querygen

import (
	"bytes"

	"pgregory.net/rapid"
)

// headerNames mixes real Livestatus headers, the three the proxy owns,
// near misses that are not proxy headers (case, a trailing space) and a
// line that is no header at all (empty name).
var headerNames = []string{
	"Columns", "Filter", "Stats", "Limit", "OutputFormat", "AuthUser", "Separators",
	"ResponseHeader", "KeepAlive", "Cache",
	"responseheader", "Keepalive", "Cache ", "",
}

var requestLines = []string{
	"GET hosts", "GET services", "GET status", "COMMAND [1700000000] SCHEDULE_HOST_CHECK;h;1",
	"COMMAND", "GET", "HELLO world", "get hosts",
}

// text is printable ASCII without line ends.
func text(minLen, maxLen int) *rapid.Generator[string] {
	return rapid.Map(rapid.SliceOfN(rapid.ByteRange(' ', '~'), minLen, maxLen),
		func(b []byte) string { return string(b) })
}

// Lines draws the lines of one query: a request line and header lines.
// No line is empty (that would end the query).
func Lines(t *rapid.T) []string {
	lines := []string{rapid.OneOf(rapid.SampledFrom(requestLines), text(1, 20)).Draw(t, "request")}
	n := rapid.IntRange(0, 6).Draw(t, "headers")
	for i := 0; i < n; i++ {
		name := rapid.SampledFrom(headerNames).Draw(t, "name")
		value := rapid.OneOf(rapid.SampledFrom([]string{"fixed16", "on", "off", "reload", " fixed16 "}),
			text(0, 12)).Draw(t, "value")
		line := name + ": " + value
		if rapid.IntRange(0, 9).Draw(t, "nocolon") == 0 {
			line = name + value // a line that is not a header
		}
		if line == "" {
			line = "x"
		}
		lines = append(lines, line)
	}
	return lines
}

// Render writes lines as a request with LF or CRLF ends, optionally
// preceded by blank lines and ended by the empty line.
func Render(t *rapid.T, lines []string) []byte {
	eol := rapid.SampledFrom([]string{"\n", "\r\n"}).Draw(t, "eol")
	var b bytes.Buffer
	for i := rapid.IntRange(0, 2).Draw(t, "blanks"); i > 0; i-- {
		b.WriteString(rapid.SampledFrom([]string{"\n", "\r\n"}).Draw(t, "blank"))
	}
	for _, l := range lines {
		b.WriteString(l + eol)
	}
	b.WriteString(eol)
	return b.Bytes()
}
