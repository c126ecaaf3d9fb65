package fakesite

import (
	"strings"
	"testing"
)

// The two request readers: Icinga 2 (the default) and naemon.

// TestIcingaReaderEndsRequestAtBlankLine: to Icinga a line of whitespace
// ends a request, so the text after it is a second request.
func TestIcingaReaderEndsRequestAtBlankLine(t *testing.T) {
	s := startSite(t, "unix", Options{Hosts: 3})
	for _, blank := range []string{" ", "\t", "\r\r", "\v", "\f", "  "} {
		c := dial(t, s)
		c.send("GET hosts\nColumns: name\nResponseHeader: fixed16\nKeepAlive: on\n" + blank +
			"\nGET status\nColumns: program_start\nResponseHeader: fixed16\n\n")
		if code, body, _ := c.readFixed16(); code != 200 || body != "host0000\nhost0001\nhost0002\n" {
			t.Fatalf("%q: first answer %d %q", blank, code, body)
		}
		if code, body, _ := c.readFixed16(); code != 200 || body != "1700000000\n" {
			t.Fatalf("%q: second answer %d %q", blank, code, body)
		}
	}
}

// TestNaemonReaderSkipsBlankLinesAndSplitsCommand: naemon skips lines of
// whitespace, ends a request only at an empty line, and reads the line
// after a COMMAND as the next request.
func TestNaemonReaderSkipsBlankLinesAndSplitsCommand(t *testing.T) {
	s := startSite(t, "unix", Options{Hosts: 3, Naemon: true})
	c := dial(t, s)
	c.send(" \nGET hosts\n \t\nColumns: name\nResponseHeader: fixed16\nKeepAlive: on\n\n" +
		"COMMAND [1] PROCESS_HOST_CHECK_RESULT;host0001;2;unreachable\nGET hosts\nColumns: state\nFilter: name = host0001\nResponseHeader: fixed16\nKeepAlive: on\n\n")
	if code, body, _ := c.readFixed16(); code != 200 || body != "host0000\nhost0001\nhost0002\n" {
		t.Fatalf("first answer %d %q (a whitespace line must not end the request)", code, body)
	}
	if code, body, _ := c.readFixed16(); code != 200 || body != "2\n" {
		t.Fatalf("GET after the COMMAND line: %d %q", code, body)
	}
	if st := s.Stats(); st.Commands != 1 {
		t.Fatalf("commands %d", st.Commands)
	}
	// CRLF: a line of "\r" is whitespace, not the end.
	c.send("GET status\r\nColumns: program_start\r\nResponseHeader: fixed16\r\n\r\n")
	c.expectSilence()
}

// TestNaemonKeepsUnreadLinesAfterBadHeader: after "400 Undefined request
// header" naemon reads the request's remaining lines in front of the next
// request, so that one is not answered as sent.
func TestNaemonKeepsUnreadLinesAfterBadHeader(t *testing.T) {
	s := startSite(t, "unix", Options{Hosts: 3, Naemon: true})
	c := dial(t, s)
	c.send("GET hosts\nResponseHeader: fixed16\nKeepAlive: on\nX-Bogus: 1\nColumns: name\n\n")
	if code, body, _ := c.readFixed16(); code != 400 || !strings.Contains(body, "X-Bogus") {
		t.Fatalf("bad header: %d %q", code, body)
	}
	c.send("GET status\nColumns: program_start\nResponseHeader: fixed16\n\n")
	// What naemon reads is "Columns: name" and then this request.
	if got := c.readAll(); strings.Contains(got, "1700000000") || !strings.Contains(got, "Invalid request method") {
		t.Fatalf("next request answered as sent: %q", got)
	}
}
