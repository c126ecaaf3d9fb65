package main_test

import (
	"regexp"
	"strings"
	"syscall"
	"testing"

	"liveproxyd/internal/testutil"
)

// metricsAddrRE finds the bound address in the daemon's start line.
var metricsAddrRE = regexp.MustCompile(`\] metrics endpoint listening addr=(\S+)`)

func TestMetricsOfARunningDaemon(t *testing.T) {
	r := newRoot(t)
	r.writeConfig(siteLine("rs", r.site.Addr(), 2))
	// Port 0: the daemon logs the port it got, so tests never collide.
	d := startForeground(t, r, "--metrics-listen", "127.0.0.1:0")
	addr := d.waitLog("the metrics endpoint", metricsAddrRE)[1]
	waitSiteState(t, r, "rs", "alive")

	const plain = 5
	for i := 0; i < plain; i++ {
		if got := query(t, r, "rs", "GET status\nColumns: program_start\n\n"); strings.TrimSpace(got) != "4242" {
			t.Fatalf("query %d through the proxy: %q", i, got)
		}
	}
	// Two identical cacheable queries: the second is answered by the cache.
	const cached = "GET hosts\nColumns: name\nCache: reload\n\n"
	first := query(t, r, "rs", cached)
	if first == "" || query(t, r, "rs", cached) != first {
		t.Fatalf("the cached answer differs from the first: %q", first)
	}

	got := testutil.Scrape(t, "http://"+addr+"/metrics")
	want := map[string]float64{
		`liveproxyd_site_up{site="rs"}`:            1,
		`liveproxyd_channels_target{site="rs"}`:    2,
		`liveproxyd_cache_hits_total{site="rs"}`:   1,
		`liveproxyd_cache_misses_total{site="rs"}`: 1,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	// Heartbeats go on meanwhile and are not queries: at least ours count.
	ok := got[`liveproxyd_queries_total{outcome="ok",site="rs"}`]
	count := got[`liveproxyd_query_duration_seconds_count{site="rs"}`]
	inf := got[`liveproxyd_query_duration_seconds_bucket{site="rs",le="+Inf"}`]
	if ok < plain+2 || count < plain+2 || inf != count {
		t.Errorf("queries ok %v, histogram count %v, +Inf bucket %v; want ≥ %d each and +Inf = count", ok, count, inf, plain+2)
	}
	if _, present := got["go_goroutines"]; !present {
		t.Error("runtime metrics missing")
	}
}

func TestMetricsAddressFromConfigMovesOnReload(t *testing.T) {
	r := newRoot(t)
	first, second := freeAddr(t), freeAddr(t)
	r.writeConfig(siteLine("rs", r.site.Addr(), 1))
	writeGlobal(t, r, "metrics.mk", "liveproxyd_metrics_address = '"+first+"'\n")
	d := startForeground(t, r)
	d.waitLog("the metrics endpoint", regexp.MustCompile(`\] metrics endpoint listening addr=`+regexp.QuoteMeta(first)))
	waitSiteState(t, r, "rs", "alive")
	if got := testutil.Scrape(t, "http://"+first+"/metrics"); got[`liveproxyd_site_up{site="rs"}`] != 1 {
		t.Fatalf("site_up on %s: %v", first, got[`liveproxyd_site_up{site="rs"}`])
	}

	// A reload with a new address moves the endpoint: no restart needed.
	writeGlobal(t, r, "metrics.mk", "liveproxyd_metrics_address = '"+second+"'\n")
	d.signal(syscall.SIGHUP)
	d.waitLog("the moved endpoint", regexp.MustCompile(`\] metrics endpoint listening addr=`+regexp.QuoteMeta(second)))
	if _, ok := testutil.Scrape(t, "http://"+second+"/metrics")[`liveproxyd_site_up{site="rs"}`]; !ok {
		t.Fatalf("no site_up on %s after the reload", second)
	}
	if !refused(first) {
		t.Fatalf("the old address %s still accepts after the move", first)
	}

	// Switched off by the configuration.
	writeGlobal(t, r, "metrics.mk", "liveproxyd_metrics_address = ''\n")
	d.signal(syscall.SIGHUP)
	d.waitLog("the endpoint to stop", regexp.MustCompile(`\] metrics endpoint stopped addr=`+regexp.QuoteMeta(second)))
	if !refused(second) {
		t.Fatalf("%s still accepts with metrics switched off", second)
	}
}

func TestMetricsFlagOverridesConfig(t *testing.T) {
	r := newRoot(t)
	configured := freeAddr(t)
	r.writeConfig(siteLine("rs", r.site.Addr(), 1) + "liveproxyd_metrics_address = '" + configured + "'\n")
	// An empty flag switches the configured endpoint off.
	d := startForeground(t, r, "--metrics-listen=")
	d.waitLog("the start", regexp.MustCompile(`\] liveproxyd started `))
	if strings.Contains(d.logs.String(), "metrics endpoint listening") || !refused(configured) {
		t.Fatalf("metrics served although --metrics-listen= switched them off")
	}
}
