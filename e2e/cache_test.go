package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"liveproxyd/internal/testutil"
)

// TestProxyCacheAgainstIcinga: a "Cache: reload" query is answered from the
// proxy's cache — the same bytes as the first, fresh answer, even after the
// data changed in Icinga — until Icinga restarts with a new program_start.
// Queries without the header and other users always reach Icinga.
func TestProxyCacheAgainstIcinga(t *testing.T) {
	ic := ownIcinga(t, 3, 3)
	px := startProxy(t, ic, FastParams(4))
	cached := serviceQuery("host-1", "svc-1", "Cache: reload\nResponseHeader: fixed16\n")
	fresh := serviceQuery("host-1", "svc-1", "ResponseHeader: fixed16\n")
	send := func(out string) {
		t.Helper()
		c, err := Dial("unix", px.Socket(siteName), queryTimeout)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Send(checkResult("host-1", "svc-1", 1, out), queryTimeout)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, faultBound, func() error { // the COMMAND reaches the core asynchronously
			if r := proxyQuery(t, px, fresh); !bytes.Contains(r.Body, []byte(out)) {
				return fmt.Errorf("plugin_output not yet %q: %.200q", out, r.Body)
			}
			return nil
		})
	}
	send("before caching")
	first := proxyQuery(t, px, cached)
	wantServiceState(t, first, 1, "before caching")
	send("changed behind the cache")
	second := proxyQuery(t, px, cached)
	if !bytes.Equal(second.Body, first.Body) {
		t.Fatalf("second Cache: reload answer differs from the first: %q vs %q", second.Body, first.Body)
	}
	// Another user's identical query is not served from alice's entry.
	other := proxyQuery(t, px, serviceQuery("host-1", "svc-1", "Cache: reload\nAuthUser: nobody-else\nResponseHeader: fixed16\n"))
	if bytes.Equal(other.Body, first.Body) && other.Code == 200 {
		t.Fatalf("another AuthUser got the cached answer %q", other.Body)
	}
	testutil.Eventually(t, faultBound, func() error { // the state file is rewritten every 2 s
		if hits, misses := cacheCounters(px); hits < 1 || misses < 2 {
			return fmt.Errorf("cache hits %d misses %d, want >= 1 and >= 2", hits, misses)
		}
		return nil
	})

	// A restart of Icinga changes program_start: the cache is dropped.
	time.Sleep(1100 * time.Millisecond) // program_start has a resolution of one second
	if err := ic.Stop(icingaStopTimeout); err != nil {
		t.Fatal(err)
	}
	if err := ic.StartBehindProxy(icingaStartTimeout); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, faultBound, func() error {
		r, err := Query("unix", px.Socket(siteName), cached, queryTimeout)
		if err != nil {
			return err
		}
		if r.Code != 200 || bytes.Equal(r.Body, first.Body) {
			return fmt.Errorf("after the restart: %d %.200q (the cached answer was %q)", r.Code, r.Body, first.Body)
		}
		return nil
	})
}

// cacheCounters reads the test site's cache counters from the state file
// (zeros while it is missing or being replaced).
func cacheCounters(px *Proxy) (hits, misses uint64) {
	var f struct {
		Sites []struct {
			Name     string `json:"name"`
			Counters struct {
				CacheHits   uint64 `json:"cache_hits"`
				CacheMisses uint64 `json:"cache_misses"`
			} `json:"counters"`
		} `json:"sites"`
	}
	b, err := os.ReadFile(filepath.Join(px.Root, "tmp/run/liveproxyd.status.json"))
	if err != nil || json.Unmarshal(b, &f) != nil {
		return 0, 0
	}
	for _, s := range f.Sites {
		if s.Name == siteName {
			return s.Counters.CacheHits, s.Counters.CacheMisses
		}
	}
	return 0, 0
}
