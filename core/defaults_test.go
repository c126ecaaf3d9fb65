package core

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The defaults are what a site gets from a configuration that names only
// the site (README, "Configuration"; api.go). The numbers are written out
// here, not taken from the Default* constants, so a wrong constant fails.

func TestZeroConfigTakesTheDocumentedDefaults(t *testing.T) {
	want := Config{
		Name: "s1", Channels: 10, ChannelTimeout: 5 * time.Second, QueryTimeout: 120 * time.Second,
		ConnectTimeout: 5 * time.Second, ConnectRetry: 4 * time.Second, HeartbeatInterval: 3 * time.Second,
		HeartbeatTimeoutMin: 2 * time.Second, HeartbeatPercent: 50, MaxQueryBytes: 16 << 20, HighWater: 1 << 20,
		AnswerBuffer: 16 << 20, QueryReadTimeout: 10 * time.Second, CapacityRetry: 60 * time.Second,
		CacheEntries: 256, CacheBytes: 32 << 20,
	}
	if got := (Config{Name: "s1"}).WithDefaults(); got != want {
		t.Fatalf("defaults\n got %+v\nwant %+v", got, want)
	}
	if got := NewSite(Config{Name: "s1"}).Config(); got != want {
		t.Fatalf("a new site's config\n got %+v\nwant %+v", got, want)
	}
	neg := Config{Name: "s1", Channels: -1, ChannelTimeout: -1, QueryTimeout: -1, ConnectTimeout: -1,
		ConnectRetry: -1, HeartbeatInterval: -1, HeartbeatTimeoutMin: -1, HeartbeatPercent: -1, MaxQueryBytes: -1,
		HighWater: -1, AnswerBuffer: -1, QueryReadTimeout: -1, CapacityRetry: -1, CacheEntries: -1, CacheBytes: -1}
	if got := neg.WithDefaults(); got != want {
		t.Fatalf("negative values must take the defaults\n got %+v\nwant %+v", got, want)
	}
}

func TestSmallestConfiguredValuesAreKept(t *testing.T) {
	one := Config{Name: "s1", Channels: 1, ChannelTimeout: 1, QueryTimeout: 1, ConnectTimeout: 1,
		ConnectRetry: 1, HeartbeatInterval: 1, HeartbeatTimeoutMin: 1, HeartbeatPercent: 1, MaxQueryBytes: 1,
		HighWater: 1, AnswerBuffer: 1, QueryReadTimeout: 1, CapacityRetry: 1, CacheEntries: 1, CacheBytes: 1, Cache: true}
	if got := one.WithDefaults(); got != one {
		t.Fatalf("configured values replaced\n got %+v\nwant %+v", got, one)
	}
}

// TestZeroConfigSiteRunsOnTheDefaults: a site configured with its name
// only dials 10 channels, sends its heartbeat every 3 s, dies 2 s after
// an unanswered one, redials 4 s later and gives a dial 5 s to connect.
func TestZeroConfigSiteRunsOnTheDefaults(t *testing.T) {
	h := newHarness(t, Config{Name: "s1"})
	if len(h.dial) != 10 {
		t.Fatalf("dialled %d channels, want the default 10", len(h.dial))
	}
	h.start(1)
	heartbeats := func() int {
		n := 0
		for _, a := range h.acts {
			if a.Kind == ActWriteChannel && string(a.Data) == string(heartbeatQuery) {
				n++
			}
		}
		return n
	}
	h.tick(3*time.Second - time.Nanosecond)
	if heartbeats() != 0 {
		t.Fatal("heartbeat before the default interval of 3 s")
	}
	h.tick(time.Nanosecond)
	if heartbeats() != 1 {
		t.Fatal("no heartbeat after the default interval of 3 s")
	}
	h.tick(2*time.Second - time.Nanosecond)
	if st := h.s.Snapshot().State; st != SiteAlive {
		t.Fatalf("site %s before the default heartbeat timeout of 2 s", st)
	}
	h.tick(time.Nanosecond)
	if snap := h.s.Snapshot(); snap.State != SiteDead || !strings.Contains(snap.LastError, "heartbeat timeout after 2s") {
		t.Fatalf("site %s (%q) 2 s after an unanswered heartbeat", snap.State, snap.LastError)
	}
	dialled := len(h.dial)
	h.tick(4*time.Second - time.Nanosecond)
	if len(h.dial) != dialled {
		t.Fatal("redialled before the default connect_retry of 4 s")
	}
	h.tick(time.Nanosecond)
	if len(h.dial) != dialled+10 {
		t.Fatalf("%d dials after connect_retry, want 10", len(h.dial)-dialled)
	}
	h.tick(5*time.Second - time.Nanosecond)
	if n := h.s.Snapshot().Stats.ConnectFailures; n != 0 {
		t.Fatalf("%d connect failures before the default connect timeout of 5 s", n)
	}
	h.tick(time.Nanosecond)
	if snap := h.s.Snapshot(); snap.Stats.ConnectFailures == 0 || !strings.Contains(snap.LastError, "connect timeout after 5s") {
		t.Fatalf("no connect failure 5 s after the dial: %+v", snap.LastError)
	}
}

// TestZeroConfigSiteAnswersBusyAfterFiveSeconds: with the default 10
// channels all busy, the next query waits exactly the default
// channel_timeout of 5 s for one, then gets Checkmk's busy text.
func TestZeroConfigSiteAnswersBusyAfterFiveSeconds(t *testing.T) {
	h := newHarness(t, Config{Name: "s1"})
	h.start(1)
	for c := ClientID(1); c <= 10; c++ {
		h.accept(c)
		h.send(c, q16)
		h.busyChannel(c)
	}
	h.accept(11)
	h.send(11, q16)
	h.run(5*time.Second - time.Nanosecond)
	h.expectOut(11, "", false)
	h.run(time.Nanosecond)
	h.expectOut(11, string(ErrorReply(true, CodeBusy, "All 10 channels busy, timeout waiting for free channel.")), true)
	if n := h.s.Snapshot().Stats.QueriesBusy; n != 1 {
		t.Fatalf("QueriesBusy %d, want 1", n)
	}
}

// TestLatencyBucketsAreTheDocumentedBounds: the metrics export these
// bounds; dashboards are built on them.
func TestLatencyBucketsAreTheDocumentedBounds(t *testing.T) {
	want := "[500µs 1ms 2.5ms 5ms 10ms 25ms 50ms 100ms 250ms 500ms 1s 2.5s 5s 10s 30s 1m0s]"
	if got := fmt.Sprint(LatencyBuckets); got != want {
		t.Fatalf("latency buckets %s, want %s", got, want)
	}
}

// logs returns the texts of the last step's log actions at level.
func (h *harness) logs(level Level) string {
	var b strings.Builder
	for _, a := range h.acts {
		if a.Kind == ActLog && a.Level == level {
			b.WriteString(a.Text + "\n")
		}
	}
	return b.String()
}

// TestEachDeathIsWarnedAndItsFirstReconnectIsAttemptOne: a site that
// dies, recovers and dies again warns both times, and the first reconnect
// after each death is attempt 1, at info.
func TestEachDeathIsWarnedAndItsFirstReconnectIsAttemptOne(t *testing.T) {
	h := newHarness(t, testConfig())
	h.step(Event{Kind: EvChannelClosed, Channel: h.dial[0], Err: "refused"})
	if !strings.Contains(h.logs(LevelWarn), "site s1 is dead: cannot connect: refused") {
		t.Fatalf("first death not warned: %q", h.logs(LevelWarn))
	}
	dialled := len(h.dial)
	h.tickTo()
	if !strings.Contains(h.logs(LevelInfo), "reconnecting (attempt 1)") {
		t.Fatalf("first reconnect logged %q", h.logs(LevelInfo))
	}
	h.dial = h.dial[dialled:]
	h.start(1)
	h.heartbeatChannel()
	h.tickTo() // the heartbeat goes unanswered
	if !strings.Contains(h.logs(LevelWarn), "site s1 is dead: heartbeat timeout") {
		t.Fatalf("second death not warned: %q", h.logs(LevelWarn))
	}
	h.tickTo()
	if !strings.Contains(h.logs(LevelInfo), "reconnecting (attempt 1)") {
		t.Fatalf("first reconnect after the second death logged %q", h.logs(LevelInfo))
	}
}
