package core

import (
	"strings"
	"testing"
	"time"
)

// TestHeartbeatAnswerInPiecesIsReadToOneKiB: the first 1024 bytes of a
// heartbeat answer are read however the site's bytes are split.
func TestHeartbeatAnswerInPiecesIsReadToOneKiB(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(100)
	resp := answer(200, strings.Repeat(" ", 1024-len("1764600000"))+"1764600000"+"junk\n")
	ch := h.heartbeatChannel()
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[:HeaderLen+1000]})
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[HeaderLen+1000:]})
	if ps := h.s.Snapshot().ProgramStart; ps != 1764600000 {
		t.Fatalf("program_start %d, want the number that ends at byte 1024", ps)
	}
}

// TestSiteThatLosesItsChannelsAndNeverAnswersTheNewOnesIsDead: the site
// closes every channel of an alive pool; the redialled channels connect
// but their probes get no byte. With no proven channel beside them and
// nothing from the site since, that is a hang, not a capacity limit.
func TestSiteThatLosesItsChannelsAndNeverAnswersTheNewOnesIsDead(t *testing.T) {
	h := newHarness(t, testConfig()) // two channels, heartbeat timeout 2s
	h.start(1)
	h.tick(time.Second) // the site's last byte is older than the new probes
	old := append([]ChannelID(nil), h.dial...)
	for _, ch := range old {
		h.step(Event{Kind: EvChannelClosed, Channel: ch})
	}
	if st := h.s.Snapshot().State; st != SiteAlive || len(h.dial) != len(old)+2 {
		t.Fatalf("site %s, dialled %v after its idle channels were closed, want alive and two redialled", st, h.dial)
	}
	for _, ch := range h.dial[len(old):] {
		h.connect(ch)
	}
	h.tick(2*time.Second - time.Millisecond)
	if st := h.s.Snapshot().State; st != SiteAlive {
		t.Fatalf("site %s before the probes' timeout", st)
	}
	h.tick(time.Millisecond)
	if snap := h.s.Snapshot(); snap.State != SiteDead || !strings.Contains(snap.LastError, "heartbeat timeout") {
		t.Fatalf("site %s (%q) once the new channels' probes timed out, want dead by heartbeat timeout", snap.State, snap.LastError)
	}
}

// TestPoolProbeHasAFullHeartbeatTimeoutAfterASlowConnect: unlike the
// extra probe, whose time counts from its dial (docs/design.md §8.2), a
// pool channel's probe gets the whole heartbeat timeout from its connect:
// a connect just inside connect_timeout must not leave the probe only
// what remains of it.
func TestPoolProbeHasAFullHeartbeatTimeoutAfterASlowConnect(t *testing.T) {
	cfg := testConfig()
	cfg.Channels = 1
	h := newHarness(t, cfg) // dials channel 1 at +0, connect_timeout 3s
	h.now = h.now.Add(cfg.ConnectTimeout - 500*time.Millisecond)
	h.connect(1)
	if got := h.takeUp(1); got != string(heartbeatQuery) {
		t.Fatalf("probe %q", got)
	}
	h.tick(cfg.HeartbeatTimeoutMin - 500*time.Millisecond) // past the connect deadline, inside the probe's
	if h.gone[1] {
		t.Fatal("the probe was cut off at the connect deadline")
	}
	h.reply(1, 200, "1\n")
	if st := h.s.Snapshot().State; st != SiteAlive || h.gone[1] {
		t.Fatalf("site %s, channel closed %v, after the probe was answered in time", st, h.gone[1])
	}
}
