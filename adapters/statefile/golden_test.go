package statefile

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"liveproxyd/core"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata/liveproxyd.state.golden from Text")

// goldenFile covers every line Text can write: a ready site with channels in
// each state, a dead one with an error and a listener that is not served,
// and a site with every value zero (no program start, no last error, no
// channels), in a zone east of UTC so local time shows.
func goldenFile() File {
	f := twoSites(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	zone := time.FixedZone("CET", 3600)
	f.Written = f.Written.In(zone)
	f.Sites[0].Channels = append(f.Sites[0].Channels, FromSnapshot(core.Snapshot{
		Channels: []core.ChannelInfo{
			{ID: 3, State: core.ChanHeartbeat, Since: f.Written.Add(-1500 * time.Millisecond)},
			{ID: 104, State: core.ChanConnecting},
		}}).Channels...)
	f.Sites[0].Counters.HeartbeatsLost = 2
	f.Sites = append(f.Sites, Site{Name: "empty"})
	return f
}

// TestTextGolden pins Checkmk's readable state file byte for byte, so a
// faster writer cannot change what Checkmk's tooling reads.
func TestTextGolden(t *testing.T) {
	path := filepath.Join("testdata", "liveproxyd.state.golden")
	got := Text(goldenFile())
	if *rewrite {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("Text differs from %s (-rewrite after a deliberate change):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
