package core

import "testing"

// TestShrinkClosesTheFirstChannelOnProbationNotTheProvenOne: the pool is
// over its target when a proven channel finishes its answer, and the
// channel still on probation is the first of the pool; it goes, the
// proven one stays and is free.
func TestShrinkClosesTheFirstChannelOnProbationNotTheProvenOne(t *testing.T) {
	h := newHarness(t, testConfig()) // dials channels 1 and 2
	h.connect(1)                     // probing, never answered
	h.connect(2)
	h.takeUp(2)
	h.reply(2, 200, "1\n")
	h.accept(1)
	h.send(1, q16)
	if ch := h.busyChannel(1); ch != 2 {
		t.Fatalf("query on channel %d, want the proven channel 2", ch)
	}
	cfg := testConfig()
	cfg.Channels = 1
	h.step(Event{Kind: EvReconfigure, Config: &cfg})
	h.reply(2, 200, "a\n")
	if !h.gone[1] || h.gone[2] {
		t.Fatalf("closed channel 1 %v, channel 2 %v: want the unproven channel 1 closed, 2 kept", h.gone[1], h.gone[2])
	}
	if info := h.s.Snapshot().Channels; len(info) != 1 || info[0].State != ChanFree {
		t.Fatalf("channels %+v, want channel 2 alone and free", info)
	}
}
