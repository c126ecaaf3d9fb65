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

// TestCheckInvariantsSeesAStoppedSiteHoldingOneThing: after shutdown the
// site holds no channel and nobody waits for one, not even a single one.
func TestCheckInvariantsSeesAStoppedSiteHoldingOneThing(t *testing.T) {
	for _, tc := range []struct {
		name string
		brk  func(s *Site)
	}{
		{"one channel", func(s *Site) { s.channels, s.flights = s.channels[2:], nil }},
		{"one client queued", func(s *Site) {
			s.channels, s.flights = nil, nil
			s.waitQ = []*client{s.clients[4]} // a waiting client, now queued alone
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := invariantSite(t)
			h.s.state = SiteStopped
			tc.brk(h.s)
			if err := h.s.CheckInvariants(); err == nil || !strings.Contains(err.Error(), "stopped site") {
				t.Fatalf("CheckInvariants = %v, want the stopped site named", err)
			}
		})
	}
}
