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

	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"liveproxyd/core"
	"liveproxyd/internal/testutil"
)

func TestServeExposesSitesLatencyAndRuntime(t *testing.T) {
	url := serveSnapshots(t, fakeSnapshots)
	got := testutil.Scrape(t, url)
	expectSamples(t, got, map[string]float64{
		`liveproxyd_site_up{site="alpha"}`:                          1,
		`liveproxyd_site_up{site="beta"}`:                           0,
		`liveproxyd_queries_total{outcome="site_dead",site="beta"}`: 17,
		`liveproxyd_channels{site="alpha",state="busy"}`:            2,
		`liveproxyd_query_duration_seconds_count{site="alpha"}`:     10,
		`liveproxyd_query_duration_seconds_sum{site="alpha"}`:       90.5,
		// Cumulative: the 2 in (2.5 ms, 5 ms] join the 3 below 0.5 ms.
		`liveproxyd_query_duration_seconds_bucket{site="alpha",le="0.0025"}`: 3,
		`liveproxyd_query_duration_seconds_bucket{site="alpha",le="0.005"}`:  5,
		`liveproxyd_query_duration_seconds_bucket{site="alpha",le="+Inf"}`:   10,
	})
	// The runtime and process collectors of NewRegistry.
	for _, name := range []string{"go_goroutines", "process_start_time_seconds", "promhttp_metric_handler_errors_total{cause=\"gathering\"}"} {
		if _, ok := got[name]; !ok {
			t.Errorf("series %s missing", name)
		}
	}
}

func TestServeMatchesCollectorExactly(t *testing.T) {
	url := serveSnapshots(t, fakeSnapshots)
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
	if err := promtest.ScrapeAndCompare(url, strings.NewReader(want.String()), names...); err != nil {
		t.Fatal(err)
	}
}

func TestServeOnlyAnswersMetricsPath(t *testing.T) {
	url := serveSnapshots(t, fakeSnapshots)
	client := &http.Client{Timeout: testutil.HangGuard}
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
	reg := NewRegistry(func() []core.Snapshot { return nil })
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
	srv, err := Serve(ctx, "127.0.0.1:0", NewRegistry(fakeSnapshots), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr()
	// Up before the cancel...
	if got := testutil.Scrape(t, "http://"+addr.String()+Path); got[`liveproxyd_site_up{site="alpha"}`] != 1 {
		t.Fatal("no site_up before cancel")
	}
	cancel()
	// ...and Done reports the stop.
	testutil.Await(t, "close of Done after cancel", srv.Done())
	// Shutdown closed the listener before Done: nothing may accept now.
	conn, err := net.DialTimeout("tcp", addr.String(), testutil.HangGuard)
	if err == nil {
		conn.Close()
		t.Fatal("metrics port still accepts after Done")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial after Done: %v, want connection refused", err)
	}
}

// TestServeListensOnlyOnTheFamilyAsked: 0.0.0.0 is IPv4 only and [::] is
// IPv6 only; plain "tcp" would make 0.0.0.0 answer on IPv6 too.
func TestServeListensOnlyOnTheFamilyAsked(t *testing.T) {
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skip("no IPv6 loopback:", err)
	} else {
		ln.Close()
	}
	reg := NewRegistry(fakeSnapshots)
	for _, tc := range []struct{ listen, answers, refuses string }{
		{"0.0.0.0:0", "127.0.0.1", "::1"},
		{"[::]:0", "::1", "127.0.0.1"},
	} {
		t.Run(tc.listen, func(t *testing.T) {
			srv, err := Serve(t.Context(), tc.listen, reg, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, port, _ := net.SplitHostPort(srv.Addr().String())
			if got := testutil.Scrape(t, "http://"+net.JoinHostPort(tc.answers, port)+Path); got[`liveproxyd_site_up{site="alpha"}`] != 1 {
				t.Fatalf("no metrics on %s", tc.answers)
			}
			conn, err := net.DialTimeout("tcp", net.JoinHostPort(tc.refuses, port), testutil.HangGuard)
			if err == nil {
				conn.Close()
				t.Fatalf("listening on %s also answers on %s", tc.listen, tc.refuses)
			}
		})
	}
}

func TestListenNetwork(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:9130": "tcp4", "127.0.0.1:9130": "tcp4", "[::]:9130": "tcp6", "[::1]:9130": "tcp6",
		"[::ffff:127.0.0.1]:9130": "tcp4", "localhost:9130": "tcp", ":9130": "tcp", "bad": "tcp",
	} {
		if got := listenNetwork(addr); got != want {
			t.Errorf("listenNetwork(%q) = %s, want %s", addr, got, want)
		}
	}
}
