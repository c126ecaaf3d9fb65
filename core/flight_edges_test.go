package core

import (
	"testing"
	"time"
)

// TestDifferentCacheableQueriesWaitEachForItsOwnChannel: a cacheable query
// follows only a flight for the same answer; behind a different cacheable
// query it is a cache miss of its own, waits in the queue, and gets its
// 503 at the channel timeout counted from its own arrival.
func TestDifferentCacheableQueriesWaitEachForItsOwnChannel(t *testing.T) {
	cfg := testConfig()
	cfg.Channels, cfg.Cache = 1, true
	h := newHarness(t, cfg)
	h.start(1)
	h.accept(1)
	h.send(1, q16) // the only channel stays busy
	h.busyChannel(1)
	h.accept(2)
	h.send(2, cacheQuery(1))
	h.accept(3)
	h.send(3, cacheQuery(2))
	snap := h.s.Snapshot()
	if snap.ClientsWaiting != 2 || snap.Stats.CacheMisses != 2 {
		t.Fatalf("%d waiting, %d cache misses, want 2 and 2", snap.ClientsWaiting, snap.Stats.CacheMisses)
	}
	h.tick(5 * time.Second) // the channel timeout of both
	h.expectErr(2, CodeBusy, "All 1 channels busy")
	h.expectErr(3, CodeBusy, "All 1 channels busy")
}

// TestFollowersThatLeaveAreOutOfTheirFlight: clients following a
// leader's flight leave one by one, the last of them emptying the flight;
// nobody is waited for any more, and the leader still gets its answer.
func TestFollowersThatLeaveAreOutOfTheirFlight(t *testing.T) {
	cfg := testConfig()
	cfg.Cache, cfg.Channels = true, 3
	h := newHarness(t, cfg)
	h.start(100)
	for c := ClientID(1); c <= 3; c++ {
		h.accept(c)
		h.send(c, guiQuery("u", 1764600000+int(c)))
	}
	for c := ClientID(2); c <= 3; c++ {
		h.step(Event{Kind: EvClientGone, Client: c})
		if st := h.s.Snapshot(); st.ClientsWaiting != 3-int(c) {
			t.Fatalf("%d clients waiting after follower %d left, want %d", st.ClientsWaiting, c, 3-int(c))
		}
	}
	h.reply(h.busyChannel(1), 200, "[['h1']]\n")
	h.expectOut(1, string(FormatHeader(200, 9))+"[['h1']]\n", false)
}

// TestSingleWaitingClientSetsTheNextDeadline: a driver that ticks only at
// NextDeadline answers a lone waiting client's 503 on time.
func TestSingleWaitingClientSetsTheNextDeadline(t *testing.T) {
	cfg := testConfig()
	cfg.Channels, cfg.HeartbeatInterval = 1, 30*time.Second // nothing else due before 5s
	h := newHarness(t, cfg)
	h.start(1)
	h.accept(1)
	h.send(1, q16) // the only channel stays busy
	h.accept(2)
	h.send(2, q16)
	if got, want := mustDeadline(t, h.s), epoch.Add(5*time.Second); !got.Equal(want) {
		t.Fatalf("next deadline +%v, want +5s, the waiting client's channel timeout", got.Sub(epoch))
	}
	h.tickTo()
	h.expectErr(2, CodeBusy, "All 1 channels busy")
}
