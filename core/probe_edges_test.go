package core

import (
	"strings"
	"testing"
	"time"
)

// TestProbeAnsweredWithinTwiceRTTPlusSlackShowsRoom: a probe answer that
// takes exactly twice the typical round trip plus 20 ms (scheduling noise,
// docs/design.md) is prompt and shows room beside the pool; one
// nanosecond later it is not.
func TestProbeAnsweredWithinTwiceRTTPlusSlackShowsRoom(t *testing.T) {
	for _, tc := range []struct {
		took time.Duration
		room int
	}{{20 * time.Millisecond, 2}, {20*time.Millisecond + time.Nanosecond, 0}} {
		h := newHarness(t, testConfig())
		probe := h.probeBesideTwoLongPolls() // start answered at once: typical round trip 0
		h.now = h.now.Add(tc.took)
		h.reply(probe, 200, "1\n")
		if !h.gone[probe] || h.s.probeRoom != tc.room {
			t.Fatalf("probe answered after %v: closed %v, room %d, want closed and room %d", tc.took, h.gone[probe], h.s.probeRoom, tc.room)
		}
	}
}

// TestCommandWithDELIs400: a COMMAND argument with DEL (0x7f) is refused
// like one with a character below space, and not sent.
func TestCommandWithDELIs400(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	h.accept(1)
	h.send(1, "COMMAND [1] NOP\x7fX\n")
	if got := h.buf(1).String(); !strings.Contains(got, "invalid COMMAND") || !h.shut[1] {
		t.Fatalf("client got %q (closed %v), want the COMMAND refused", got, h.shut[1])
	}
	for ch, up := range h.up {
		if strings.Contains(up.String(), "NOP") {
			t.Fatalf("COMMAND with DEL sent on channel %d", ch)
		}
	}
}

// TestUnansweredProbeBehindMoreChannelsThanTheRoomShownIsNoDeath: once a
// probe was answered beside two busy channels, the server has shown room
// for two; a later probe that met three busy channels ahead of it may be
// queued behind a full server pool, so its silence alone does not kill
// the site (docs/design.md §8.2).
func TestUnansweredProbeBehindMoreChannelsThanTheRoomShownIsNoDeath(t *testing.T) {
	cfg := testConfig()
	h := newHarness(t, cfg)
	probe := h.probeBesideTwoLongPolls()
	h.reply(probe, 200, "1\n")
	if h.s.probeRoom != 2 {
		t.Fatalf("room %d after a prompt probe beside 2 busy channels, want 2", h.s.probeRoom)
	}
	cfg.Channels = 3
	h.step(Event{Kind: EvReconfigure, Config: &cfg})
	h.serveHeartbeats() // the third channel connects and is proven
	h.accept(3)
	h.send(3, longPoll(60000))
	if n := h.s.countPool(false); n != 3 {
		t.Fatalf("%d pool channels, want 3 busy", n)
	}
	dials := len(h.dial)
	for len(h.dial) == dials {
		h.tickTo() // until the next heartbeat dials a probe
	}
	probe = h.dial[len(h.dial)-1]
	h.connect(probe)
	h.takeUp(probe)
	for !h.gone[probe] {
		h.tickTo() // the probe goes unanswered
	}
	if st := h.s.Snapshot().State; st != SiteAlive {
		t.Fatalf("site %s after a probe behind 3 channels went unanswered, with room shown for 2", st)
	}
}

// probeBesideTwoLongPolls starts the site (its probes answered at once),
// puts a long-poll on each of its two channels, ticks until the due
// heartbeat dials the extra probe, connects it and takes the heartbeat it
// sent.
func (h *harness) probeBesideTwoLongPolls() ChannelID {
	h.t.Helper()
	h.start(1)
	for c := ClientID(1); c <= 2; c++ {
		h.accept(c)
		h.send(c, longPoll(60000))
	}
	h.tickTo() // the heartbeat is due with both channels busy: a probe
	probe := h.dial[len(h.dial)-1]
	h.connect(probe)
	if got := h.takeUp(probe); got != string(heartbeatQuery) {
		h.t.Fatalf("probe sent %q", got)
	}
	return probe
}
