package core

import (
	"strings"
	"testing"
)

// TestCheckInvariantsNamesTheUnprovenHeartbeat: of two heartbeats in
// flight, the error names the one that was never proven, not any channel
// beside it.
func TestCheckInvariantsNamesTheUnprovenHeartbeat(t *testing.T) {
	h := invariantSite(t) // channels 1 and 2 busy, 3 free and proven
	s := h.s
	s.channel(3).state = ChanHeartbeat
	s.nextChan++
	s.channels = append(s.channels, &channel{id: s.nextChan, state: ChanHeartbeat})
	want := "channel 4 in heartbeat but unproven"
	if err := s.CheckInvariants(); err == nil || err.Error() != want {
		t.Fatalf("CheckInvariants = %v, want %q", err, want)
	}
}

// TestCheckInvariantsSeesAStoppedSiteWithOneClientQueued: after shutdown
// nothing may wait for a channel, not even a single client.
func TestCheckInvariantsSeesAStoppedSiteWithOneClientQueued(t *testing.T) {
	h := invariantSite(t)
	s := h.s
	s.state, s.channels, s.flights = SiteStopped, nil, nil
	s.waitQ = []*client{s.clients[4]} // a waiting client, now queued alone
	if err := s.CheckInvariants(); err == nil || !strings.Contains(err.Error(), "stopped site") {
		t.Fatalf("CheckInvariants = %v, want the stopped site's queue named", err)
	}
}
