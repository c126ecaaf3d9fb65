package core

import (
	"strings"
	"testing"

	"liveproxyd/internal/querygen"

	"pgregory.net/rapid"
)

// skimEnd pushes stream into a skimmer one byte at a time and returns the
// offset after the byte that ended the first answered query (-1: none),
// and the framing it read.
func skimEnd(stream []byte) (end int, fixed16 bool) {
	var k skimmer
	for i := range stream {
		if k.push(stream[i : i+1]) {
			return i + 1, k.fixed16
		}
	}
	return -1, k.fixed16
}

// TestPropSkimmerEndsWhereFramerDoes: the skimmer that reads a refused
// query keeps nothing, but must still find the same end as the Framer and
// the same ResponseHeader as ParseQuery, or a refusal goes out early, late
// or in the wrong framing.
func TestPropSkimmerEndsWhereFramerDoes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var stream []byte
		if rapid.Bool().Draw(t, "behind a COMMAND") { // the case a refusal reads past
			stream = append(stream, "COMMAND [1700000000] SCHEDULE_HOST_CHECK;h;1\n"...)
		}
		for i := rapid.IntRange(1, 4).Draw(t, "queries"); i > 0; i-- {
			// A COMMAND's header lines start the next query, for both.
			stream = append(stream, querygen.Render(t, querygen.Lines(t))...)
		}
		if rapid.Bool().Draw(t, "cut") {
			stream = stream[:rapid.IntRange(0, len(stream)).Draw(t, "at")]
		}
		f := NewFramer(1 << 20)
		f.Push(stream)
		wantEnd, wantFixed16 := -1, false
		for {
			q, ok, err := f.Next(false)
			if err != nil || !ok {
				break
			}
			if q.Method != "COMMAND" {
				wantEnd, wantFixed16 = len(stream)-f.Buffered(), q.Fixed16
				break
			}
		}
		end, fixed16 := skimEnd(stream)
		if end != wantEnd || (end >= 0 && fixed16 != wantFixed16) {
			t.Fatalf("skimmer ends at %d (fixed16 %v), framer at %d (fixed16 %v): %q", end, fixed16, wantEnd, wantFixed16, stream)
		}
	})
}

// TestSkimmerLongLines: lines longer than the carry are read past. A long
// blank line still ends the query and a long COMMAND is still one line; a
// ResponseHeader line padded past the carry is not recognised (the reply
// is then plain: documented on skimmer).
func TestSkimmerLongLines(t *testing.T) {
	pad := strings.Repeat(" ", 2*skimCarry)
	for _, tc := range []struct {
		stream  string
		end     bool
		fixed16 bool
	}{
		{"GET hosts\nResponseHeader: fixed16\n" + pad + "\n", true, true},
		{pad + "\nGET hosts\nResponseHeader: fixed16\n\n", true, true},
		{"COMMAND [1] " + strings.Repeat("X", 3*skimCarry) + "\nGET hosts\n", false, false},
		{"COMMAND [1] " + strings.Repeat("X", 3*skimCarry) + "\nGET hosts\n\n", true, false},
		{"GET hosts\nFilter: " + strings.Repeat("x", 3*skimCarry) + "\nResponseHeader: fixed16\n\n", true, true},
		{"GET hosts\nResponseHeader: fixed16" + pad + "x\n\n", true, false},
		{"GET hosts\nResponseHeader: fixed16\nResponseHeader: off\n\n", true, false},
	} {
		end, fixed16 := skimEnd([]byte(tc.stream))
		if (end == len(tc.stream)) != tc.end || (end >= 0 && end != len(tc.stream)) || fixed16 != tc.fixed16 {
			t.Errorf("%.60q...: end %d of %d, fixed16 %v; want end %v, fixed16 %v", tc.stream, end, len(tc.stream), fixed16, tc.end, tc.fixed16)
		}
	}
}
