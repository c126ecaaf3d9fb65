package core

import (
	"testing"
	"time"
)

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

// TestLoweredTargetClosesTheChannelOnProbationAtOnce: a channel on
// probation while the proven channels already make the lowered target is
// closed by the reconfigure itself (closeUnproven), not left to miss its
// probe; there is no capacity warning and the proven, busy channel stays.
func TestLoweredTargetClosesTheChannelOnProbationAtOnce(t *testing.T) {
	h := newHarness(t, testConfig()) // dials channels 1 and 2, heartbeat timeout 2s
	h.connect(1)
	h.takeUp(1)
	h.reply(1, 200, "1\n")
	h.connect(2) // probing, never answered
	h.accept(1)
	h.send(1, q16) // on channel 1, the proven one
	cfg := testConfig()
	cfg.Channels = 1
	h.step(Event{Kind: EvReconfigure, Config: &cfg})
	if !h.gone[2] || h.gone[1] || h.s.Snapshot().Target != 1 {
		t.Fatalf("closed channel 1 %v, channel 2 %v, target %d: want only channel 2 closed, target 1",
			h.gone[1], h.gone[2], h.s.Snapshot().Target)
	}
	h.tick(2 * time.Second)
	if w := h.logs(LevelWarn); w != "" {
		t.Fatalf("capacity warning with the pool at its target: %q", w)
	}
	if st := h.s.Snapshot().State; st != SiteAlive {
		t.Fatalf("site %s after the shrink", st)
	}
}

// TestCapacityShrinkClosesAChannelStillConnectingNotTheProvenOne: the pool
// shrinks to its one proven channel while another new channel is still
// connecting; when the proven channel's answer is done, the connecting
// one goes and the proven one stays.
func TestCapacityShrinkClosesAChannelStillConnectingNotTheProvenOne(t *testing.T) {
	cfg := testConfig()
	cfg.Channels = 3 // heartbeat timeout 2s, connect timeout 3s
	h := newHarness(t, cfg)
	h.connect(1)
	h.takeUp(1)
	h.reply(1, 200, "1\n")
	h.accept(1)
	h.send(1, q16) // on channel 1, the proven one
	h.connect(2)   // probing, never answered; channel 3 never connects
	h.tick(2 * time.Second)
	if tgt := h.s.Snapshot().Target; tgt != 1 || !h.gone[2] || h.gone[3] {
		t.Fatalf("target %d, closed 2 %v, closed 3 %v: want the pool shrunk to 1 and channel 3 still connecting", tgt, h.gone[2], h.gone[3])
	}
	h.reply(1, 200, "a\n")
	if !h.gone[3] || h.gone[1] {
		t.Fatalf("closed channel 1 %v, channel 3 %v: want the connecting channel 3 closed, 1 kept", h.gone[1], h.gone[3])
	}
}

// TestReconfigureClosesTheFirstIdleChannelAtOnce: channels over a lowered
// target go at once when idle, the first of the pool included; a busy one
// stays until its answer is done.
func TestReconfigureClosesTheFirstIdleChannelAtOnce(t *testing.T) {
	h := newHarness(t, testConfig()) // two channels
	h.start(1)
	for c := ClientID(1); c <= 2; c++ {
		h.accept(c)
		h.send(c, q16)
	}
	h.takeUp(1)
	h.reply(1, 200, "a\n") // channel 1 free again, channel 2 busy
	cfg := testConfig()
	cfg.Channels = 1
	h.step(Event{Kind: EvReconfigure, Config: &cfg})
	if !h.gone[1] || h.gone[2] {
		t.Fatalf("closed channel 1 %v, channel 2 %v: want the idle channel 1 closed at once, the busy 2 kept", h.gone[1], h.gone[2])
	}
}
