package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"liveproxyd/core"
)

// Namespace prefixes every metric of the daemon.
const Namespace = "liveproxyd"

// Query outcomes, the values of the "outcome" label of
// liveproxyd_queries_total.
const (
	OutcomeOK           = "ok"            // answered by the site (any status code)
	OutcomeSiteDead     = "site_dead"     // 502 from the proxy
	OutcomeChannelsBusy = "channels_busy" // 503 from the proxy
	OutcomeTimeout      = "timeout"       // 504 from the proxy
	OutcomeBadRequest   = "bad_request"   // 4xx from the proxy
	OutcomeClientGone   = "client_gone"   // client left before its answer was complete
)

// siteStates and channelStates are listed in full so every state is
// exported on every scrape, 0 when unused: a series that disappears would
// read as "unknown" rather than "zero" in alerts.
var (
	siteStates    = []core.SiteState{core.SiteStarting, core.SiteAlive, core.SiteDead, core.SiteStopped}
	channelStates = []core.ChannelState{core.ChanConnecting, core.ChanProbing, core.ChanFree, core.ChanBusy, core.ChanHeartbeat}
)

// Collector is a prometheus.Collector that reads a fresh set of site
// snapshots on every scrape.
type Collector struct {
	snapshots func() []core.Snapshot

	up, state, channels, target, clients               *prometheus.Desc
	queries, commands, heartbeats, connectFailures     *prometheus.Desc
	rtt, hbTimeout, cacheHits, cacheMisses, cacheItems *prometheus.Desc
	bytesFromSite, bytesToClients, duration            *prometheus.Desc
}

// NewCollector returns a Collector over snapshots. The function is called
// once per scrape from the HTTP server's goroutine, so it must be safe for
// concurrent use and should return promptly (give up on a site loop that
// does not answer rather than block the scrape).
func NewCollector(snapshots func() []core.Snapshot) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(Namespace+"_"+name, help, append([]string{"site"}, labels...), nil)
	}
	return &Collector{
		snapshots:       snapshots,
		up:              d("site_up", "1 if the site answers heartbeats, else 0."),
		state:           d("site_state", "1 for the state the site is in, 0 for the others.", "state"),
		channels:        d("channels", "Upstream channels by state.", "state"),
		target:          d("channels_target", "Channels the site tries to keep open (shrinks below the configured number when the server has no capacity)."),
		clients:         d("clients", "Client connections by what they are doing.", "state"),
		queries:         d("queries_total", "Client queries by how they were answered.", "outcome"),
		commands:        d("commands_total", "COMMAND requests forwarded to the site."),
		heartbeats:      d("heartbeats_total", "Heartbeats by result.", "result"),
		connectFailures: d("connect_failures_total", "Failed attempts to open a channel."),
		rtt:             d("heartbeat_rtt_seconds", "Typical heartbeat round trip time; absent until measured."),
		hbTimeout:       d("heartbeat_timeout_seconds", "Heartbeat timeout in force (grows with the typical round trip time)."),
		cacheHits:       d("cache_hits_total", "Cacheable queries answered from the cache."),
		cacheMisses:     d("cache_misses_total", "Cacheable queries forwarded to the site."),
		cacheItems:      d("cache_entries", "Answers held by the query cache."),
		bytesFromSite:   d("bytes_from_site_total", "Bytes read from the site's channels."),
		bytesToClients:  d("bytes_to_clients_total", "Bytes written to clients."),
		duration: d("query_duration_seconds", "Time from a complete client query to the end of its answer "+
			"(by the site, the cache or a 502/503/504 of the proxy)."),
	}
}

func (c *Collector) descs() []*prometheus.Desc {
	return []*prometheus.Desc{c.up, c.state, c.channels, c.target, c.clients, c.queries, c.commands,
		c.heartbeats, c.connectFailures, c.rtt, c.hbTimeout, c.cacheHits, c.cacheMisses, c.cacheItems,
		c.bytesFromSite, c.bytesToClients, c.duration}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs() {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	seen := map[string]bool{}
	for _, s := range c.snapshots() {
		// Two snapshots of one name would make the whole scrape fail (the
		// registry rejects duplicate series); keep the first instead.
		if seen[s.Name] {
			continue
		}
		seen[s.Name] = true
		c.collectSite(ch, s)
	}
}

func (c *Collector) collectSite(ch chan<- prometheus.Metric, s core.Snapshot) {
	emit := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		// NewConstMetric rather than the Must variant: a site name that is
		// not valid UTF-8 must cost one series, not panic the daemon.
		m, err := prometheus.NewConstMetric(d, t, v, append([]string{s.Name}, labels...)...)
		if err != nil {
			m = prometheus.NewInvalidMetric(d, err)
		}
		ch <- m
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) { emit(d, prometheus.GaugeValue, v, labels...) }
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		emit(d, prometheus.CounterValue, float64(v), labels...)
	}

	gauge(c.up, boolValue(s.State == core.SiteAlive))
	for _, st := range siteStates {
		gauge(c.state, boolValue(s.State == st), st.String())
	}
	byState := map[core.ChannelState]int{}
	for _, info := range s.Channels {
		byState[info.State]++
	}
	for _, st := range channelStates {
		gauge(c.channels, float64(byState[st]), st.String())
	}
	gauge(c.target, float64(s.Target))
	gauge(c.clients, float64(s.ClientsReading), "reading")
	gauge(c.clients, float64(s.ClientsWaiting), "waiting")
	gauge(c.clients, float64(s.ClientsInFlight), "inflight")

	st := s.Stats
	counter(c.queries, st.QueriesOK, OutcomeOK)
	counter(c.queries, st.QueriesDead, OutcomeSiteDead)
	counter(c.queries, st.QueriesBusy, OutcomeChannelsBusy)
	counter(c.queries, st.QueriesTimeout, OutcomeTimeout)
	counter(c.queries, st.QueriesBad, OutcomeBadRequest)
	counter(c.queries, st.QueriesGone, OutcomeClientGone)
	counter(c.commands, st.Commands)
	counter(c.heartbeats, st.Heartbeats, "ok")
	counter(c.heartbeats, st.HeartbeatsLost, "lost")
	counter(c.connectFailures, st.ConnectFailures)
	// A zero RTT means "not measured yet"; exporting it as 0 s would drag
	// averages and look like an impossibly fast site.
	if s.TypicalRTT > 0 {
		gauge(c.rtt, s.TypicalRTT.Seconds())
	}
	gauge(c.hbTimeout, s.HeartbeatTimeout.Seconds())
	counter(c.cacheHits, st.CacheHits)
	counter(c.cacheMisses, st.CacheMisses)
	gauge(c.cacheItems, float64(s.CacheEntries))
	counter(c.bytesFromSite, st.BytesFromSite)
	counter(c.bytesToClients, st.BytesToClients)
	c.collectDuration(ch, s)
}

// collectDuration turns the core's per-bucket counts (non-cumulative, the
// last slot over the last bound) into a const histogram. The core keeps the
// histogram itself so the scrape needs nothing but the snapshot, and a site
// removed by a reload takes its histogram with it.
func (c *Collector) collectDuration(ch chan<- prometheus.Metric, s core.Snapshot) {
	st := s.Stats
	buckets := make(map[float64]uint64, len(core.LatencyBuckets))
	var cum uint64
	for i, bound := range core.LatencyBuckets {
		cum += st.Latency[i]
		buckets[bound.Seconds()] = cum
	}
	count := cum + st.Latency[len(core.LatencyBuckets)]
	m, err := prometheus.NewConstHistogram(c.duration, count, st.LatencySum.Seconds(), buckets, s.Name)
	if err != nil {
		m = prometheus.NewInvalidMetric(c.duration, err)
	}
	ch <- m
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
