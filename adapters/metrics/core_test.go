package metrics

import (
	"sync"
	"testing"
	"time"

	"liveproxyd/core"
	"liveproxyd/internal/testutil"
	"liveproxyd/livestatus"
)

// liveSite drives a real core.Site by hand, as the daemon's site loop
// would, and records what the driver would have to do. The mutex stands in
// for the loop's ownership: the scrape reads snapshots from another
// goroutine.
type liveSite struct {
	t       *testing.T
	mu      sync.Mutex
	s       *core.Site
	now     time.Time
	dials   []core.ChannelID
	up      map[core.ChannelID][]byte // written to each channel
	toUser  map[core.ClientID][]byte  // written to each client
	closed  map[core.ClientID]bool
	fromNet uint64 // bytes the test fed in as channel data
}

func newLiveSite(t *testing.T, cfg core.Config) *liveSite {
	return &liveSite{t: t, s: core.NewSite(cfg), now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		up: map[core.ChannelID][]byte{}, toUser: map[core.ClientID][]byte{}, closed: map[core.ClientID]bool{}}
}

func (l *liveSite) snapshots() []core.Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return []core.Snapshot{l.s.Snapshot()}
}

func (l *liveSite) step(ev core.Event) {
	l.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	ev.Now = l.now
	if ev.Kind == core.EvChannelData {
		l.fromNet += uint64(len(ev.Data))
	}
	for _, a := range l.s.Step(ev) {
		switch a.Kind {
		case core.ActDial:
			l.dials = append(l.dials, a.Channel)
		case core.ActWriteChannel:
			l.up[a.Channel] = append(l.up[a.Channel], a.Data...)
		case core.ActWriteClient:
			l.toUser[a.Client] = append(l.toUser[a.Client], a.Data...)
		case core.ActCloseClient:
			l.closed[a.Client] = true
		}
	}
	if err := l.s.CheckInvariants(); err != nil {
		l.t.Fatalf("core invariant after %v: %v", ev.Kind, err)
	}
}

func (l *liveSite) advance(d time.Duration) { l.now = l.now.Add(d) }

func (l *liveSite) reply(ch core.ChannelID, body string) {
	l.step(core.Event{Kind: core.EvChannelData, Channel: ch,
		Data: append(livestatus.FormatHeader(200, int64(len(body))), body...)})
}

// writtenTo returns and clears what the core wrote on a channel.
func (l *liveSite) writtenTo(ch core.ChannelID) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := string(l.up[ch])
	l.up[ch] = nil
	return s
}

func TestScrapeRealSiteThroughItsLife(t *testing.T) {
	const rtt = 10 * time.Millisecond
	l := newLiveSite(t, core.Config{Name: "s1", Channels: 2, HeartbeatInterval: 3 * time.Second,
		HeartbeatTimeoutMin: 2 * time.Second, ConnectRetry: 4 * time.Second})
	url := serveSnapshots(t, l.snapshots)

	// Start: the site dials its channels; nothing is proven yet.
	l.step(core.Event{Kind: core.EvTick})
	if len(l.dials) != 2 {
		t.Fatalf("dials %v, want 2", l.dials)
	}
	expectSamples(t, testutil.Scrape(t, url), map[string]float64{
		`liveproxyd_site_up{site="s1"}`:                      0,
		`liveproxyd_site_state{site="s1",state="starting"}`:  1,
		`liveproxyd_channels{site="s1",state="connecting"}`:  2,
		`liveproxyd_channels_target{site="s1"}`:              2,
		`liveproxyd_heartbeats_total{result="ok",site="s1"}`: 0,
		`liveproxyd_heartbeat_timeout_seconds{site="s1"}`:    2,
	})
	if _, ok := testutil.Scrape(t, url)[`liveproxyd_heartbeat_rtt_seconds{site="s1"}`]; ok {
		t.Fatal("RTT exported before any heartbeat was answered")
	}

	// Connect both channels and answer each probe after rtt.
	for _, ch := range l.dials {
		l.step(core.Event{Kind: core.EvChannelConnected, Channel: ch})
		if l.writtenTo(ch) == "" {
			t.Fatalf("no probe on channel %d", ch)
		}
	}
	l.advance(rtt)
	for _, ch := range l.dials {
		l.reply(ch, "1700000000\n")
	}
	expectSamples(t, testutil.Scrape(t, url), map[string]float64{
		`liveproxyd_site_up{site="s1"}`:                      1,
		`liveproxyd_site_state{site="s1",state="alive"}`:     1,
		`liveproxyd_site_state{site="s1",state="starting"}`:  0,
		`liveproxyd_channels{site="s1",state="free"}`:        2,
		`liveproxyd_channels{site="s1",state="connecting"}`:  0,
		`liveproxyd_heartbeats_total{result="ok",site="s1"}`: 2,
		`liveproxyd_heartbeat_rtt_seconds{site="s1"}`:        rtt.Seconds(), // every sample was rtt
	})

	// A plain query: in flight, then answered and the client closed.
	l.step(core.Event{Kind: core.EvClientAccepted, Client: 1})
	l.step(core.Event{Kind: core.EvClientData, Client: 1, Data: []byte("GET hosts\nColumns: name\n\n")})
	var busy core.ChannelID
	for _, ch := range l.dials {
		if l.writtenTo(ch) != "" {
			busy = ch
		}
	}
	if busy == 0 {
		t.Fatal("query not forwarded")
	}
	expectSamples(t, testutil.Scrape(t, url), map[string]float64{
		`liveproxyd_clients{site="s1",state="inflight"}`: 1,
		`liveproxyd_channels{site="s1",state="busy"}`:    1,
		`liveproxyd_channels{site="s1",state="free"}`:    1,
	})
	const body = "h1\nh2\n"
	l.advance(20 * time.Millisecond) // the site takes 20 ms: the 0.025 s bucket
	l.reply(busy, body)
	if got := string(l.toUser[1]); got != body || !l.closed[1] {
		t.Fatalf("client got %q (closed %v)", got, l.closed[1])
	}
	expectSamples(t, testutil.Scrape(t, url), map[string]float64{
		`liveproxyd_clients{site="s1",state="inflight"}`:                 0,
		`liveproxyd_queries_total{outcome="ok",site="s1"}`:               1,
		`liveproxyd_queries_total{outcome="site_dead",site="s1"}`:        0,
		`liveproxyd_bytes_from_site_total{site="s1"}`:                    float64(l.fromNet),
		`liveproxyd_bytes_to_clients_total{site="s1"}`:                   float64(len(l.toUser[1])),
		`liveproxyd_channels{site="s1",state="free"}`:                    2,
		`liveproxyd_heartbeats_total{result="lost",site="s1"}`:           0,
		`liveproxyd_queries_total{outcome="channels_busy",site="s1"}`:    0,
		`liveproxyd_query_duration_seconds_count{site="s1"}`:             1,
		`liveproxyd_query_duration_seconds_sum{site="s1"}`:               0.02,
		`liveproxyd_query_duration_seconds_bucket{site="s1",le="0.01"}`:  0,
		`liveproxyd_query_duration_seconds_bucket{site="s1",le="0.025"}`: 1,
	})

	// The site falls silent: the next heartbeats go unanswered until the
	// site is declared dead; a query then gets a 502 at once. Ticks follow
	// the site's own deadlines, bounded in number.
	for i := 0; i < 100 && l.snapshots()[0].State == core.SiteAlive; i++ {
		if next, ok := l.s.NextDeadline(); ok && next.After(l.now) {
			l.now = next
		}
		l.step(core.Event{Kind: core.EvTick})
	}
	if st := l.snapshots()[0].State; st != core.SiteDead {
		t.Fatalf("site %s after silence", st)
	}
	l.step(core.Event{Kind: core.EvClientAccepted, Client: 2})
	l.step(core.Event{Kind: core.EvClientData, Client: 2, Data: []byte("GET hosts\n\n")})
	if !l.closed[2] {
		t.Fatal("query to a dead site not answered at once")
	}
	got := testutil.Scrape(t, url)
	expectSamples(t, got, map[string]float64{
		`liveproxyd_site_up{site="s1"}`:                           0,
		`liveproxyd_site_state{site="s1",state="dead"}`:           1,
		`liveproxyd_site_state{site="s1",state="alive"}`:          0,
		`liveproxyd_queries_total{outcome="ok",site="s1"}`:        1,
		`liveproxyd_queries_total{outcome="site_dead",site="s1"}`: 1,
		`liveproxyd_bytes_to_clients_total{site="s1"}`:            float64(len(l.toUser[1]) + len(l.toUser[2])),
		// The 502 is answered at once: it lands in the first bucket.
		`liveproxyd_query_duration_seconds_count{site="s1"}`:              2,
		`liveproxyd_query_duration_seconds_bucket{site="s1",le="0.0005"}`: 1,
		`liveproxyd_query_duration_seconds_bucket{site="s1",le="0.025"}`:  2,
	})
	if lost := got[`liveproxyd_heartbeats_total{result="lost",site="s1"}`]; lost < 1 {
		t.Fatalf("heartbeats lost %v, want at least 1", lost)
	}
	// The snapshot and the scrape agree on every channel.
	snap := l.snapshots()[0]
	total := 0.0
	for _, st := range []string{"connecting", "probing", "free", "busy", "heartbeat"} {
		total += got[`liveproxyd_channels{site="s1",state="`+st+`"}`]
	}
	if total != float64(len(snap.Channels)) {
		t.Fatalf("channels exported %v, snapshot has %d", total, len(snap.Channels))
	}
}
