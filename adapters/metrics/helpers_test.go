package metrics

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"liveproxyd/core"
	"liveproxyd/internal/testutil"
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

// scrapeText fetches url and returns the text exposition.
func scrapeText(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: testutil.HangGuard}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape body: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s: %s", resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("scrape content type %q", ct)
	}
	return string(body)
}

// scrape fetches url and returns every sample by its series as exposed,
// e.g. `liveproxyd_site_up{site="s1"}`, labels in the order exposed.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(scrapeText(t, url)))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("bad exposition line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad value in %q: %v", line, err)
		}
		if _, dup := out[line[:i]]; dup {
			t.Fatalf("series %s exposed twice", line[:i])
		}
		out[line[:i]] = v
	}
	return out
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
