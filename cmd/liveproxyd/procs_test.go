package main_test

import (
	"fmt"
	"regexp"
	"testing"

	"liveproxyd/internal/testutil"
)

var startedProcsRE = regexp.MustCompile(`\] liveproxyd started .*procs=(\d+)`)

// gomaxprocs is the daemon's GOMAXPROCS as its runtime reports it to the
// metrics endpoint.
func gomaxprocs(t *testing.T, args ...string) float64 {
	t.Helper()
	r := newRoot(t)
	r.writeConfig(siteLine("rs", r.site.Addr(), 1))
	d := startForeground(t, r, append([]string{"--metrics-listen", "127.0.0.1:0"}, args...)...)
	addr := d.waitLog("the metrics endpoint", metricsAddrRE)[1]
	got := testutil.Scrape(t, "http://"+addr+"/metrics")
	n, ok := got["go_sched_gomaxprocs_threads"]
	if !ok {
		t.Fatal("the runtime's go_sched_gomaxprocs_threads is not among the metrics")
	}
	if logged := d.waitLog("the start", startedProcsRE)[1]; logged != fmt.Sprint(n) {
		t.Errorf("the start line says procs=%s, the runtime %v", logged, n)
	}
	return n
}

func TestDaemonRunsOnOneThreadUnlessTold(t *testing.T) {
	if n := gomaxprocs(t); n != 1 {
		t.Errorf("GOMAXPROCS %v by default, want 1", n)
	}
	if n := gomaxprocs(t, "--procs", "2"); n != 2 {
		t.Errorf("GOMAXPROCS %v with --procs 2, want 2", n)
	}
}

func TestDaemonKeepsGOMAXPROCSFromTheEnvironment(t *testing.T) {
	t.Setenv("GOMAXPROCS", "2")
	if n := gomaxprocs(t); n != 2 {
		t.Errorf("GOMAXPROCS %v with $GOMAXPROCS=2, want 2", n)
	}
}
