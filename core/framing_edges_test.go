package core

import (
	"strings"
	"testing"
)

// Edges of the query framing seen through the site: what a client sends
// at exactly a limit is served, one byte more is refused.

// TestBlankHalfLineOfExactlyMaxQueryBytesStillEndsTheQuery: whitespace
// after a query's last line may be the start of the blank line that ends
// it, and that line does not count towards the query's size. Whitespace of
// exactly MaxQueryBytes must wait for its newline and then end the query.
func TestBlankHalfLineOfExactlyMaxQueryBytesStillEndsTheQuery(t *testing.T) {
	h := newHarness(t, testConfig()) // MaxQueryBytes 4096
	h.start(1)
	h.accept(1)
	h.send(1, "GET hosts\nResponseHeader: fixed16\n"+strings.Repeat(" ", 4096))
	h.expectOut(1, "", false)
	h.send(1, "\n")
	ch := h.busyChannel(1)
	if got, want := h.takeUp(ch), "GET hosts\nResponseHeader: fixed16\nKeepAlive: on\n\n"; got != want {
		t.Fatalf("forwarded %q, want %q", got, want)
	}
}
