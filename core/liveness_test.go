package core

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// longPoll is a query that the site answers only when a log line comes,
// or after ms milliseconds.
func longPoll(ms int) string {
	return fmt.Sprintf("GET log\nWaitTrigger: log\nWaitTimeout: %d\nResponseHeader: fixed16\nKeepAlive: on\n\n", ms)
}

// passUntil ticks as a driver would until d after epoch; dialled probes
// connect (and are answered only if serve says so), pool heartbeats are
// answered. It fails the test if the site dies.
func (h *harness) passUntil(d time.Duration, serveProbe bool) {
	h.t.Helper()
	for i := 0; i < 1000 && h.now.Before(epoch.Add(d)); i++ {
		for again := true; again; {
			again = false
			for _, info := range h.s.Snapshot().Channels {
				switch {
				case info.State == ChanConnecting:
					h.connect(info.ID)
					again = true
				case info.Probe && serveProbe && h.up[info.ID].String() == string(heartbeatQuery):
					h.takeUp(info.ID)
					h.reply(info.ID, 200, "1\n")
					again = true
				}
			}
		}
		next, ok := h.s.NextDeadline()
		if !ok || next.After(epoch.Add(d)) {
			next = epoch.Add(d)
		}
		if next.After(h.now) {
			h.now = next
		}
		h.step(Event{Kind: EvTick})
		if st := h.s.Snapshot().State; st != SiteAlive {
			h.t.Fatalf("site %s at +%v: %v", st, h.now.Sub(epoch), h.s.Snapshot().LastError)
		}
	}
}

// streamConfig is testConfig with answers over 1 KiB streamed, not held
// whole: only streamed answers pause a channel for a slow reader.
func streamConfig() Config {
	cfg := testConfig()
	cfg.AnswerBuffer = 1024
	return cfg
}

// TestSlowReadersDoNotKillTheSite: with every channel paused by clients
// that read slowly, no heartbeat can go out. The channel that resumes first
// used to be judged against the heartbeat that fell due while it was
// paused, and the site died in that very step, truncating every answer.
func TestSlowReadersDoNotKillTheSite(t *testing.T) {
	h := newHarness(t, streamConfig())
	h.start(1)
	body := make([]byte, 5000)
	for i := range body {
		body[i] = 'x'
	}
	for c := ClientID(1); c <= 2; c++ {
		h.accept(c)
		h.send(c, q16)
		ch := h.busyChannel(c)
		h.step(Event{Kind: EvChannelData, Channel: ch, Data: append(FormatHeader(200, 5000), body[:2000]...)})
		if !h.has(ActPauseChannel, ch) {
			t.Fatalf("channel %d not paused", ch)
		}
	}
	h.passUntil(15*time.Second, false) // the site is silent: we do not read
	ch := h.busyChannel(1)
	h.step(Event{Kind: EvClientWritten, Client: 1, N: h.buf(1).Len()})
	if !h.has(ActResumeChannel, ch) || h.s.Snapshot().State != SiteAlive {
		t.Fatalf("resume: channel resumed %v, site %s (%s)", h.has(ActResumeChannel, ch), h.s.Snapshot().State, h.s.Snapshot().LastError)
	}
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: body[2000:]})
	if got := h.buf(1).Len(); got != HeaderLen+5000 {
		t.Fatalf("client 1 got %d bytes, want the whole answer", got)
	}
}

// TestLongPollsOnAllChannelsAreNotSilence: long-polls on every channel are
// silent by contract, and an Icinga whose pool they fill never serves the
// extra probe. That used to kill the site hbTimeout after the due
// heartbeat. Once the WaitTimeout is over the site owes its answer again,
// and a hang is found within the heartbeat timeout of that.
func TestLongPollsOnAllChannelsAreNotSilence(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	for c := ClientID(1); c <= 2; c++ {
		h.accept(c)
		h.send(c, longPoll(8000))
	}
	h.passUntil(8*time.Second, false)
	probes := 0
	for _, ch := range h.dial[2:] {
		if h.up[ch].String() == string(heartbeatQuery) {
			probes++
		}
	}
	if probes != 1 {
		t.Fatalf("%d probes sent while all channels were busy, want 1", probes)
	}
	for c := ClientID(1); c <= 2; c++ {
		ch := h.busyChannel(c)
		h.takeUp(ch)
		h.reply(ch, 200, "log\n")
		h.expectOut(c, string(FormatHeader(200, 4))+"log\n", false)
	}
	h.serveHeartbeats() // the heartbeat due since +3s went out on a freed channel
	// Now a hang while long-polls of 4 s run on both channels.
	start := h.now
	for c := ClientID(1); c <= 2; c++ {
		h.send(c, longPoll(4000))
	}
	for i := 0; h.s.Snapshot().State == SiteAlive && i < 100; i++ {
		h.tickTo()
	}
	if took := h.now.Sub(start); took > 4*time.Second+h.s.hbTimeout() {
		t.Fatalf("hang found %v after the long-polls went out, bound WaitTimeout + heartbeat timeout", took)
	}
	if got := h.buf(1).String(); !strings.HasSuffix(got, "site s1: site is dead: no answer on any channel for 3s with all channels busy\n") || !h.shut[1] {
		t.Fatalf("client 1 got %q (closed %v)", got, h.shut[1])
	}
}

// TestHungSiteFoundByProbeWhileLongPollsRun: once the server has answered
// a probe with the pool all busy, it has room for one, and the probe's
// silence is a hang: found within interval + timeout though every channel
// is silent by contract.
func TestHungSiteFoundByProbeWhileLongPollsRun(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	for c := ClientID(1); c <= 2; c++ {
		h.accept(c)
		h.send(c, longPoll(60000))
	}
	h.passUntil(4*time.Second, true) // the probe at +3s is answered
	if h.s.probeRoom != 2 {
		t.Fatalf("probe room %d, want 2", h.s.probeRoom)
	}
	hang := h.now
	for i := 0; h.s.Snapshot().State == SiteAlive && i < 100; i++ {
		for _, info := range h.s.Snapshot().Channels {
			if info.State == ChanConnecting {
				h.connect(info.ID) // the kernel accepts; the server answers nothing
			}
		}
		h.tickTo()
	}
	bound := h.s.cfg.HeartbeatInterval + h.s.hbTimeout()
	if took := h.now.Sub(hang); took > bound {
		t.Fatalf("hang found after %v, bound %v", took, bound)
	}
	h.expectErr(1, 502, "extra channel unanswered")
}

// TestLongPollLongerThanQueryTimeoutIsNotKilled: a WaitTimeout is the
// client's explicit wish; the answer after it gets query_timeout on top.
func TestLongPollLongerThanQueryTimeoutIsNotKilled(t *testing.T) {
	h := newHarness(t, testConfig()) // query timeout 20s
	h.start(1)
	h.accept(1)
	h.send(1, longPoll(25000))
	ch := h.busyChannel(1)
	h.run(30 * time.Second)
	h.reply(ch, 200, "log\n")
	h.expectOut(1, string(FormatHeader(200, 4))+"log\n", false)
	h.send(1, longPoll(25000))
	ch = h.busyChannel(1)
	sent := h.now
	h.run(45*time.Second - time.Millisecond)
	h.expectOut(1, string(FormatHeader(200, 4))+"log\n", false)
	h.run(time.Millisecond)
	if got := h.now.Sub(sent); got != 45*time.Second || !h.gone[ch] {
		t.Fatalf("at %v channel closed %v", got, h.gone[ch])
	}
	if got := h.buf(1).String(); got != string(FormatHeader(200, 4))+"log\n"+string(ErrorReply(true, 504, "site s1: query timeout after 20s")) {
		t.Fatalf("client got %q", got)
	}
}

// TestClientsThatNeverReadDoNotKillTheSite: every channel paused by a
// client that never reads. After query_timeout the clients are dropped
// and their channels resume to drain the rest; judged against the
// heartbeat that fell due long before, the site used to die right there.
func TestClientsThatNeverReadDoNotKillTheSite(t *testing.T) {
	h := newHarness(t, streamConfig()) // query timeout 20s
	h.start(1)
	body := make([]byte, 5000)
	for c := ClientID(1); c <= 2; c++ {
		h.accept(c)
		h.send(c, q16)
		h.step(Event{Kind: EvChannelData, Channel: h.busyChannel(c), Data: append(FormatHeader(200, 5000), body[:2000]...)})
	}
	h.passUntil(20*time.Second+time.Millisecond, false)
	if !h.shut[1] || !h.shut[2] {
		t.Fatalf("clients closed %v %v after query_timeout without reading", h.shut[1], h.shut[2])
	}
	for _, ch := range []ChannelID{1, 2} { // the rest drains, the channels are free again
		h.step(Event{Kind: EvChannelData, Channel: ch, Data: body[2000:]})
	}
	h.run(10 * time.Second)
	if st := h.s.Snapshot().State; st != SiteAlive {
		t.Fatalf("site %s: %s", st, h.s.Snapshot().LastError)
	}
}

// TestPausedTimeIsNotTheSites: query_timeout counts the site's time only.
// While a slow client keeps a channel paused (reading a little now and
// then), the clock stops; after the resume the site has what was left.
func TestPausedTimeIsNotTheSites(t *testing.T) {
	h := newHarness(t, streamConfig()) // query timeout 20s, HighWater 1000
	h.start(1)
	h.accept(1)
	h.send(1, q16)
	ch := h.busyChannel(1)
	h.run(time.Second)
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: append(FormatHeader(200, 5000), make([]byte, 2000)...)})
	if !h.has(ActPauseChannel, ch) {
		t.Fatal("channel not paused")
	}
	for i := 0; i < 4; i++ { // 40 s of slow reading, still above the resume mark
		h.run(10 * time.Second)
		h.step(Event{Kind: EvClientWritten, Client: 1, N: 100})
	}
	h.step(Event{Kind: EvClientWritten, Client: 1, N: h.buf(1).Len()})
	if !h.has(ActResumeChannel, ch) {
		t.Fatal("channel not resumed")
	}
	resumed := h.now
	h.run(19*time.Second - time.Millisecond) // 1 s went by before the pause
	if h.gone[ch] || h.shut[1] {
		t.Fatalf("query timed out %v after the resume, the site had 19 s left", h.now.Sub(resumed))
	}
	h.run(time.Millisecond)
	if !h.gone[ch] || !h.shut[1] {
		t.Fatalf("no query timeout 19 s after the resume")
	}
}
