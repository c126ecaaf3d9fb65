package core

import (
	"strings"
	"testing"
	"time"
)

const q16 = "GET hosts\nColumns: name\nResponseHeader: fixed16\nKeepAlive: on\n\n"

func TestPlainClientGetsBodyAndClose(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	h.accept(1)
	h.send(1, "GET status\n")
	h.step(Event{Kind: EvClientEOF, Client: 1}) // EOF after a complete line ends the query
	ch := h.busyChannel(1)
	if got := h.takeUp(ch); !strings.HasSuffix(got, "\n\n") {
		t.Fatalf("upstream request not ended by an empty line: %q", got)
	}
	// The header arrives split, with Icinga's separator in byte 16.
	resp := FormatHeader(200, 3)
	resp[15] = ';'
	for _, b := range resp {
		h.step(Event{Kind: EvChannelData, Channel: ch, Data: []byte{b}})
	}
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: []byte("xyz")})
	h.expectOut(1, "xyz", true)
}

func TestPipelinedQueriesOneAtATimeInOrder(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	h.accept(1)
	h.send(1, "GET a\nKeepAlive: on\nResponseHeader: fixed16\n\nGET b\nKeepAlive: on\nResponseHeader: fixed16\n\n")
	ch := h.busyChannel(1)
	if up := h.takeUp(ch); !strings.HasPrefix(up, "GET a\n") || strings.Contains(up, "GET b") {
		t.Fatalf("first transaction %q", up)
	}
	for _, info := range h.s.Snapshot().Channels {
		if info.ID != ch && h.up[info.ID].Len() > 0 {
			t.Fatalf("second query forwarded before the first was answered")
		}
	}
	h.reply(ch, 200, "A")
	ch2 := h.busyChannel(1)
	if up := h.takeUp(ch2); !strings.HasPrefix(up, "GET b\n") {
		t.Fatalf("second transaction %q", up)
	}
	h.reply(ch2, 200, "B")
	h.expectOut(1, "200           1\nA200           1\nB", false)
}

func TestRecoveryAfterConnectRetry(t *testing.T) {
	h := newHarness(t, testConfig())
	h.step(Event{Kind: EvChannelClosed, Channel: h.dial[0], Err: "refused"})
	dialled := len(h.dial)
	h.tick(3 * time.Second)
	if len(h.dial) != dialled {
		t.Fatal("redialled before connect_retry")
	}
	h.tickTo()
	if h.now.Sub(epoch) != 4*time.Second || len(h.dial) != dialled+2 {
		t.Fatalf("at %v dialled %d", h.now.Sub(epoch), len(h.dial)-dialled)
	}
	h.dial = h.dial[dialled:]
	h.start(5)
	h.accept(1)
	h.send(1, q16)
	h.reply(h.busyChannel(1), 200, "ok")
	h.expectOut(1, "200           2\nok", false)
}

// TestBusyTextIsCheckmksWithConfiguredCount: the 503 text is exactly the
// one Checkmk's liveproxyd writes, naming the configured channel count even
// while a channel is missing (here: a failed dial waiting for its retry),
// and without the site's name, which goes to the log.
func TestBusyTextIsCheckmksWithConfiguredCount(t *testing.T) {
	cfg := testConfig()
	cfg.Channels, cfg.ConnectRetry = 3, 10*time.Second
	h := newHarness(t, cfg)
	h.connect(1)
	h.takeUp(1)
	h.reply(1, 200, "1\n")
	h.step(Event{Kind: EvChannelClosed, Channel: 3, Err: "refused"})
	h.connect(2)
	h.takeUp(2)
	h.reply(2, 200, "1\n")
	if n := len(h.s.Snapshot().Channels); n != 2 {
		t.Fatalf("%d channels open, the test needs 2 of 3", n)
	}
	for c := ClientID(1); c <= 3; c++ {
		h.accept(c)
		h.send(c, q16)
	}
	h.tick(5 * time.Second)
	want := string(ErrorReply(true, 503, "All 3 channels busy, timeout waiting for free channel."))
	if got := h.buf(3).String(); got != want || !h.shut[3] {
		t.Fatalf("client 3 got %q (closed %v), want %q", got, h.shut[3], want)
	}
	logged := false
	for _, a := range h.acts {
		logged = logged || a.Kind == ActLog && strings.Contains(a.Text, "site s1") && strings.Contains(a.Text, "2 of 3 open")
	}
	if !logged {
		t.Fatalf("no log line names the site and the open count: %v", h.acts)
	}
}

// TestBusyTextWhileStartingNamesTheSite: before any channel is proven the
// site is not busy but not ready yet, so the 503 after channel_timeout
// says so and names the site instead of Checkmk's busy text (a documented
// difference, docs/checkmk.md).
func TestBusyTextWhileStartingNamesTheSite(t *testing.T) {
	cfg := testConfig()
	cfg.ChannelTimeout = time.Second // before the connect timeout ends the dials
	h := newHarness(t, cfg)
	h.accept(1)
	h.send(1, q16)
	h.tick(time.Second)
	if st := h.s.Snapshot().State; st != SiteStarting {
		t.Fatalf("site %s, the test needs it starting", st)
	}
	want := string(ErrorReply(true, CodeBusy, "site s1: no channel ready within 1s (site starting)"))
	if got := h.buf(1).String(); got != want || !h.shut[1] {
		t.Fatalf("client got %q (closed %v), want %q", got, h.shut[1], want)
	}
}

func TestWaitingClientGetsFreedChannel(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	for c := ClientID(1); c <= 3; c++ {
		h.accept(c)
		h.send(c, q16)
	}
	ch := h.busyChannel(1)
	h.takeUp(ch)
	h.reply(ch, 200, "1")
	if h.busyChannel(3) != ch || !strings.HasPrefix(h.takeUp(ch), "GET hosts") {
		t.Fatal("freed channel not handed to the waiting client")
	}
}

// TestTricklingSiteGets504AfterTotalQueryTimeout: query_timeout is
// Checkmk's total query timeout, dispatch to last byte. A site that
// trickles a byte a second used to reset a silence timer for ever.
func TestTricklingSiteGets504AfterTotalQueryTimeout(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	h.accept(1)
	h.send(1, q16)
	ch := h.busyChannel(1)
	hdr := FormatHeader(200, 100)
	for i := 0; i < 15; i++ { // 15 of the 16 header bytes by +19s
		h.run(time.Second + 250*time.Millisecond)
		h.step(Event{Kind: EvChannelData, Channel: ch, Data: hdr[i : i+1]})
	}
	h.expectOut(1, "", false)
	h.run(20*time.Second - h.now.Sub(epoch) - time.Millisecond)
	h.expectOut(1, "", false)
	h.run(time.Millisecond)
	h.expectErr(1, 504, "query timeout after 20s")
	if !h.gone[ch] || h.s.Snapshot().State != SiteAlive {
		t.Fatal("timed-out channel not closed, or the site suffered")
	}
	if n := len(h.s.Snapshot().Channels); n != 2 {
		t.Fatalf("%d channels after the timeout, want the pool refilled", n)
	}
}
