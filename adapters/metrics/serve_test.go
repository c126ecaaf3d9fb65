package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"liveproxyd/core"
)

func TestServeExposesSitesLatencyAndRuntime(t *testing.T) {
	url, lat := serveSnapshots(t, fakeSnapshots)
	lat.Observe("alpha", 0.004, OutcomeOK)
	got := scrape(t, url)
	expectSamples(t, got, map[string]float64{
		`liveproxyd_site_up{site="alpha"}`:                                   1,
		`liveproxyd_site_up{site="beta"}`:                                    0,
		`liveproxyd_queries_total{outcome="site_dead",site="beta"}`:          17,
		`liveproxyd_channels{site="alpha",state="busy"}`:                     2,
		`liveproxyd_query_duration_seconds_count{outcome="ok",site="alpha"}`: 1,
		`liveproxyd_query_duration_seconds_sum{outcome="ok",site="alpha"}`:   0.004,
		// 0.004 s falls in the 0.005 bucket, not in the 0.0025 one.
		`liveproxyd_query_duration_seconds_bucket{outcome="ok",site="alpha",le="0.0025"}`: 0,
		`liveproxyd_query_duration_seconds_bucket{outcome="ok",site="alpha",le="0.005"}`:  1,
		`liveproxyd_query_duration_seconds_bucket{outcome="ok",site="alpha",le="+Inf"}`:   1,
	})
	// The runtime and process collectors of NewRegistry.
	for _, name := range []string{"go_goroutines", "process_start_time_seconds", "promhttp_metric_handler_errors_total{cause=\"gathering\"}"} {
		if _, ok := got[name]; !ok {
			t.Errorf("series %s missing", name)
		}
	}
}

func TestServeMatchesCollectorExactly(t *testing.T) {
	url, _ := serveSnapshots(t, fakeSnapshots)
	names := []string{"liveproxyd_site_state", "liveproxyd_queries_total", "liveproxyd_heartbeat_rtt_seconds"}
	var want strings.Builder
	// Keep the blocks of wantFake that belong to names: the HTTP endpoint
	// must expose exactly what the collector produced.
	for block := range strings.SplitSeq(strings.TrimSpace(wantFake), "# HELP ") {
		for _, n := range names {
			if strings.HasPrefix(block, n+" ") {
				want.WriteString("# HELP " + block + "\n")
			}
		}
	}
	if err := testutil.ScrapeAndCompare(url, strings.NewReader(want.String()), names...); err != nil {
		t.Fatal(err)
	}
}

func TestServeOnlyAnswersMetricsPath(t *testing.T) {
	url, _ := serveSnapshots(t, fakeSnapshots)
	client := &http.Client{Timeout: hangGuard}
	resp, err := client.Get(strings.TrimSuffix(url, Path) + "/other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /other: %s", resp.Status)
	}
}

func TestServeReportsBadAddress(t *testing.T) {
	reg, _ := NewRegistry(func() []core.Snapshot { return nil })
	// Occupy a port, then ask Serve for the same one.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if addr, err := Serve(t.Context(), ln.Addr().String(), reg, nil); err == nil {
		t.Fatalf("Serve on a busy port returned %v, nil", addr)
	}
	if addr, err := Serve(t.Context(), "not an address", reg, nil); err == nil {
		t.Fatalf("Serve on a bad address returned %v, nil", addr)
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg, _ := NewRegistry(fakeSnapshots)
	addr, err := Serve(ctx, "127.0.0.1:0", reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// Up before the cancel...
	if got := scrape(t, "http://"+addr.String()+Path); got[`liveproxyd_site_up{site="alpha"}`] != 1 {
		t.Fatal("no site_up before cancel")
	}
	cancel()
	// ...and the port refuses connections soon after. Bounded polling: the
	// shutdown runs in Serve's goroutine.
	deadline := time.Now().Add(hangGuard)
	for i := 0; ; i++ {
		conn, err := net.DialTimeout("tcp", addr.String(), time.Second)
		switch {
		case err == nil:
			conn.Close() // not closed yet
		case errors.Is(err, syscall.ECONNREFUSED):
			return
		case !errors.Is(err, syscall.ECONNRESET): // reset: closed while our dial was queued
			t.Fatalf("dial after cancel: %v, want connection refused", err)
		}
		if time.Now().After(deadline) || i > 1000 {
			t.Fatalf("metrics server still accepting %v after cancel", hangGuard)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
