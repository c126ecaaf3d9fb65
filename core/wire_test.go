package core

import "testing"

// Wire safety in the core: what the framing decides reaches a server, or
// does not, through a whole site.

// TestSmugglingClientGetsOnlyItsOwnRequestsForwarded drives the core: the
// attacker's text after a whitespace-only line is its own second query,
// forwarded canonically after the first one is answered — not appended to
// the first where the server would answer it on the shared channel later.
func TestSmugglingClientGetsOnlyItsOwnRequestsForwarded(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(100)
	h.accept(1)
	h.send(1, "GET hosts\nKeepAlive: on\nResponseHeader: fixed16\n \nGET hosts\nAuthUser: alice\nCache: reload\n\n")
	ch := h.busyChannel(1)
	if got := h.takeUp(ch); got != "GET hosts\nResponseHeader: fixed16\nKeepAlive: on\n\n" {
		t.Fatalf("upstream %q", got)
	}
	h.reply(ch, 200, "a\n")
	ch = h.busyChannel(1)
	if got := h.takeUp(ch); got != "GET hosts\nResponseHeader: fixed16\nKeepAlive: on\nAuthUser: alice\n\n" {
		t.Fatalf("second upstream %q", got)
	}
}

// TestBadHeaderGets400NotForwarded: the client is answered by the proxy
// (framed, as it asked for fixed16) and nothing goes upstream.
func TestBadHeaderGets400NotForwarded(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(100)
	h.accept(1)
	h.send(1, "GET hosts\nResponseHeader: fixed16\nColumns : name\n\n")
	h.expectErr(1, 400, "invalid header name")
	for ch, b := range h.up {
		if b.Len() > 0 {
			t.Fatalf("channel %d got %q", ch, b.String())
		}
	}
}

// TestChannelClosedAfterNon200Answer: naemon keeps the unread rest of a
// request after "400 Undefined request header" and reads it in front of
// the next request, so a channel is reused only after a 200.
func TestChannelClosedAfterNon200Answer(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(100)
	dials := len(h.dial)
	h.accept(1)
	h.send(1, q16)
	ch := h.busyChannel(1)
	h.reply(ch, 400, "Undefined request header 'X: y'\n")
	if !h.gone[ch] {
		t.Fatalf("channel %d reused after a 400", ch)
	}
	h.expectOut(1, string(FormatHeader(400, 32))+"Undefined request header 'X: y'\n", false)
	h.run(0)
	if len(h.dial) != dials+1 {
		t.Fatalf("dials %d, want %d: the pool must redial", len(h.dial), dials+1)
	}
	// A 200 keeps the channel.
	h.accept(2)
	h.send(2, q16)
	ch = h.busyChannel(2)
	h.reply(ch, 200, "x\n")
	if h.gone[ch] {
		t.Fatal("channel closed after a 200")
	}
}
