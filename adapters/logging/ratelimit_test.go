package logging

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/benbjohnson/clock"

	"liveproxyd/internal/testutil"
)

// TestFloodOfOneKindIsBounded: 20,000 lines of one kind about one site
// (a pipelined COMMAND flood to a dead site) write DefaultBurst lines, and
// the end of the window one more that counts the rest.
func TestFloodOfOneKindIsBounded(t *testing.T) {
	var buf testutil.Buffer
	clk := clock.NewMock()
	log := NewLogger(&buf, NewLevels(false), clk).With("site", "s1")
	const flood = 20000
	for i := range flood {
		log.Info(fmt.Sprintf("site s1: COMMAND dropped, site is dead: COMMAND [%d] SCHEDULE_FORCED_HOST_CHECK;host%d;1", i, i))
	}
	if n := strings.Count(buf.String(), "\n"); n != DefaultBurst {
		t.Fatalf("%d lines during the window, want %d", n, DefaultBurst)
	}
	clk.Add(DefaultWindow)
	// The summary is written by the window's timer, on its own goroutine.
	testutil.WaitFor(t, "the summary line", func() bool { return strings.Contains(buf.String(), "suppressed") })
	got := lines(buf.String())
	if len(got) != DefaultBurst+1 {
		t.Fatalf("%d lines after the window, want %d:\n%s", len(got), DefaultBurst+1, buf.String())
	}
	want := fmt.Sprintf("(%d similar lines suppressed)", flood-DefaultBurst)
	if last := got[len(got)-1]; !strings.Contains(last, want) || !strings.Contains(last, "[cmk.liveproxyd.s1] site s1: COMMAND dropped") {
		t.Fatalf("summary line %q, want it to name the kind and %s", last, want)
	}
	// A new window starts afresh.
	log.Info("site s1: COMMAND dropped, site is dead: COMMAND [0] X")
	if n := strings.Count(buf.String(), "\n"); n != DefaultBurst+2 {
		t.Fatalf("%d lines after the next window's first line", n)
	}
}

func TestKindsAndSitesHaveTheirOwnBudget(t *testing.T) {
	var buf bytes.Buffer
	clk := clock.NewMock()
	log := NewLogger(&buf, NewLevels(false), clk)
	s1, s2 := log.With("site", "s1"), log.With("site", "s2")
	for i := range 1000 {
		s1.Warn("accept failed", "err", fmt.Sprintf("accept: too many open files (%d)", i))
	}
	s1.Warn("site s1 is dead: cannot connect: refused")
	s2.Warn("accept failed", "err", "accept: too many open files")
	log.Info("serving site", "site", "a")
	log.Info("serving site", "site", "b")
	out := buf.String()
	for _, want := range []string{"site s1 is dead", "[cmk.liveproxyd.s2] accept failed", "[cmk.liveproxyd.a] serving site", "[cmk.liveproxyd.b] serving site"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "[cmk.liveproxyd.s1] accept failed"); n != DefaultBurst {
		t.Errorf("%d accept lines for s1, want %d", n, DefaultBurst)
	}
}

// TestManyKindsStayBounded: messages that differ in more than numbers
// (here, text a client chose) each get a bucket until maxKinds, then share
// one: the limiter's memory and the line count stay bounded.
func TestManyKindsStayBounded(t *testing.T) {
	var buf bytes.Buffer
	clk := clock.NewMock()
	log := NewLogger(&buf, NewLevels(false), clk)
	const distinct = 3 * maxKinds
	for i := range distinct {
		log.Info(fmt.Sprintf("kind%c%c%c happened", 'a'+i%26, 'a'+i/26%26, 'a'+i/676%26))
	}
	if n := strings.Count(buf.String(), "\n"); n > maxKinds+DefaultBurst {
		t.Fatalf("%d lines for %d kinds, want at most %d", n, distinct, maxKinds+DefaultBurst)
	}
}

func TestKind(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"site s1: channel 3: 12 bytes after the response, closing it", "site s1: channel 7: 1 bytes after the response, closing it"},
		{`site s1: COMMAND answered with "400: bad", closing channel 2`, `site s1: COMMAND answered with "404: x y z", closing channel 9`},
		{"site s1: COMMAND dropped, site is dead: COMMAND [1] A", "site s1: COMMAND dropped, site is dead: COMMAND [2] totally different"},
	} {
		if Kind(tc.a) != Kind(tc.b) {
			t.Errorf("Kind(%q) = %q, Kind(%q) = %q: want one kind", tc.a, Kind(tc.a), tc.b, Kind(tc.b))
		}
	}
	if Kind("site s1: channel 3 lost while busy: EOF") == Kind("site s1: channel 3: 12 bytes after the response") {
		t.Error("two different lines are one kind")
	}
}
