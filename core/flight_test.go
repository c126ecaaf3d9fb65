package core

import (
	"strings"
	"testing"
)

// upstreamCount counts the client queries written upstream so far that
// carry s (heartbeats excluded).
func (h *harness) upstreamCount(s string) int {
	n := 0
	for _, b := range h.up {
		n += strings.Count(b.String(), s)
	}
	return n
}

// TestSingleFlightSendsIdenticalQueriesOnce: three GUI clients miss the
// cache with the same query at the same moment; it goes upstream once and
// all three get its answer (before, three upstream queries).
func TestSingleFlightSendsIdenticalQueriesOnce(t *testing.T) {
	cfg := testConfig()
	cfg.Cache, cfg.Channels = true, 3
	h := newHarness(t, cfg)
	h.start(100)
	for c := ClientID(1); c <= 3; c++ {
		h.accept(c)
		h.send(c, guiQuery("u", 1764600000+int(c)))
	}
	if n := h.upstreamCount("GET hosts\n"); n != 1 {
		t.Fatalf("%d upstream queries for 3 identical ones, want 1", n)
	}
	h.reply(h.busyChannel(1), 200, "[['h1']]\n")
	want := string(FormatHeader(200, 9)) + "[['h1']]\n"
	for c := ClientID(1); c <= 3; c++ {
		h.expectOut(c, want, false)
	}
	if st := h.s.Snapshot(); st.Stats.CacheHits != 2 || st.Stats.CacheMisses != 1 || st.ClientsWaiting != 0 {
		t.Fatalf("hits %d misses %d waiting %d", st.Stats.CacheHits, st.Stats.CacheMisses, st.ClientsWaiting)
	}
}

// TestSingleFlightWaitersGoUpstreamWhenTheAnswerIsNotCached: the leader
// gets an error status, which is never cached: each waiter then asks the
// site itself and gets its own answer.
func TestSingleFlightWaitersGoUpstreamWhenTheAnswerIsNotCached(t *testing.T) {
	cfg := testConfig()
	cfg.Cache, cfg.Channels = true, 3
	h := newHarness(t, cfg)
	h.start(100)
	for c := ClientID(1); c <= 3; c++ {
		h.accept(c)
		h.send(c, guiQuery("u", 1764600000))
	}
	h.reply(h.busyChannel(1), 404, "no such table\n")
	if n := h.upstreamCount("GET hosts\n"); n != 3 {
		t.Fatalf("%d upstream queries after the leader's 404, want 3", n)
	}
	for c := ClientID(2); c <= 3; c++ {
		h.reply(h.busyChannel(c), 200, "x\n")
		h.expectOut(c, string(FormatHeader(200, 2))+"x\n", false)
	}
}

// TestSingleFlightWaitersGet502WhenTheSiteDies: the leader's channel is
// lost and no channel can be had: every waiter gets 502 at once, like any
// client waiting for a dead site.
func TestSingleFlightWaitersGet502WhenTheSiteDies(t *testing.T) {
	cfg := testConfig()
	cfg.Cache, cfg.Channels = true, 1
	h := newHarness(t, cfg)
	h.start(100)
	for c := ClientID(1); c <= 3; c++ {
		h.accept(c)
		h.send(c, guiQuery("u", 1764600000))
	}
	for i := 0; i < 10 && h.s.Snapshot().State != SiteDead; i++ {
		for _, info := range h.s.Snapshot().Channels {
			h.step(Event{Kind: EvChannelClosed, Channel: info.ID, Err: "reset"})
		}
	}
	for c := ClientID(1); c <= 3; c++ {
		h.expectErr(c, 502, "site s1")
	}
}
