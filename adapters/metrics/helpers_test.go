package metrics

import (
	"context"
	"log/slog"
	"testing"

	"liveproxyd/core"
)

// serveSnapshots starts Serve on a free loopback port with a registry over
// snaps and returns the scrape URL. The server stops when the test ends.
func serveSnapshots(t *testing.T, snaps func() []core.Snapshot) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv, err := Serve(ctx, "127.0.0.1:0", NewRegistry(snaps), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	return "http://" + srv.Addr().String() + Path
}

// expectSamples fails for every series whose value differs from want (a
// missing series counts as different).
func expectSamples(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("series %s missing", k)
		} else if g != v {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
}
