package core

import (
	"strings"
	"testing"
	"time"
)

func TestHungSiteDetectedWithinIntervalPlusTimeout(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	h.run(10 * time.Second) // heartbeats answered: stays alive
	if st := h.s.Snapshot(); st.State != SiteAlive || st.Stats.Heartbeats < 4 {
		t.Fatalf("after 10 s of answered heartbeats: %+v", st)
	}
	hung := h.now
	h.accept(1)
	h.send(1, q16)
	for i := 0; h.s.Snapshot().State == SiteAlive && i < 100; i++ {
		h.tickTo() // nobody answers any more
	}
	took := h.now.Sub(hung)
	if limit := 3*time.Second + 2*time.Second; took > limit {
		t.Fatalf("hang detected after %v, limit %v", took, limit)
	}
	h.expectErr(1, 502, "site is dead: heartbeat timeout")
	h.accept(2)
	h.send(2, q16)
	h.expectErr(2, 502, "site is dead")
}

func TestHeartbeatTimeoutAdaptsToTypicalRTT(t *testing.T) {
	h := newHarness(t, testConfig())
	ch := h.dial[0]
	h.connect(ch)
	h.now = h.now.Add(4 * time.Second) // a slow site: 4 s per heartbeat, above the 2 s floor
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: append(FormatHeader(200, 2), "1\n"...)})
	if got := h.s.Snapshot(); got.TypicalRTT != 4*time.Second || got.HeartbeatTimeout != 6*time.Second {
		t.Fatalf("rtt %v timeout %v, want 4s and 6s (+50%%)", got.TypicalRTT, got.HeartbeatTimeout)
	}
}

func TestProgramStartChangeIsNoticed(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(100)
	if ps := h.s.Snapshot().ProgramStart; ps != 100 {
		t.Fatalf("program_start %d", ps)
	}
	h.tickTo()
	var hb ChannelID
	for _, c := range h.s.Snapshot().Channels {
		if c.State == ChanHeartbeat {
			hb = c.ID
		}
	}
	h.takeUp(hb)
	h.reply(hb, 200, "101\n")
	logged := false
	for _, a := range h.acts {
		logged = logged || (a.Kind == ActLog && strings.Contains(a.Text, "program_start 100 -> 101"))
	}
	if !logged || h.s.Snapshot().ProgramStart != 101 {
		t.Fatal("restart of the monitoring core not noticed")
	}
}

func TestCapacityLimitShrinksPoolInsteadOfFlapping(t *testing.T) {
	cfg := testConfig()
	cfg.Channels = 4
	h := newHarness(t, cfg)
	for i, ch := range h.dial {
		h.connect(ch)
		if i < 2 { // the server's pool serves only two connections
			h.takeUp(ch)
			h.reply(ch, 200, "1\n")
		}
	}
	h.tickTo() // the two unserved probes time out
	h.tickTo()
	st := h.s.Snapshot()
	if st.State != SiteAlive || st.Target != 2 || len(st.Channels) != 2 {
		t.Fatalf("state %s target %d channels %d", st.State, st.Target, len(st.Channels))
	}
	h.run(50 * time.Second)
	if st := h.s.Snapshot(); st.State != SiteAlive || st.Target != 2 {
		t.Fatalf("flapped: %+v", st)
	}
	// After CapacityRetry one more channel is tried.
	dialled := len(h.dial)
	h.run(15 * time.Second)
	if len(h.dial) != dialled+1 {
		t.Fatalf("pool did not try to grow (%d new dials)", len(h.dial)-dialled)
	}
}

func TestCommandForwardedAloneAndChannelResynced(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	h.accept(1)
	h.send(1, "COMMAND [1] SCHEDULE_FORCED_SVC_CHECK;h;s;1\n\n")
	var ch ChannelID
	for _, c := range h.dial {
		if up := h.takeUp(c); up != "" {
			ch = c
			want := "COMMAND [1] SCHEDULE_FORCED_SVC_CHECK;h;s;1\n\n" + string(heartbeatQuery)
			if up != want {
				t.Fatalf("upstream %q, want %q", up, want)
			}
		}
	}
	h.expectOut(1, "", false) // no reply to a COMMAND
	// naemon answers a failed COMMAND with bytes nobody asked for.
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: []byte("400: Unknown command\n")})
	if !h.gone[ch] || h.s.Snapshot().State != SiteAlive {
		t.Fatal("channel with stray bytes not closed, or site harmed")
	}
	h.accept(2)
	h.send(2, q16)
	c2 := h.busyChannel(2)
	h.takeUp(c2)
	h.reply(c2, 200, "clean")
	h.expectOut(2, "200           5\nclean", false)
	if st := h.s.Snapshot().Stats; st.Commands != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBackpressurePausesAndResumesChannel(t *testing.T) {
	cfg := testConfig()
	cfg.AnswerBuffer = 1024 // the 5000-byte answer is streamed, not held
	h := newHarness(t, cfg)
	h.start(1)
	h.accept(1)
	h.send(1, q16)
	ch := h.busyChannel(1)
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: append(FormatHeader(200, 5000), make([]byte, 1500)...)})
	if !h.has(ActPauseChannel, ch) {
		t.Fatal("channel not paused above the high-water mark")
	}
	h.run(15 * time.Second) // a slow client is not a slow site
	h.step(Event{Kind: EvClientWritten, Client: 1, N: 100})
	h.run(15 * time.Second) // ...and any progress restarts its clock
	if h.shut[1] || h.s.Snapshot().State != SiteAlive {
		t.Fatal("slow but reading client dropped, or the site suffered")
	}
	h.step(Event{Kind: EvClientWritten, Client: 1, N: 1100})
	if !h.has(ActResumeChannel, ch) {
		t.Fatal("channel not resumed after the client drained")
	}
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: make([]byte, 3500)})
	if got := h.buf(1).Len(); got != 16+5000 {
		t.Fatalf("client got %d bytes", got)
	}
}

func TestBadClientInputGetsErrorReplies(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	h.accept(1)
	h.send(1, "GET hosts\nResponseHeader: fixed16\nFilter: "+strings.Repeat("x", 5000))
	h.expectOut(1, "", false) // refused, answered when the query ends
	h.send(1, "\nKeepAlive: on\n\n")
	h.expectErr(1, 413, "query too large")
	h.accept(2)
	h.send(2, "GET hosts\nResponseHeader: fixed16\nColu")
	h.step(Event{Kind: EvClientEOF, Client: 2})
	h.expectErr(2, 451, "incomplete request")
	h.accept(3)
	h.send(3, "DELETE everything\n\n")
	h.expectOut(3, "site s1: invalid request method \"DELETE\"\n", true)
	h.accept(4) // other clients of the site are untouched
	h.send(4, q16)
	c := h.busyChannel(4)
	h.takeUp(c)
	h.reply(c, 200, "x")
	h.expectOut(4, "200           1\nx", false)
}

func TestClientGoneMidResponseDrainsChannel(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	h.accept(1)
	h.send(1, q16)
	ch := h.busyChannel(1)
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: append(FormatHeader(200, 10), "12345"...)})
	h.step(Event{Kind: EvClientGone, Client: 1})
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: []byte("67890")})
	if h.gone[ch] {
		t.Fatal("channel closed instead of drained")
	}
	for _, c := range h.s.Snapshot().Channels {
		if c.ID == ch && c.State != ChanFree {
			t.Fatalf("drained channel is %s", c.State)
		}
	}
	if st := h.s.Snapshot().Stats; st.QueriesGone != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStallWithAllChannelsBusyMarksDead(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	for c := ClientID(1); c <= 2; c++ {
		h.accept(c)
		h.send(c, q16)
	}
	start := h.now
	for i := 0; h.s.Snapshot().State == SiteAlive && i < 100; i++ {
		h.tickTo()
	}
	if took := h.now.Sub(start); took > 5*time.Second {
		t.Fatalf("stall detected after %v", took)
	}
	h.expectErr(1, 502, "no answer on any channel")
}

func TestShutdownAnswersEveryone(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	for c := ClientID(1); c <= 4; c++ {
		h.accept(c)
	}
	for c := ClientID(1); c <= 3; c++ {
		h.send(c, q16)
	}
	h.step(Event{Kind: EvShutdown})
	for c := ClientID(1); c <= 3; c++ {
		h.expectErr(c, 502, "shutting down")
	}
	h.expectOut(4, "", true)
	for _, ch := range h.dial {
		if !h.gone[ch] {
			t.Fatalf("channel %d left open", ch)
		}
	}
	if _, ok := h.s.NextDeadline(); ok {
		t.Fatal("a stopped site wants ticks")
	}
	h.accept(5)
	h.expectOut(5, "", true)
}

func TestReconfigureChangesPoolSize(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	cfg := testConfig()
	cfg.Channels = 4
	h.step(Event{Kind: EvReconfigure, Config: &cfg})
	h.run(time.Second)
	if n := len(h.s.Snapshot().Channels); n != 4 {
		t.Fatalf("%d channels after growing to 4", n)
	}
	cfg.Channels = 1
	h.step(Event{Kind: EvReconfigure, Config: &cfg})
	if n := len(h.s.Snapshot().Channels); n != 1 {
		t.Fatalf("%d channels after shrinking to 1", n)
	}
}

func TestFreeChannelClosedBySiteIsRedialledQuietly(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	dialled := len(h.dial)
	h.step(Event{Kind: EvChannelClosed, Channel: h.dial[0], Err: "EOF"})
	if h.s.Snapshot().State != SiteAlive || len(h.dial) != dialled+1 {
		t.Fatal("idle close not handled quietly")
	}
}

func TestClientThatStopsReadingIsDroppedAndChannelReused(t *testing.T) {
	cfg := testConfig()
	cfg.AnswerBuffer = 1024 // the 3000-byte answer is streamed, not held
	h := newHarness(t, cfg)
	h.start(1)
	h.accept(1)
	h.send(1, q16)
	ch := h.busyChannel(1)
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: append(FormatHeader(200, 3000), make([]byte, 1500)...)})
	h.run(21 * time.Second) // QueryTimeout without a single byte taken
	if !h.shut[1] || h.gone[ch] {
		t.Fatalf("client closed %v, channel closed %v: want the client dropped, the channel kept", h.shut[1], h.gone[ch])
	}
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: make([]byte, 1500)})
	for _, info := range h.s.Snapshot().Channels {
		if info.ID == ch && info.State != ChanFree {
			t.Fatalf("channel %s after draining", info.State)
		}
	}
}
