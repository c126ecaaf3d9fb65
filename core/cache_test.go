package core

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func cacheHarness(t *testing.T) *harness {
	cfg := testConfig()
	cfg.Cache = true
	h := newHarness(t, cfg)
	h.start(100)
	return h
}

// ask sends a query and returns the channel it went out on, or 0 when it
// was answered without one.
func (h *harness) ask(c ClientID, q string) ChannelID {
	h.t.Helper()
	h.accept(c)
	h.send(c, q)
	for _, info := range h.s.Snapshot().Channels {
		if info.Client == c {
			h.takeUp(info.ID)
			return info.ID
		}
	}
	return 0
}

const cq = "GET hostgroups\nCache: reload\nAuthUser: alice\nResponseHeader: fixed16\n\n"

func TestCacheAnswersRepeatedQueryOfSameUser(t *testing.T) {
	h := cacheHarness(t)
	ch := h.ask(1, cq)
	if ch == 0 {
		t.Fatal("first query not forwarded")
	}
	h.reply(ch, 200, "linux;Linux\n")
	fresh := h.buf(1).String()
	if h.ask(2, cq) != 0 {
		t.Fatal("repeated query forwarded instead of answered from the cache")
	}
	if got := h.buf(2).String(); got != fresh || !h.shut[2] {
		t.Fatalf("cached %q (closed %v), fresh %q", got, h.shut[2], fresh)
	}
	// Another user, or a client without fixed16.
	if h.ask(3, "GET hostgroups\nCache: reload\nAuthUser: bob\nResponseHeader: fixed16\n\n") == 0 {
		t.Fatal("answer of alice served to bob")
	}
	if h.ask(4, "GET hostgroups\nCache: reload\nAuthUser: alice\n\n") != 0 {
		t.Fatal("plain client of the same query not served from the cache")
	}
	h.expectOut(4, "linux;Linux\n", true)
	st := h.s.Snapshot()
	if st.Stats.CacheHits != 2 || st.Stats.CacheMisses != 2 || st.CacheEntries != 1 {
		t.Fatalf("stats %+v entries %d", st.Stats, st.CacheEntries)
	}
}

func TestCacheDroppedOnRestartAndDeath(t *testing.T) {
	h := cacheHarness(t)
	h.reply(h.ask(1, cq), 200, "x\n")
	h.tickTo() // periodic heartbeat: the core restarted
	for _, info := range h.s.Snapshot().Channels {
		if info.State == ChanHeartbeat {
			h.takeUp(info.ID)
			h.reply(info.ID, 200, "101\n")
		}
	}
	if h.s.Snapshot().CacheEntries != 0 || h.ask(2, cq) == 0 {
		t.Fatal("cache survived a new program_start")
	}
	h.reply(h.busyChannel(2), 200, "y\n")
	if h.s.Snapshot().CacheEntries != 1 {
		t.Fatal("answer after the restart not cached")
	}
	// The site goes away: every connection breaks, every redial fails.
	for i := 0; i < 10 && h.s.Snapshot().State != SiteDead; i++ {
		for _, info := range h.s.Snapshot().Channels {
			h.step(Event{Kind: EvChannelClosed, Channel: info.ID, Err: "reset"})
		}
	}
	if h.s.Snapshot().State != SiteDead || h.s.Snapshot().CacheEntries != 0 {
		t.Fatal("cache survived the death of the site")
	}
}

func TestCacheOffOrErrorAnswersNeverCached(t *testing.T) {
	h := newHarness(t, testConfig()) // Cache off
	h.start(1)
	h.reply(h.ask(1, cq), 200, "x\n")
	if h.ask(2, cq) == 0 {
		t.Fatal("cache used although switched off")
	}
	h = cacheHarness(t)
	h.reply(h.ask(1, cq), 404, "no such table\n")
	if h.ask(2, cq) == 0 {
		t.Fatal("error answer cached")
	}
}

func TestCacheLRUBounds(t *testing.T) {
	c := newQueryCache(2, 400)
	c.put("a", make([]byte, 50))
	c.put("b", make([]byte, 50))
	c.get("a")
	c.put("c", make([]byte, 50)) // evicts b, the least recently used
	if _, ok := c.get("b"); ok || c.len() != 2 {
		t.Fatalf("LRU kept b (len %d)", c.len())
	}
	c.put("big", make([]byte, 101)) // over a quarter of the bytes: refused
	if _, ok := c.get("big"); ok {
		t.Fatal("oversized answer cached")
	}
	c.put("d", make([]byte, 100))
	c.put("e", make([]byte, 100))
	if c.bytes > 400 || c.len() > 2 {
		t.Fatalf("bytes %d entries %d", c.bytes, c.len())
	}
}

func TestLatencyHistogramCountsAnsweredQueries(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	ch := h.ask(1, q16)
	h.now = h.now.Add(30 * time.Millisecond)
	h.reply(ch, 200, "x")
	h.ask(2, q16)
	h.run(21 * time.Second) // the site never answers client 2: 504 after 20 s
	st := h.s.Snapshot().Stats
	// 30 ms falls in the (25 ms, 50 ms] bucket, 20 s in (10 s, 30 s].
	if st.Latency[6] != 1 || st.Latency[14] != 1 || st.LatencySum != 30*time.Millisecond+20*time.Second {
		t.Fatalf("latency %v sum %v", st.Latency, st.LatencySum)
	}
}

// guiQuery is a query exactly as Checkmk's GUI (livestatus.py) sends it:
// AuthUser, Localtime (epoch now), OutputFormat, KeepAlive, ResponseHeader
// appended, and Cache: reload where caching is allowed.
func guiQuery(user string, now int) string {
	return fmt.Sprintf("GET hosts\nColumns: name\nAuthUser: %s\nLocaltime: %d\nOutputFormat: python\nKeepAlive: on\nResponseHeader: fixed16\nCache: reload\n\n", user, now)
}

// TestCacheHitsAcrossLocaltime: the GUI's Localtime line changes every
// second; the same query a little later must still be a cache hit, and
// another AuthUser still a miss.
func TestCacheHitsAcrossLocaltime(t *testing.T) {
	h := cacheHarness(t)
	h.accept(1)
	h.send(1, guiQuery("u", 1764600000))
	ch := h.busyChannel(1)
	if got := h.takeUp(ch); !strings.Contains(got, "\nLocaltime: 1764600000\n") {
		t.Fatalf("Localtime not forwarded: %q", got)
	}
	h.reply(ch, 200, "[['h1']]\n")
	fresh := h.buf(1).String()
	h.send(1, guiQuery("u", 1764600007))
	if got := h.buf(1).String(); got != fresh+fresh {
		t.Fatalf("later Localtime not served from the cache: %q", got)
	}
	if h.ask(2, guiQuery("v", 1764600007)) == 0 {
		t.Fatal("answer of user u served to user v")
	}
	if st := h.s.Snapshot(); st.Stats.CacheHits != 1 || st.CacheEntries != 1 {
		t.Fatalf("hits %d entries %d", st.Stats.CacheHits, st.CacheEntries)
	}
}
