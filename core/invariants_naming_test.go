package core

import "testing"

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
