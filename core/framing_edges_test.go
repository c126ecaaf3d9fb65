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

// TestByteLeftAfterALargeQueryIsKept: after a query of more than 64 KiB
// the framer moves what follows to a fresh array; a single byte of the
// next query is kept like any other.
func TestByteLeftAfterALargeQueryIsKept(t *testing.T) {
	cfg := testConfig()
	cfg.MaxQueryBytes = 1 << 20
	h := newHarness(t, cfg)
	h.start(1)
	h.accept(1)
	big := "GET hosts\nResponseHeader: fixed16\nKeepAlive: on\nFilter: name = " + strings.Repeat("x", 70<<10) + "\n\n"
	h.send(1, big+"G")
	ch := h.busyChannel(1)
	h.takeUp(ch)
	h.reply(ch, 200, "a\n")
	h.send(1, "ET status\nResponseHeader: fixed16\n\n")
	ch = h.busyChannel(1)
	if got, want := h.takeUp(ch), "GET status\nResponseHeader: fixed16\nKeepAlive: on\n\n"; got != want {
		t.Fatalf("next query sent as %q, want %q", got, want)
	}
}
