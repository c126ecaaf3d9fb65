// Package metrics exposes the daemon's state to Prometheus.
//
// It holds no policy and keeps no state of its own: on every scrape the
// Collector asks the daemon for one core.Snapshot per site and turns it
// into constant metrics, the query latency histogram included (the core
// counts it per bucket in core.Stats). So a scrape never races the site
// loops (each loop produces its own snapshot) and a site that is removed
// from the configuration simply stops appearing.
//
// The *_total counters come from core.Stats, which count from the moment a
// core.Site was made. When the daemon replaces a site (a reload that changed
// its socket), the counters start again at zero. Prometheus treats a counter
// that goes down as a reset, so rate() and increase() stay correct; only the
// raw value drops.
package metrics
