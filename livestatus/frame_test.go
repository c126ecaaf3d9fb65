package livestatus

import (
	"strings"
	"testing"
)

func TestFramerCRLFAndHeaders(t *testing.T) {
	f := NewFramer(1 << 10)
	f.Push([]byte("\r\nGET hosts\r\nAuthUser: bob\r\nCache: reload\r\nKeepAlive: on\r\n\r\nGET x\n"))
	q, ok, err := f.Next(false)
	if !ok || err != nil || q.Method != "GET" || q.AuthUser != "bob" || !q.Cache || !q.KeepAlive || q.Fixed16 {
		t.Fatalf("query %+v ok %v err %v", q, ok, err)
	}
	if len(q.Lines) != 4 || string(q.Lines[0]) != "GET hosts" {
		t.Fatalf("lines %q", q.Lines)
	}
	if _, ok, _ := f.Next(false); ok {
		t.Fatal("a query without its empty line is complete only at EOF")
	}
	q, ok, err = f.Next(true)
	if !ok || err != nil || string(q.Lines[0]) != "GET x" {
		t.Fatalf("EOF-ended query %+v %v %v", q, ok, err)
	}
	if f.Buffered() != 0 {
		t.Fatalf("%d bytes left", f.Buffered())
	}
}

func TestFramerLimits(t *testing.T) {
	f := NewFramer(10)
	f.Push([]byte("GET hosts\nColumns: a b c\n"))
	if _, _, err := f.Next(false); err != ErrQueryTooLarge {
		t.Fatalf("err %v", err)
	}
	f = NewFramer(100)
	f.Push([]byte("GET ho"))
	if _, _, err := f.Next(true); err != ErrIncomplete {
		t.Fatalf("err %v", err)
	}
}

func TestUpstreamPutsProxyHeadersFirst(t *testing.T) {
	q := ParseQuery([]byte("GET services\nFilter: state = 2\nResponseHeader: off\nKeepAlive: off\nCache: reload\nOutputFormat: json"))
	want := "GET services\nResponseHeader: fixed16\nKeepAlive: on\nFilter: state = 2\nOutputFormat: json\n\n"
	if got := string(Upstream(q)); got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	cmd := ParseQuery([]byte("COMMAND [12] DISABLE_NOTIFICATIONS"))
	if got := string(Upstream(cmd)); got != "COMMAND [12] DISABLE_NOTIFICATIONS\n\n" {
		t.Fatalf("command %q", got)
	}
}

// TestParseQueryReadsALastLineWithoutNewline: the text of a query may end
// without a newline (the caller cut the blank line off, or the line is
// all there is), and that last line counts however short it is, down to
// a single byte.
func TestParseQueryReadsALastLineWithoutNewline(t *testing.T) {
	for _, tc := range []struct {
		in    string
		lines int
		bad   string
	}{
		{"GET hosts\nColumns: name", 2, ""},
		{"GET hosts\nX", 2, "header line without a colon"},
		{"GET hosts\n:", 2, "invalid header name"},
		{"G", 1, "invalid request method"},
	} {
		q := ParseQuery([]byte(tc.in))
		if len(q.Lines) != tc.lines || !strings.HasPrefix(q.Bad, tc.bad) || (tc.bad == "") != (q.Bad == "") {
			t.Errorf("ParseQuery(%q): lines %q, Bad %q; want %d lines, Bad starting %q", tc.in, q.Lines, q.Bad, tc.lines, tc.bad)
		}
	}
}
