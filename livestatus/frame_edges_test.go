package livestatus

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// nextQuery returns the framer's next query, failing the test unless there
// is one.
func nextQuery(t *testing.T, f *Framer) Query {
	t.Helper()
	q, ok, err := f.Next(false)
	if !ok || err != nil {
		t.Fatalf("Next: ok %v, err %v, %q buffered", ok, err, f.buf)
	}
	return q
}

// TestEmptyLinesBeforeAQueryAreSkipped: a bare "\n" is a blank line too,
// the commonest one a client sends between queries; skipped, it must not
// become an empty request.
func TestEmptyLinesBeforeAQueryAreSkipped(t *testing.T) {
	f := NewFramer(100)
	f.Push([]byte("\n\nGET status\n\n\nGET hosts\n\n"))
	for _, want := range []string{"GET status", "GET hosts"} {
		if q := nextQuery(t, f); q.Bad != "" || len(q.Lines) != 1 || string(q.Lines[0]) != want {
			t.Fatalf("query %q (Bad %q), want %q", q.Lines, q.Bad, want)
		}
	}
	if f.Buffered() != 0 {
		t.Errorf("%d bytes left", f.Buffered())
	}
}

// TestBlankLineBeforeAQueryMayBeAsLongAsTheLimit: a blank line is refused
// like a query when it is longer than the limit, not when it is as long.
func TestBlankLineBeforeAQueryMayBeAsLongAsTheLimit(t *testing.T) {
	const max = 20
	f := NewFramer(max)
	f.Push([]byte(strings.Repeat(" ", max) + "\nGET hosts\n\n"))
	if q := nextQuery(t, f); string(q.Lines[0]) != "GET hosts" {
		t.Fatalf("query %q after a blank line of %d bytes", q.Lines, max)
	}
	f = NewFramer(max)
	f.Push([]byte(strings.Repeat(" ", max+1) + "\nGET hosts\n\n"))
	if _, _, err := f.Next(false); !errors.Is(err, ErrQueryTooLarge) {
		t.Fatalf("blank line of %d bytes: err %v, want ErrQueryTooLarge", max+1, err)
	}
}

// TestSizeCountsEveryByteOfTheQuery: Size is what the query took in the
// client stream, its blank line included however it is spelt, and a
// COMMAND's one line with its newline; the next query starts right after.
func TestSizeCountsEveryByteOfTheQuery(t *testing.T) {
	queries := []string{"GET a\n   \n", "GET b\r\n\r\n", "COMMAND [1] X\n", "GET c\n\t \t\n"}
	f := NewFramer(100)
	f.Push([]byte(strings.Join(queries, "")))
	for _, in := range queries {
		q := nextQuery(t, f)
		if q.Size != len(in) || q.Bad != "" || string(q.Lines[0]) != strings.TrimSpace(strings.SplitN(in, "\n", 2)[0]) {
			t.Fatalf("query %q of size %d (Bad %q), want %q of size %d", q.Lines, q.Size, q.Bad, in, len(in))
		}
	}
	if f.Buffered() != 0 {
		t.Errorf("%d bytes left", f.Buffered())
	}
}

// TestTooLargeQueryStaysTooLarge: until the caller discards its bytes, a
// query found too large is too large on every call; the framer never hands
// out a part of it as a query of its own.
func TestTooLargeQueryStaysTooLarge(t *testing.T) {
	f := NewFramer(10)
	f.Push([]byte("G\nColumns: name state\n\n"))
	for i := range 3 {
		q, ok, err := f.Next(false)
		if !errors.Is(err, ErrQueryTooLarge) {
			t.Fatalf("call %d: query %q (ok %v), err %v, want ErrQueryTooLarge", i+1, q.Lines, ok, err)
		}
	}
}

// TestParseQueryKeepsAnEmptyLineInsideAsALine: an empty line inside the
// text is a line of its own (and the query is refused), not glued to the
// lines after it.
func TestParseQueryKeepsAnEmptyLineInsideAsALine(t *testing.T) {
	for _, in := range []string{"GET hosts\n\nColumns: name\n", "\nGET hosts\n"} {
		q := ParseQuery([]byte(in))
		if want := strings.Count(strings.TrimSuffix(in, "\n"), "\n") + 1; len(q.Lines) != want || q.Bad == "" {
			t.Errorf("ParseQuery(%q): lines %q (Bad %q), want %d lines and a refusal", in, q.Lines, q.Bad, want)
		}
		for _, l := range q.Lines {
			if bytes.ContainsRune(l, '\n') {
				t.Errorf("ParseQuery(%q): line %q holds a newline", in, l)
			}
		}
	}
}

// TestParseQueryRefusesACommandWithHeaders: a COMMAND is one line (naemon
// reads the next line as the next request), so ParseQuery refuses one
// given with header lines even when every line is valid on its own; a
// COMMAND already refused for its own line keeps that reason.
func TestParseQueryRefusesACommandWithHeaders(t *testing.T) {
	for in, want := range map[string]string{
		"COMMAND [1] X\nColumns: name": "COMMAND with header lines",
		"COMMAND\nColumns: name":       "invalid COMMAND",
	} {
		if q := ParseQuery([]byte(in)); !strings.HasPrefix(q.Bad, want) {
			t.Errorf("ParseQuery(%q): Bad %q, want %q", in, q.Bad, want)
		}
	}
}
