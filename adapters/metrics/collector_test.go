package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"liveproxyd/core"
)

// fakeSnapshots returns two sites with distinct numbers in every field, so
// a value that lands in the wrong series shows up.
func fakeSnapshots() []core.Snapshot {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return []core.Snapshot{
		{
			Name: "alpha", State: core.SiteAlive, Since: t0, Target: 4,
			Channels: []core.ChannelInfo{
				{ID: 1, State: core.ChanFree}, {ID: 2, State: core.ChanBusy, Client: 7},
				{ID: 3, State: core.ChanBusy, Client: 8}, {ID: 4, State: core.ChanHeartbeat},
			},
			ClientsReading: 3, ClientsWaiting: 1, ClientsInFlight: 2,
			TypicalRTT: 1500 * time.Microsecond, HeartbeatTimeout: 2 * time.Second,
			ProgramStart: 1700000000, CacheEntries: 5,
			Stats: core.Stats{
				QueriesOK: 101, QueriesDead: 2, QueriesBusy: 3, QueriesTimeout: 4, QueriesBad: 5,
				QueriesGone: 6, Commands: 7, Heartbeats: 80, HeartbeatsLost: 9, ConnectFailures: 10,
				CacheHits: 11, CacheMisses: 12, BytesFromSite: 123456, BytesToClients: 654321,
				// Per bucket, not cumulative: 3 queries ≤ 0.5 ms, 2 in
				// (2.5 ms, 5 ms], 4 in (1 s, 2.5 s], 1 over the last bound.
				Latency:    latency(map[int]uint64{0: 3, 3: 2, 11: 4, 16: 1}),
				LatencySum: 90*time.Second + 500*time.Millisecond,
			},
		},
		{
			// Never answered: no RTT yet, so no RTT series.
			Name: "beta", State: core.SiteDead, Since: t0, Target: 2,
			Channels:         []core.ChannelInfo{{ID: 5, State: core.ChanConnecting}},
			HeartbeatTimeout: 3 * time.Second,
			Stats:            core.Stats{QueriesDead: 17, HeartbeatsLost: 1, ConnectFailures: 42},
		},
	}
}

// latency builds core.Stats.Latency from counts by bucket index.
func latency(counts map[int]uint64) (out [len(core.LatencyBuckets) + 1]uint64) {
	for i, n := range counts {
		out[i] = n
	}
	return out
}

const wantFake = `
# HELP liveproxyd_site_up 1 if the site answers heartbeats, else 0.
# TYPE liveproxyd_site_up gauge
liveproxyd_site_up{site="alpha"} 1
liveproxyd_site_up{site="beta"} 0
# HELP liveproxyd_site_state 1 for the state the site is in, 0 for the others.
# TYPE liveproxyd_site_state gauge
liveproxyd_site_state{site="alpha",state="alive"} 1
liveproxyd_site_state{site="alpha",state="dead"} 0
liveproxyd_site_state{site="alpha",state="starting"} 0
liveproxyd_site_state{site="alpha",state="stopped"} 0
liveproxyd_site_state{site="beta",state="alive"} 0
liveproxyd_site_state{site="beta",state="dead"} 1
liveproxyd_site_state{site="beta",state="starting"} 0
liveproxyd_site_state{site="beta",state="stopped"} 0
# HELP liveproxyd_channels Upstream channels by state.
# TYPE liveproxyd_channels gauge
liveproxyd_channels{site="alpha",state="busy"} 2
liveproxyd_channels{site="alpha",state="connecting"} 0
liveproxyd_channels{site="alpha",state="free"} 1
liveproxyd_channels{site="alpha",state="heartbeat"} 1
liveproxyd_channels{site="alpha",state="probing"} 0
liveproxyd_channels{site="beta",state="busy"} 0
liveproxyd_channels{site="beta",state="connecting"} 1
liveproxyd_channels{site="beta",state="free"} 0
liveproxyd_channels{site="beta",state="heartbeat"} 0
liveproxyd_channels{site="beta",state="probing"} 0
# HELP liveproxyd_channels_target Channels the site tries to keep open (shrinks below the configured number when the server has no capacity).
# TYPE liveproxyd_channels_target gauge
liveproxyd_channels_target{site="alpha"} 4
liveproxyd_channels_target{site="beta"} 2
# HELP liveproxyd_clients Client connections by what they are doing.
# TYPE liveproxyd_clients gauge
liveproxyd_clients{site="alpha",state="inflight"} 2
liveproxyd_clients{site="alpha",state="reading"} 3
liveproxyd_clients{site="alpha",state="waiting"} 1
liveproxyd_clients{site="beta",state="inflight"} 0
liveproxyd_clients{site="beta",state="reading"} 0
liveproxyd_clients{site="beta",state="waiting"} 0
# HELP liveproxyd_queries_total Client queries by how they were answered.
# TYPE liveproxyd_queries_total counter
liveproxyd_queries_total{outcome="bad_request",site="alpha"} 5
liveproxyd_queries_total{outcome="channels_busy",site="alpha"} 3
liveproxyd_queries_total{outcome="client_gone",site="alpha"} 6
liveproxyd_queries_total{outcome="ok",site="alpha"} 101
liveproxyd_queries_total{outcome="site_dead",site="alpha"} 2
liveproxyd_queries_total{outcome="timeout",site="alpha"} 4
liveproxyd_queries_total{outcome="bad_request",site="beta"} 0
liveproxyd_queries_total{outcome="channels_busy",site="beta"} 0
liveproxyd_queries_total{outcome="client_gone",site="beta"} 0
liveproxyd_queries_total{outcome="ok",site="beta"} 0
liveproxyd_queries_total{outcome="site_dead",site="beta"} 17
liveproxyd_queries_total{outcome="timeout",site="beta"} 0
# HELP liveproxyd_commands_total COMMAND requests forwarded to the site.
# TYPE liveproxyd_commands_total counter
liveproxyd_commands_total{site="alpha"} 7
liveproxyd_commands_total{site="beta"} 0
# HELP liveproxyd_heartbeats_total Heartbeats by result.
# TYPE liveproxyd_heartbeats_total counter
liveproxyd_heartbeats_total{result="lost",site="alpha"} 9
liveproxyd_heartbeats_total{result="ok",site="alpha"} 80
liveproxyd_heartbeats_total{result="lost",site="beta"} 1
liveproxyd_heartbeats_total{result="ok",site="beta"} 0
# HELP liveproxyd_connect_failures_total Failed attempts to open a channel.
# TYPE liveproxyd_connect_failures_total counter
liveproxyd_connect_failures_total{site="alpha"} 10
liveproxyd_connect_failures_total{site="beta"} 42
# HELP liveproxyd_heartbeat_rtt_seconds Typical heartbeat round trip time; absent until measured.
# TYPE liveproxyd_heartbeat_rtt_seconds gauge
liveproxyd_heartbeat_rtt_seconds{site="alpha"} 0.0015
# HELP liveproxyd_heartbeat_timeout_seconds Heartbeat timeout in force (grows with the typical round trip time).
# TYPE liveproxyd_heartbeat_timeout_seconds gauge
liveproxyd_heartbeat_timeout_seconds{site="alpha"} 2
liveproxyd_heartbeat_timeout_seconds{site="beta"} 3
# HELP liveproxyd_cache_hits_total Cacheable queries answered from the cache.
# TYPE liveproxyd_cache_hits_total counter
liveproxyd_cache_hits_total{site="alpha"} 11
liveproxyd_cache_hits_total{site="beta"} 0
# HELP liveproxyd_cache_misses_total Cacheable queries forwarded to the site.
# TYPE liveproxyd_cache_misses_total counter
liveproxyd_cache_misses_total{site="alpha"} 12
liveproxyd_cache_misses_total{site="beta"} 0
# HELP liveproxyd_cache_entries Answers held by the query cache.
# TYPE liveproxyd_cache_entries gauge
liveproxyd_cache_entries{site="alpha"} 5
liveproxyd_cache_entries{site="beta"} 0
# HELP liveproxyd_bytes_from_site_total Bytes read from the site's channels.
# TYPE liveproxyd_bytes_from_site_total counter
liveproxyd_bytes_from_site_total{site="alpha"} 123456
liveproxyd_bytes_from_site_total{site="beta"} 0
# HELP liveproxyd_bytes_to_clients_total Bytes written to clients.
# TYPE liveproxyd_bytes_to_clients_total counter
liveproxyd_bytes_to_clients_total{site="alpha"} 654321
liveproxyd_bytes_to_clients_total{site="beta"} 0
# HELP liveproxyd_query_duration_seconds Time from a complete client query to the end of its answer (by the site, the cache or a 502/503/504 of the proxy).
# TYPE liveproxyd_query_duration_seconds histogram
liveproxyd_query_duration_seconds_bucket{site="alpha",le="0.0005"} 3
liveproxyd_query_duration_seconds_bucket{site="alpha",le="0.001"} 3
liveproxyd_query_duration_seconds_bucket{site="alpha",le="0.0025"} 3
liveproxyd_query_duration_seconds_bucket{site="alpha",le="0.005"} 5
liveproxyd_query_duration_seconds_bucket{site="alpha",le="0.01"} 5
liveproxyd_query_duration_seconds_bucket{site="alpha",le="0.025"} 5
liveproxyd_query_duration_seconds_bucket{site="alpha",le="0.05"} 5
liveproxyd_query_duration_seconds_bucket{site="alpha",le="0.1"} 5
liveproxyd_query_duration_seconds_bucket{site="alpha",le="0.25"} 5
liveproxyd_query_duration_seconds_bucket{site="alpha",le="0.5"} 5
liveproxyd_query_duration_seconds_bucket{site="alpha",le="1"} 5
liveproxyd_query_duration_seconds_bucket{site="alpha",le="2.5"} 9
liveproxyd_query_duration_seconds_bucket{site="alpha",le="5"} 9
liveproxyd_query_duration_seconds_bucket{site="alpha",le="10"} 9
liveproxyd_query_duration_seconds_bucket{site="alpha",le="30"} 9
liveproxyd_query_duration_seconds_bucket{site="alpha",le="60"} 9
liveproxyd_query_duration_seconds_bucket{site="alpha",le="+Inf"} 10
liveproxyd_query_duration_seconds_sum{site="alpha"} 90.5
liveproxyd_query_duration_seconds_count{site="alpha"} 10
liveproxyd_query_duration_seconds_bucket{site="beta",le="0.0005"} 0
liveproxyd_query_duration_seconds_bucket{site="beta",le="0.001"} 0
liveproxyd_query_duration_seconds_bucket{site="beta",le="0.0025"} 0
liveproxyd_query_duration_seconds_bucket{site="beta",le="0.005"} 0
liveproxyd_query_duration_seconds_bucket{site="beta",le="0.01"} 0
liveproxyd_query_duration_seconds_bucket{site="beta",le="0.025"} 0
liveproxyd_query_duration_seconds_bucket{site="beta",le="0.05"} 0
liveproxyd_query_duration_seconds_bucket{site="beta",le="0.1"} 0
liveproxyd_query_duration_seconds_bucket{site="beta",le="0.25"} 0
liveproxyd_query_duration_seconds_bucket{site="beta",le="0.5"} 0
liveproxyd_query_duration_seconds_bucket{site="beta",le="1"} 0
liveproxyd_query_duration_seconds_bucket{site="beta",le="2.5"} 0
liveproxyd_query_duration_seconds_bucket{site="beta",le="5"} 0
liveproxyd_query_duration_seconds_bucket{site="beta",le="10"} 0
liveproxyd_query_duration_seconds_bucket{site="beta",le="30"} 0
liveproxyd_query_duration_seconds_bucket{site="beta",le="60"} 0
liveproxyd_query_duration_seconds_bucket{site="beta",le="+Inf"} 0
liveproxyd_query_duration_seconds_sum{site="beta"} 0
liveproxyd_query_duration_seconds_count{site="beta"} 0
`

func TestCollectorExportsEverySnapshotField(t *testing.T) {
	c := NewCollector(fakeSnapshots)
	if err := promtest.CollectAndCompare(c, strings.NewReader(wantFake)); err != nil {
		t.Fatal(err)
	}
	// CollectAndCompare with no names compares every family: make sure no
	// family beyond the expected ones is produced either. A histogram is
	// one metric but several lines: count its _count line only.
	want := strings.Count(wantFake, "\nliveproxyd_") - strings.Count(wantFake, "_bucket{") - strings.Count(wantFake, "_sum{")
	if n := promtest.CollectAndCount(c); n != want {
		t.Fatalf("collected %d samples, want %d", n, want)
	}
}

func TestCollectorPassesLint(t *testing.T) {
	problems, err := promtest.CollectAndLint(NewCollector(fakeSnapshots))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestCollectorReadsFreshSnapshotsEachScrape(t *testing.T) {
	ok := uint64(0)
	snaps := func() []core.Snapshot {
		ok++
		return []core.Snapshot{{Name: "s", State: core.SiteAlive, Stats: core.Stats{QueriesOK: ok}}}
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(snaps))
	for want := 1.0; want <= 3; want++ {
		if got := gatherValue(t, reg, "liveproxyd_queries_total", "outcome", "ok"); got != want {
			t.Fatalf("scrape %v: ok queries = %v", want, got)
		}
	}
	if ok != 3 {
		t.Fatalf("snapshot function called %d times for 3 scrapes", ok)
	}
}

// gatherValue returns the value of the one sample of family name that has
// label key=value; it fails unless exactly one matches.
func gatherValue(t *testing.T, g prometheus.Gatherer, name, key, value string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var found []float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == key && lp.GetValue() == value {
					found = append(found, m.GetCounter().GetValue()+m.GetGauge().GetValue())
				}
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s{%s=%q}: %d samples", name, key, value, len(found))
	}
	return found[0]
}

func TestCollectorWithNoSitesExportsNothing(t *testing.T) {
	c := NewCollector(func() []core.Snapshot { return nil })
	if n := promtest.CollectAndCount(c); n != 0 {
		t.Fatalf("%d samples without sites", n)
	}
}

func TestCollectorSkipsDuplicateSiteNames(t *testing.T) {
	snaps := func() []core.Snapshot {
		return []core.Snapshot{
			{Name: "dup", State: core.SiteAlive, Target: 3},
			{Name: "dup", State: core.SiteDead, Target: 9},
		}
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(snaps))
	exp := `
# HELP liveproxyd_channels_target Channels the site tries to keep open (shrinks below the configured number when the server has no capacity).
# TYPE liveproxyd_channels_target gauge
liveproxyd_channels_target{site="dup"} 3
`
	if err := promtest.GatherAndCompare(reg, strings.NewReader(exp), "liveproxyd_channels_target"); err != nil {
		t.Fatal(err)
	}
}

func TestCollectorSurvivesInvalidSiteName(t *testing.T) {
	snaps := func() []core.Snapshot {
		return []core.Snapshot{{Name: "bad\xff", State: core.SiteAlive}, {Name: "good", State: core.SiteAlive}}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(snaps))
	mfs, err := reg.Gather()
	if err == nil {
		t.Fatal("an invalid label value must be reported by Gather")
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "liveproxyd_site_up" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				found = found || (lp.GetName() == "site" && lp.GetValue() == "good")
			}
		}
	}
	if !found {
		t.Fatalf("the valid site was lost with the invalid one: %v", mfs)
	}
}
