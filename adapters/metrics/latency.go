package metrics

import "github.com/prometheus/client_golang/prometheus"

// LatencyBuckets span what a Livestatus query takes: a fraction of a
// millisecond for a status query on a UNIX socket, tens of seconds for all
// services of a large site (PROTOCOL.md measured 1.3–2.9 s for 10 000
// services), up to the default query timeout's order of magnitude.
var LatencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Latency is the query duration histogram. A snapshot cannot carry it (it
// would need every single duration), so the site loops report each query
// as it ends. It is safe for concurrent use.
type Latency struct {
	hist *prometheus.HistogramVec
}

// NewLatency returns an unregistered histogram; NewRegistry registers one.
func NewLatency() *Latency {
	return &Latency{hist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace,
		Name:      "query_duration_seconds",
		Help:      "Time from a complete client query to the end of its answer, by outcome.",
		Buckets:   LatencyBuckets,
	}, []string{"site", "outcome"})}
}

// Observe records one finished query; outcome is one of the Outcome*
// constants.
func (l *Latency) Observe(site string, seconds float64, outcome string) {
	if l == nil {
		return // metrics switched off: the daemon may hold a nil *Latency
	}
	// GetMetricWithLabelValues rather than WithLabelValues: an invalid
	// label value must not panic a site loop.
	if o, err := l.hist.GetMetricWithLabelValues(site, outcome); err == nil {
		o.Observe(seconds)
	}
}

// Forget drops the series of a site that left the configuration, so its
// last histogram is not exported forever.
func (l *Latency) Forget(site string) {
	if l == nil {
		return
	}
	l.hist.DeletePartialMatch(prometheus.Labels{"site": site})
}

// Describe implements prometheus.Collector.
func (l *Latency) Describe(ch chan<- *prometheus.Desc) { l.hist.Describe(ch) }

// Collect implements prometheus.Collector.
func (l *Latency) Collect(ch chan<- prometheus.Metric) { l.hist.Collect(ch) }
