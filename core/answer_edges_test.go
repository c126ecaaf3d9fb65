package core

import (
	"strings"
	"testing"
	"time"
)

// Edges of answers and their accounting seen through the site.

// TestStreamedAnswerPausesWithOneByteStillToCome: a streamed answer that
// leaves its client over HighWater pauses its channel as long as any byte
// of the answer is still to come, even the very last one; only a complete
// answer has nothing left to hold back.
func TestStreamedAnswerPausesWithOneByteStillToCome(t *testing.T) {
	h, ch := inFlight(t, streamConfig(), q16) // HighWater 1000, answers over 1 KiB streamed
	resp := answer(200, strings.Repeat("x", 1100))
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[:len(resp)-1]})
	if !h.has(ActPauseChannel, ch) {
		t.Fatalf("%d bytes unwritten and one byte of the answer to come: channel not paused", len(resp)-1)
	}
	h.step(Event{Kind: EvClientWritten, Client: 1, N: len(resp) - 1})
	if !h.has(ActResumeChannel, ch) {
		t.Fatal("not resumed once the client wrote everything")
	}
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[len(resp)-1:]})
	h.expectOut(1, string(resp), false)
}

// TestStreamedAnswerEndingOverHighWaterDoesNotPause: the read that
// completes a streamed answer leaves nothing of it to hold back, so its
// channel is not paused (and resumed at once as it goes free) however
// much the client has still to write.
func TestStreamedAnswerEndingOverHighWaterDoesNotPause(t *testing.T) {
	h, ch := inFlight(t, streamConfig(), q16) // HighWater 1000, answers over 1 KiB streamed
	resp := answer(200, strings.Repeat("x", 1100))
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[:500]})
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[500:]})
	if h.has(ActPauseChannel, ch) || h.has(ActResumeChannel, ch) {
		t.Fatalf("answer completed with %d bytes unwritten: actions %v, want no pause", len(resp), h.acts)
	}
	h.expectOut(1, string(resp), false)
}

// TestDeadSiteRefusalCountsAsAnInstantQuery: a query the dead site's
// proxy answers itself is observed with zero latency: it falls in the
// lowest bucket and adds nothing to the sum.
func TestDeadSiteRefusalCountsAsAnInstantQuery(t *testing.T) {
	h := newHarness(t, testConfig())
	h.step(Event{Kind: EvChannelClosed, Channel: h.dial[0], Err: "connection refused"})
	h.tick(1500 * time.Millisecond) // time passes while dead: it must not leak into the latency
	h.accept(1)
	h.send(1, q16)
	h.expectErr(1, 502, "site is dead")
	st := h.s.Snapshot().Stats
	if st.Latency[0] != 1 || st.LatencySum != 0 {
		t.Fatalf("latency %v sum %v, want one query in the first bucket and a sum of 0", st.Latency, st.LatencySum)
	}
}

// TestOneByteAfterHeldAnswerDiscardsIt: a single byte after a held answer
// already shows the site out of step; the answer is not trusted.
func TestOneByteAfterHeldAnswerDiscardsIt(t *testing.T) {
	h, ch := inFlight(t, testConfig(), q16)
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: append(answer(200, "held\n"), '\n')})
	h.expectErr(1, CodeBadGateway, "out of step")
	if strings.Contains(h.buf(1).String(), "held") || !h.gone[ch] {
		t.Fatalf("client got %q, channel closed %v: want the answer discarded and the channel closed", h.buf(1).String(), h.gone[ch])
	}
}

// TestStreamedAnswerIsCachedAsSent: an answer too large to hold is
// streamed, and the cache keeps exactly the bytes the first client got.
func TestStreamedAnswerIsCachedAsSent(t *testing.T) {
	cfg := streamConfig() // answers over 1 KiB streamed
	cfg.Cache, cfg.CacheBytes = true, 1<<20
	h := newHarness(t, cfg)
	h.start(1)
	resp := answer(200, strings.Repeat("s", 2000))
	ch := h.ask(1, cq)
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp})
	h.expectOut(1, string(resp), true) // no KeepAlive: closed after the answer
	if ch := h.ask(2, cq); ch != 0 {
		t.Fatalf("repeated query went upstream on channel %d", ch)
	}
	h.expectOut(2, string(resp), true)
}
