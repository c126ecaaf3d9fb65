package core

import (
	"strings"
	"testing"
	"time"
)

// answer renders a fixed16 answer with the given body.
func answer(code int, body string) []byte {
	return append(FormatHeader(code, int64(len(body))), body...)
}

// inFlight starts a site, connects client 1 and puts q on a channel.
func inFlight(t *testing.T, cfg Config, q string) (*harness, ChannelID) {
	h := newHarness(t, cfg)
	h.start(1)
	h.accept(1)
	h.send(1, q)
	return h, h.busyChannel(1)
}

func TestAnswerIsHeldUntilCompleteAndGoesOutWhole(t *testing.T) {
	h, ch := inFlight(t, testConfig(), q16)
	body := strings.Repeat("x", 5000) // over HighWater: streaming would pause
	resp := answer(200, body)
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[:10]})
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[10:3000]})
	h.expectOut(1, "", false) // not even the header yet
	if h.has(ActPauseChannel, ch) {
		t.Fatal("a held answer must not pause its channel")
	}
	if m := h.s.Memory(); m.AnswerBytes != int64(len(resp)) {
		t.Fatalf("memory %+v while holding, want the whole answer (%d) reserved", m, len(resp))
	}
	acts := h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[3000:]})
	writes := 0
	for _, a := range acts {
		if a.Kind == ActWriteClient {
			writes++
		}
	}
	if writes != 1 {
		t.Fatalf("%d client writes for a held answer, want one", writes)
	}
	h.expectOut(1, string(resp), false)
	h.step(Event{Kind: EvClientWritten, Client: 1, N: len(resp)})
	if m := h.s.Memory(); m.AnswerBytes != 0 {
		t.Fatalf("memory %+v after the client took everything", m)
	}
}

func TestSiteBreakingInsideHeldAnswerGivesClean502(t *testing.T) {
	h, ch := inFlight(t, testConfig(), q16)
	resp := answer(200, strings.Repeat("y", 800))
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[:300]})
	h.step(Event{Kind: EvChannelClosed, Channel: ch, Err: "connection reset by peer"})
	h.expectErr(1, CodeBadGateway, "connection to site lost")
	if strings.HasPrefix(h.buf(1).String(), "200") {
		t.Fatal("a cut 200 answer reached the client")
	}
	if m := h.s.Memory(); m.AnswerBytes != 0 {
		t.Fatalf("memory %+v: the held answer's room is not given back", m)
	}
}

func TestAnswerOverHoldLimitIsStreamed(t *testing.T) {
	cfg := testConfig()
	cfg.AnswerBuffer = 100
	h, ch := inFlight(t, cfg, q16)
	resp := answer(200, strings.Repeat("z", 200))
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[:50]})
	h.expectOut(1, string(resp[:50]), false)
}

func TestAnswerIsStreamedWhenGlobalBudgetIsUsedUp(t *testing.T) {
	resp := answer(200, strings.Repeat("b", 300))
	for _, tc := range []struct {
		room int64
		held bool
	}{{0, false}, {int64(len(resp)) - 1, false}, {int64(len(resp)), true}, {1 << 30, true}} {
		h, ch := inFlight(t, testConfig(), q16)
		h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[:40], Budget: &Budget{AnswerBytes: tc.room, QueryBytes: 1 << 20}})
		if got := h.buf(1).Len() == 0; got != tc.held {
			t.Fatalf("room %d: held %v, want %v", tc.room, got, tc.held)
		}
	}
}

func TestBytesAfterHeldAnswerDiscardItAndCloseChannel(t *testing.T) {
	h, ch := inFlight(t, testConfig(), q16)
	// A late answer to some earlier query, then the real one, in one read.
	data := append(answer(200, "stale\n"), answer(200, "real\n")...)
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: data})
	h.expectErr(1, CodeBadGateway, "out of step")
	if !h.gone[ch] {
		t.Fatal("channel out of step not closed")
	}
	if strings.Contains(h.buf(1).String(), "stale") {
		t.Fatal("the stray answer reached the client")
	}
}

func TestBytesOnFreeChannelAfterAnswerCloseIt(t *testing.T) {
	h, ch := inFlight(t, testConfig(), q16)
	h.reply(ch, 200, "ok\n")
	h.expectOut(1, string(answer(200, "ok\n")), false)
	// The extra answer comes in a later read, before any new request.
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: answer(200, "late\n")})
	if !h.gone[ch] {
		t.Fatal("free channel with stray bytes not closed")
	}
}

func TestClientLeavingHeldAnswerFreesItsRoom(t *testing.T) {
	h, ch := inFlight(t, testConfig(), q16)
	resp := answer(200, strings.Repeat("c", 400))
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[:100]})
	h.step(Event{Kind: EvClientGone, Client: 1})
	if m := h.s.Memory(); m.AnswerBytes != 0 {
		t.Fatalf("memory %+v after the client left", m)
	}
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[100:]})
	for _, info := range h.s.Snapshot().Channels {
		if info.ID == ch && info.State != ChanFree {
			t.Fatalf("channel %s after draining", info.State)
		}
	}
}

const halfQuery = "GET hosts\nResponseHeader: fixed16\nColumns: name\n"

func TestFullQueryBudgetRefusesNewQueryWith503(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	h.accept(1)
	h.step(Event{Kind: EvClientData, Client: 1, Data: []byte(halfQuery), Budget: &Budget{AnswerBytes: 1 << 20, QueryBytes: 10}})
	if m := h.s.Memory(); m.QueryBytes != 0 {
		t.Fatalf("memory %+v after the refusal", m)
	}
	h.expectOut(1, "", false) // answered when the query ends
	h.step(Event{Kind: EvClientData, Client: 1, Data: []byte("\n"), Budget: &Budget{}})
	h.expectErr(1, CodeBusy, "query buffer is full")
	// A complete query holds nothing back: it passes even with no room.
	h.accept(2)
	h.step(Event{Kind: EvClientData, Client: 2, Data: []byte(q16), Budget: &Budget{}})
	if h.shut[2] {
		t.Fatalf("complete query refused: %q", h.buf(2).String())
	}
	h.busyChannel(2)
}

func TestQueryBudgetCountsUnfinishedBytes(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	h.accept(1)
	h.send(1, halfQuery)
	if m := h.s.Memory(); m.QueryBytes != int64(len(halfQuery)) {
		t.Fatalf("memory %+v, want %d query bytes", m, len(halfQuery))
	}
	h.send(1, "\n")
	if m := h.s.Memory(); m.QueryBytes != 0 {
		t.Fatalf("memory %+v once the query is complete", m)
	}
}

func TestUnfinishedQueryExpiresAfterReadTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.HeartbeatInterval = time.Hour // keep the run to the query's clock
	h := newHarness(t, cfg)
	h.start(1)
	h.accept(1)
	h.send(1, halfQuery)
	h.accept(2)
	h.send(2, halfQuery)
	h.run(DefaultQueryReadTimeout - time.Second)
	h.send(2, "\n") // client 2 finishes in time
	h.expectOut(1, "", false)
	h.run(time.Second)
	h.expectErr(1, CodeIncomplete, "not completed within 10s")
	if n := h.s.Snapshot().Stats.QueriesBad; n != 1 {
		t.Fatalf("QueriesBad %d after one query expired unfinished, want 1", n)
	}
	if h.shut[2] {
		t.Fatalf("client 2 finished in time but got %q", h.buf(2).String())
	}
	if m := h.s.Memory(); m.QueryBytes != 0 {
		t.Fatalf("memory %+v", m)
	}
}

func TestStaleBytesOnReusedChannelGive502AndCloseIt(t *testing.T) {
	h, ch := inFlight(t, testConfig(), q16)
	h.reply(ch, 200, "ok\n")
	h.send(1, q16) // the channel is reused at once
	if got := h.busyChannel(1); got != ch {
		t.Fatalf("query went to channel %d, want the free %d", got, ch)
	}
	// A late answer the driver read before it wrote the new request.
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: answer(200, "late\n"), Stale: true})
	if !h.gone[ch] {
		t.Fatal("channel out of step not closed")
	}
	want := string(answer(200, "ok\n"))
	if got := h.buf(1).String(); !strings.HasPrefix(got, want+"502 ") || strings.Contains(got, "late") || !h.shut[1] {
		t.Fatalf("client got %q (closed %v), want its answer, then a 502", got, h.shut[1])
	}
	if st := h.s.Snapshot().State; st != SiteAlive {
		t.Fatalf("site %s: one channel out of step is no dead site", st)
	}
}

// TestAliveSiteSurvivesItsOnlyChannelGoingOutOfStep: bytes nobody asked
// for close the channel, but they came from a server that answers, so an
// alive site stays alive and redials even with no other channel open.
func TestAliveSiteSurvivesItsOnlyChannelGoingOutOfStep(t *testing.T) {
	cfg := testConfig()
	cfg.Channels = 1
	h, ch := inFlight(t, cfg, q16)
	h.reply(ch, 200, "ok\n")
	h.send(1, q16) // the channel is reused at once
	// A late answer the driver read before it wrote the new request.
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: answer(200, "late\n"), Stale: true})
	if !h.gone[ch] {
		t.Fatal("channel out of step not closed")
	}
	if st := h.s.Snapshot().State; st != SiteAlive {
		t.Fatalf("site %s after its only channel went out of step, want alive", st)
	}
}

// TestNextDeadlineForgetsQueriesNoLongerUnfinished: NextDeadline promises
// a time that a Tick acts upon. A half query that was completed, or whose
// client left, has no read deadline any more, so the driver is not woken
// for it; the clock of a query still unfinished does wake it, on time.
func TestNextDeadlineForgetsQueriesNoLongerUnfinished(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(h *harness)
	}{
		{"completed", func(h *harness) {
			h.send(1, "\n")
			h.reply(h.busyChannel(1), 200, "a\n")
		}},
		{"client gone", func(h *harness) { h.step(Event{Kind: EvClientGone, Client: 1}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.HeartbeatInterval = time.Hour // no other deadline near the queries' clocks
			h := newHarness(t, cfg)
			h.start(1)
			h.accept(1)
			h.send(1, halfQuery)
			h.tick(time.Second)
			h.accept(2)
			h.send(2, halfQuery) // expires a second after client 1's would
			tc.end(h)
			want := epoch.Add(time.Second + DefaultQueryReadTimeout)
			if d := mustDeadline(t, h.s); !d.Equal(want) {
				t.Fatalf("NextDeadline at +%v, want +%v, when client 2's query expires", d.Sub(epoch), want.Sub(epoch))
			}
			h.tickTo()
			h.expectErr(2, CodeIncomplete, "not completed within 10s")
			if d := mustDeadline(t, h.s); d.Before(epoch.Add(cfg.HeartbeatInterval)) {
				t.Fatalf("NextDeadline at +%v with no query unfinished, want the heartbeat at +%v", d.Sub(epoch), cfg.HeartbeatInterval)
			}
		})
	}
}

// TestReconfiguredReadTimeoutAppliesToARunningClock: a shorter
// QueryReadTimeout bounds a query already being sent, from its first byte.
func TestReconfiguredReadTimeoutAppliesToARunningClock(t *testing.T) {
	cfg := testConfig()
	cfg.HeartbeatInterval = time.Hour
	h := newHarness(t, cfg)
	h.start(1)
	h.accept(1)
	h.send(1, halfQuery)
	h.tick(time.Second)
	cfg.QueryReadTimeout = 2 * time.Second
	h.step(Event{Kind: EvReconfigure, Config: &cfg})
	if d := mustDeadline(t, h.s); !d.Equal(epoch.Add(2 * time.Second)) {
		t.Fatalf("NextDeadline at +%v, want +2s", d.Sub(epoch))
	}
	h.tickTo()
	h.expectErr(1, CodeIncomplete, "not completed within 2s")
}

// TestQueryBudgetRoomIsForTheStepsGrowth: an event's Budget is the room
// left after every site's holdings, this site's unfinished queries
// included, so only what the site's unfinished queries grow by during the
// Step uses it. Client 1 already holds half a query; client 2's half query
// fits the room exactly and is kept.
func TestQueryBudgetRoomIsForTheStepsGrowth(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	h.accept(1)
	h.send(1, halfQuery) // no budget: held, counted in the site's memory
	h.accept(2)
	h.step(Event{Kind: EvClientData, Client: 2, Data: []byte(halfQuery),
		Budget: &Budget{AnswerBytes: 1 << 20, QueryBytes: int64(len(halfQuery))}})
	if m := h.s.Memory(); m.QueryBytes != 2*int64(len(halfQuery)) {
		t.Fatalf("memory %+v: client 2's half query (%d bytes, room %d) was refused", m, len(halfQuery), len(halfQuery))
	}
	h.send(2, "\n")
	if h.shut[2] || h.busyChannel(2) == 0 {
		t.Fatalf("client 2 refused: %q", h.buf(2).String())
	}
}
