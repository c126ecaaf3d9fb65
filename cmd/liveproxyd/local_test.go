package main_test

import (
	"os"
	"path/filepath"
	"testing"

	"liveproxyd/internal/fakesite"
	"liveproxyd/internal/testutil"
)

// TestLocalSiteThroughTheProxy: Checkmk's GUI writes its own proxied site
// as ('local', None); the daemon starts with it and serves the site's own
// Livestatus, ROOT/tmp/run/live, on tmp/run/liveproxy/SITE.
func TestLocalSiteThroughTheProxy(t *testing.T) {
	r := newRoot(t)
	live := r.path("tmp/run/live")
	if err := os.MkdirAll(filepath.Dir(live), 0o755); err != nil {
		t.Fatal(err)
	}
	own, err := fakesite.Listen("unix", live, fakesite.Options{ProgramStart: 777})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { own.Close() })
	r.writeConfig("sites.update({'central': {'socket': ('local', None), 'heartbeat': (0.2, 1.0), 'connect_retry': 0.2}})\n")
	startForeground(t, r)
	waitSiteState(t, r, "central", "alive")
	if got := programStart(t, testutil.Dial(t, "unix", r.path("tmp/run/liveproxy/central"))); got != "777" {
		t.Fatalf("program_start %q through the proxy, want the local site's 777", got)
	}
}
