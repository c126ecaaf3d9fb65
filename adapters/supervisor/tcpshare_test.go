package supervisor_test

import (
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"liveproxyd/adapters/config"
	"liveproxyd/adapters/supervisor"
	"liveproxyd/internal/fakesite"
	"liveproxyd/internal/testutil"
	"liveproxyd/livestatus"
)

// ask sends req on nc and reads one fixed16 answer.
func ask(t *testing.T, nc net.Conn, req string) (livestatus.Header, string) {
	t.Helper()
	nc.SetDeadline(time.Now().Add(testutil.HangGuard))
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	h, body, err := livestatus.ReadAnswer(nc)
	if err != nil {
		t.Fatal(err)
	}
	return h, string(body)
}

// TCP clients reach the one site loop that serves the UNIX socket, not a
// loop of their own: a "Cache: reload" query asked over UNIX is a cache hit
// when asked again over TCP, and while a UNIX client's query holds the
// site's only channel a TCP client gets Checkmk's busy answer.
func TestTCPClientsShareTheSiteChannelsAndCache(t *testing.T) {
	root := testutil.ShortDir(t)
	// Every query takes 1.5 s at the site, so a query in flight holds the
	// channel far longer than the next one's 100 ms channel timeout, even
	// on a loaded machine.
	site, err := fakesite.Listen("unix", filepath.Join(testutil.ShortDir(t), "live"),
		fakesite.Options{ProgramStart: 4242, Latency: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { site.Close() })
	sup := newSupervisor(t, root, slog.New(slog.DiscardHandler))
	port := testutil.FreePort(t)
	cfg := withTCP(siteConfig("s1", site, 1), port, false)
	cfg.Core.ChannelTimeout = 100 * time.Millisecond
	cfg.Core.Cache = true // the core runs the cache; Site.Cache only mirrors it
	// No periodic heartbeat during the test: one would hold the only
	// channel for the site's 1.5 s.
	cfg.Core.HeartbeatInterval = time.Minute
	cfg.Core.HeartbeatTimeoutMin = 10 * time.Second
	if err := sup.Apply(&config.Config{Sites: []config.Site{cfg}}); err != nil {
		t.Fatal(err)
	}
	waitAlive(t, sup, "s1")
	unixClient := dial(t, supervisor.SocketPath(root, "s1"))
	tcpClient := mustDialTCP(t, port)

	const cached = "GET hosts\nColumns: name\nCache: reload\nResponseHeader: fixed16\nKeepAlive: on\n\n"
	h, fromSite := ask(t, unixClient, cached)
	if h.Code != 200 || fromSite == "" {
		t.Fatalf("cacheable query over UNIX: %d %q", h.Code, fromSite)
	}
	queries := site.Stats().Queries
	h, fromCache := ask(t, tcpClient, cached)
	if h.Code != 200 || fromCache != fromSite {
		t.Errorf("the same query over TCP: %d %q, want the UNIX client's answer %q", h.Code, fromCache, fromSite)
	}
	if st := stateOf(t, sup, "s1"); st.Counters.CacheHits != 1 || st.Counters.CacheMisses != 1 || site.Stats().Queries != queries {
		t.Errorf("cache hits %d misses %d, site queries %d → %d; want the TCP query answered from the UNIX query's entry",
			st.Counters.CacheHits, st.Counters.CacheMisses, queries, site.Stats().Queries)
	}

	const status = "GET status\nColumns: program_start\nResponseHeader: fixed16\nKeepAlive: on\n\n"
	unixClient.SetDeadline(time.Now().Add(testutil.HangGuard))
	if _, err := io.WriteString(unixClient, status); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the UNIX client's query on the channel", func() bool {
		return stateOf(t, sup, "s1").ClientsInFlight == 1
	})
	h, busy := ask(t, tcpClient, status)
	if want := "All 1 channels busy, timeout waiting for free channel."; h.Code != 503 || strings.TrimSpace(busy) != want {
		t.Errorf("TCP client while the UNIX client holds the only channel: %d %q, want 503 %q", h.Code, busy, want)
	}
	if h, body, err := livestatus.ReadAnswer(unixClient); err != nil || h.Code != 200 || strings.TrimSpace(string(body)) != "4242" {
		t.Errorf("the UNIX client's query: %d %q %v, want 200 4242", h.Code, body, err)
	}
}
