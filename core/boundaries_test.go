package core

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Limits at exactly their value and one past it: each limit of Config
// means "up to and including".

// sizedQuery is a fixed16 query whose text before the blank line that
// ends it is exactly n bytes.
func sizedQuery(n int) string {
	head := "GET hosts\nResponseHeader: fixed16\nFilter: name = "
	return head + strings.Repeat("x", n-len(head)-1) + "\n\n"
}

func TestQueryOfExactlyMaxQueryBytesIsForwardedOneMoreIs413(t *testing.T) {
	h := newHarness(t, testConfig()) // MaxQueryBytes 4096
	h.start(1)
	h.accept(1)
	h.send(1, sizedQuery(4096))
	h.busyChannel(1)
	h.accept(2)
	h.send(2, sizedQuery(4097))
	h.expectOut(2, string(ErrorReply(true, CodeTooLarge, "site s1: query too large (limit 4096 bytes)")), true)
	if st := h.s.Snapshot().Stats; st.QueriesBad != 1 {
		t.Fatalf("QueriesBad %d, want 1", st.QueriesBad)
	}
}

func TestAnswerOfExactlyAnswerBufferIsHeldOneMoreIsStreamed(t *testing.T) {
	cfg := testConfig()
	cfg.AnswerBuffer = 1024
	for _, tc := range []struct {
		size int
		held bool
	}{{1024, true}, {1025, false}} {
		h, ch := inFlight(t, cfg, q16)
		resp := answer(200, strings.Repeat("x", tc.size-HeaderLen))
		h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[:100]})
		if held := h.buf(1).Len() == 0; held != tc.held {
			t.Fatalf("answer of %d bytes with AnswerBuffer 1024: held %v, want %v", tc.size, held, tc.held)
		}
		h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[100:]})
		h.expectOut(1, string(resp), false)
	}
}

func TestChannelPausesJustOverHighWaterAndResumesAtHalf(t *testing.T) {
	h, ch := inFlight(t, streamConfig(), q16) // HighWater 1000, answers streamed
	resp := answer(200, strings.Repeat("x", 5000))
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[:1000]})
	if h.has(ActPauseChannel, ch) {
		t.Fatal("paused with exactly HighWater bytes unwritten")
	}
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[1000:1001]})
	if !h.has(ActPauseChannel, ch) {
		t.Fatal("not paused with HighWater+1 bytes unwritten")
	}
	h.step(Event{Kind: EvClientWritten, Client: 1, N: 500})
	if h.has(ActResumeChannel, ch) {
		t.Fatal("resumed with HighWater/2+1 bytes unwritten")
	}
	h.step(Event{Kind: EvClientWritten, Client: 1, N: 1})
	if !h.has(ActResumeChannel, ch) {
		t.Fatal("not resumed with HighWater/2 bytes unwritten")
	}
}

// cacheQuery is a distinct cacheable query per column.
func cacheQuery(col int) string {
	return fmt.Sprintf("GET hosts\nColumns: c%d\nCache: reload\nResponseHeader: fixed16\n\n", col)
}

// cached tells whether the query is answered without going upstream.
func (h *harness) cached(c ClientID, q string) bool {
	h.t.Helper()
	return h.ask(c, q) == 0
}

func TestCacheTakesAnswersUpToAQuarterOfItsBytes(t *testing.T) {
	cfg := testConfig()
	cfg.Cache, cfg.CacheBytes = true, 400
	h := newHarness(t, cfg)
	h.start(1)
	h.reply(h.ask(1, cacheQuery(1)), 200, strings.Repeat("a", 100-HeaderLen))
	h.reply(h.ask(2, cacheQuery(2)), 200, strings.Repeat("b", 101-HeaderLen))
	if !h.cached(3, cacheQuery(1)) {
		t.Fatal("an answer of exactly a quarter of CacheBytes was not cached")
	}
	if h.cached(4, cacheQuery(2)) {
		t.Fatal("an answer over a quarter of CacheBytes was cached")
	}
}

func TestCacheFullToTheByteKeepsEveryEntry(t *testing.T) {
	cfg := testConfig()
	cfg.Cache, cfg.CacheBytes = true, 400
	h := newHarness(t, cfg)
	h.start(1)
	c := ClientID(1)
	for col := 1; col <= 4; col++ { // 4 × 100 bytes: exactly CacheBytes
		h.reply(h.ask(c, cacheQuery(col)), 200, strings.Repeat("z", 100-HeaderLen))
		c++
	}
	if n := h.s.Snapshot().CacheEntries; n != 4 {
		t.Fatalf("%d entries after filling the cache to the byte, want 4", n)
	}
	h.reply(h.ask(c, cacheQuery(5)), 200, strings.Repeat("z", 100-HeaderLen))
	c++
	if n := h.s.Snapshot().CacheEntries; n != 4 {
		t.Fatalf("%d entries after one more, want 4 (the oldest evicted)", n)
	}
	if h.cached(c, cacheQuery(1)) || !h.cached(c+1, cacheQuery(2)) {
		t.Fatal("eviction did not take exactly the least recently used entry")
	}
}

func TestCacheKeepsExactlyCacheEntriesAnswers(t *testing.T) {
	cfg := testConfig()
	cfg.Cache, cfg.CacheEntries = true, 2
	h := newHarness(t, cfg)
	h.start(1)
	h.reply(h.ask(1, cacheQuery(1)), 200, "a\n")
	h.reply(h.ask(2, cacheQuery(2)), 200, "b\n")
	if n := h.s.Snapshot().CacheEntries; n != 2 || !h.cached(3, cacheQuery(1)) {
		t.Fatalf("%d entries with CacheEntries 2, want both", n)
	}
}

// TestLatencyOverTheTopBucketLandsInTheLastSlot: 60 s exactly is the top
// bucket; anything longer goes to the slot after it.
func TestLatencyOverTheTopBucketLandsInTheLastSlot(t *testing.T) {
	cfg := testConfig()
	cfg.QueryTimeout = 5 * time.Minute
	h := newHarness(t, cfg)
	h.start(1)
	top := len(LatencyBuckets) - 1
	if LatencyBuckets[top] != time.Minute {
		t.Fatalf("top bucket %v, want 1m", LatencyBuckets[top])
	}
	for _, d := range []time.Duration{time.Minute, time.Minute + time.Nanosecond, 10 * time.Minute} {
		cfg.QueryTimeout = 2 * d
		h.step(Event{Kind: EvReconfigure, Config: &cfg})
		ch := h.ask(ClientID(d), q16)
		h.run(d)
		h.reply(ch, 200, "x\n")
	}
	st := h.s.Snapshot().Stats
	if st.Latency[top] != 1 || st.Latency[top+1] != 2 {
		t.Fatalf("latency slots %v, want 1 at 60 s and 2 over it", st.Latency)
	}
	if want := 2*time.Minute + time.Nanosecond + 10*time.Minute; st.LatencySum != want {
		t.Fatalf("latency sum %v, want %v", st.LatencySum, want)
	}
}

// heartbeatChannel sends the periodic heartbeat and returns its channel.
func (h *harness) heartbeatChannel() ChannelID {
	h.t.Helper()
	h.tickTo()
	for _, info := range h.s.Snapshot().Channels {
		if info.State == ChanHeartbeat {
			h.takeUp(info.ID)
			return info.ID
		}
	}
	h.t.Fatal("no heartbeat sent")
	return 0
}

// TestHeartbeatAnswerIsReadToOneKiB: program_start is read from the first
// 1024 bytes of a heartbeat answer; the rest is skipped.
func TestHeartbeatAnswerIsReadToOneKiB(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(100)
	body := strings.Repeat(" ", 1024-len("1764600000")) + "1764600000" + "junk\n"
	h.reply(h.heartbeatChannel(), 200, body)
	if ps := h.s.Snapshot().ProgramStart; ps != 1764600000 {
		t.Fatalf("program_start %d, want the number that ends at byte 1024", ps)
	}
}

func TestProgramStartZeroIsIgnored(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(100)
	h.reply(h.heartbeatChannel(), 200, "0\n") // Icinga, right after its start
	for _, a := range h.acts {
		if a.Kind == ActLog && strings.Contains(a.Text, "restarted") {
			t.Fatalf("program_start 0 taken as a restart: %q", a.Text)
		}
	}
	if ps := h.s.Snapshot().ProgramStart; ps != 100 {
		t.Fatalf("program_start %d after an answer of 0, want 100 kept", ps)
	}
}

// TestTypicalRTTMovesAnEighthTowardsEachSample: the first heartbeat sets
// the typical round trip, each later one moves it by an eighth of the
// difference, and the heartbeat timeout follows at +50 %.
func TestTypicalRTTMovesAnEighthTowardsEachSample(t *testing.T) {
	cfg := testConfig()
	cfg.Channels = 1
	h := newHarness(t, cfg)
	ch := h.dial[0]
	h.connect(ch)
	h.now = h.now.Add(1600 * time.Millisecond)
	h.reply(ch, 200, "1\n")
	hb := h.heartbeatChannel()
	h.now = h.now.Add(2400 * time.Millisecond)
	h.reply(hb, 200, "1\n")
	snap := h.s.Snapshot()
	if snap.TypicalRTT != 1700*time.Millisecond || snap.HeartbeatTimeout != 2550*time.Millisecond {
		t.Fatalf("rtt %v timeout %v, want 1.7s (1.6s + 0.8s/8) and 2.55s", snap.TypicalRTT, snap.HeartbeatTimeout)
	}
	h.heartbeatChannel() // left unanswered
	h.tick(2550*time.Millisecond - time.Nanosecond)
	if st := h.s.Snapshot().State; st != SiteAlive {
		t.Fatalf("site %s before the adaptive timeout", st)
	}
	h.tick(time.Nanosecond)
	if st := h.s.Snapshot().State; st != SiteDead {
		t.Fatalf("site %s at the adaptive timeout of 2.55 s", st)
	}
	if n := h.s.Snapshot().Stats.HeartbeatsLost; n != 1 {
		t.Fatalf("HeartbeatsLost %d, want 1", n)
	}
}

// TestStreamedAnswerFollowedByMoreBytesClosesTheChannel: the client gets
// its answer; bytes after it in the same read leave the channel out of
// step, so it is closed, not reused.
func TestStreamedAnswerFollowedByMoreBytesClosesTheChannel(t *testing.T) {
	h, ch := inFlight(t, streamConfig(), q16)
	resp := answer(200, strings.Repeat("x", 2000))
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: resp[:1000]})
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: append(resp[1000:len(resp):len(resp)], '2')})
	h.expectOut(1, string(resp), false)
	if !h.gone[ch] || h.s.channel(ch) != nil {
		t.Fatal("channel with bytes after its answer kept")
	}
	st := h.s.Snapshot().Stats
	fromSite := 2*len(answer(200, "1\n")) + len(resp) + 1 // two probes answered, the answer, the stray byte
	if st.QueriesOK != 1 || st.BytesToClients != uint64(len(resp)) || st.BytesFromSite != uint64(fromSite) {
		t.Fatalf("QueriesOK %d, bytes to clients %d, from the site %d; want 1, %d, %d",
			st.QueriesOK, st.BytesToClients, st.BytesFromSite, len(resp), fromSite)
	}
}

func TestHeartbeatAnswerFollowedByMoreBytesClosesTheChannel(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	hb := h.heartbeatChannel()
	h.step(Event{Kind: EvChannelData, Channel: hb, Data: append(answer(200, "1\n"), "x"...)})
	if !h.gone[hb] {
		t.Fatal("channel with bytes after its heartbeat answer kept")
	}
	if st := h.s.Snapshot(); st.State != SiteAlive || st.Stats.Heartbeats != 3 {
		t.Fatalf("site %s with %d heartbeats, want alive with 3", st.State, st.Stats.Heartbeats)
	}
}

func TestGarbageFromTheSiteAtStartupMakesItDead(t *testing.T) {
	h := newHarness(t, testConfig())
	for _, ch := range h.dial {
		h.connect(ch)
	}
	h.step(Event{Kind: EvChannelData, Channel: h.dial[0], Data: []byte("HTTP/1.1 400 Bad Request\r\n\r\n")})
	snap := h.s.Snapshot()
	if snap.State != SiteDead || snap.LastError != `invalid response: fixed16 header: bad status "HTT"` {
		t.Fatalf("site %s (%q) after garbage on its only answer", snap.State, snap.LastError)
	}
}

func TestReconfigureToFewerChannelsClosesExactlyTheSurplus(t *testing.T) {
	cfg := testConfig()
	cfg.Channels = 4
	h := newHarness(t, cfg)
	h.start(1)
	cfg.Channels = 3
	h.step(Event{Kind: EvReconfigure, Config: &cfg})
	var ids []ChannelID
	for _, info := range h.s.Snapshot().Channels {
		ids = append(ids, info.ID)
	}
	if fmt.Sprint(ids) != "[1 2 3]" {
		t.Fatalf("channels %v after 4 -> 3, want [1 2 3] (the newest closed)", ids)
	}
}

// TestShrunkPoolTriesToGrowAtExactlyCapacityRetry: nothing else is due
// (heartbeats are far apart), so the site must ask for a tick at the
// capacity retry itself.
func TestShrunkPoolTriesToGrowAtExactlyCapacityRetry(t *testing.T) {
	cfg := testConfig()
	cfg.HeartbeatInterval = time.Hour
	h := newHarness(t, cfg)
	h.connect(1)
	h.connect(2)
	h.takeUp(1)
	h.reply(1, 200, "1\n") // channel 2 never gets an answer: no thread for it
	h.tickTo()
	shrunk := h.now
	if st := h.s.Snapshot(); st.Target != 1 || len(st.Channels) != 1 {
		t.Fatalf("target %d with %d channels, want a pool shrunk to 1", st.Target, len(st.Channels))
	}
	if next, ok := h.s.NextDeadline(); !ok || !next.Equal(shrunk.Add(60*time.Second)) {
		t.Fatalf("next deadline +%v after the shrink, want the capacity retry +60s", next.Sub(shrunk))
	}
	h.tickTo()
	if len(h.dial) != 3 {
		t.Fatalf("%d dials at the capacity retry, want one more", len(h.dial)-2)
	}
}

// TestZeroByteWriteIsNoProgressOfAPausedClient: a client that reads
// nothing is dropped QueryTimeout after its channel paused, however often
// the driver reports writes of no bytes.
func TestZeroByteWriteIsNoProgressOfAPausedClient(t *testing.T) {
	h, ch := inFlight(t, streamConfig(), q16) // QueryTimeout 20 s
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: answer(200, strings.Repeat("x", 5000))[:2000]})
	if !h.has(ActPauseChannel, ch) {
		t.Fatal("not paused")
	}
	h.run(10 * time.Second)
	before := h.s.Memory()
	h.step(Event{Kind: EvClientWritten, Client: 1, N: 0})
	if after := h.s.Memory(); after != before {
		t.Fatalf("a write of 0 bytes changed the memory held from %+v to %+v", before, after)
	}
	h.run(10*time.Second - time.Nanosecond)
	if h.shut[1] {
		t.Fatal("client dropped before QueryTimeout")
	}
	h.run(time.Nanosecond)
	if !h.shut[1] {
		t.Fatal("a write of 0 bytes counted as the client's progress")
	}
}

// TestOneByteWriteIsProgressOfAPausedClient: a client that reads even one
// byte gets QueryTimeout again from then.
func TestOneByteWriteIsProgressOfAPausedClient(t *testing.T) {
	h, ch := inFlight(t, streamConfig(), q16) // QueryTimeout 20 s
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: answer(200, strings.Repeat("x", 5000))[:2000]})
	if !h.has(ActPauseChannel, ch) {
		t.Fatal("not paused")
	}
	h.run(10 * time.Second)
	h.step(Event{Kind: EvClientWritten, Client: 1, N: 1})
	h.run(20*time.Second - time.Nanosecond)
	if h.shut[1] {
		t.Fatal("a client that read a byte was dropped before QueryTimeout from then")
	}
	h.run(time.Nanosecond)
	if !h.shut[1] {
		t.Fatal("client not dropped QueryTimeout after its last read")
	}
}

// TestPipelinedInputUpToMaxQueryBytesWaitsOneMoreCutsTheClientOff: behind
// a pending query a client may send MaxQueryBytes bytes; one more is a
// flood and the client is closed.
func TestPipelinedInputUpToMaxQueryBytesWaitsOneMoreCutsTheClientOff(t *testing.T) {
	h, _ := inFlight(t, testConfig(), q16) // MaxQueryBytes 4096
	h.send(1, strings.Repeat("x", 4096))
	if h.shut[1] {
		t.Fatal("client with exactly MaxQueryBytes pipelined cut off")
	}
	h.send(1, "x")
	if !h.shut[1] {
		t.Fatal("client with MaxQueryBytes+1 pipelined not cut off")
	}
}
