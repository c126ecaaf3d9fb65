package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestHopRowsHoldLiveproxydAgainstTheReferenceHops(t *testing.T) {
	hops := []hop{{name: "direct"}, {name: "lp"}, {name: "ha"}, {name: "so"}}
	figs := []hopFigures{
		hopDirect:     {qps: 1000, siteCPU: 50 * time.Microsecond, answerBytes: 3809},
		hopLiveproxyd: {qps: 940, hopCPU: 30 * time.Microsecond, hopCPUMeasurable: true},
		hopHAProxy:    {qps: 1000, hopCPU: 20 * time.Microsecond, hopCPUMeasurable: true},
		hopSocat:      {qps: 900, hopCPU: 800 * time.Microsecond, hopCPUMeasurable: true},
	}
	rows := hopRows("`GET hosts`", 16, hops, figs)
	if len(rows) != len(hops)+3 {
		t.Fatalf("%d rows, want one per hop and three targets", len(rows))
	}
	want := []struct {
		measure, figure string
		met             bool
	}{
		{"CPU per query: liveproxyd ÷ HAProxy", "30.0 µs ÷ 20.0 µs (×1.50)", false},
		{"q/s: liveproxyd ÷ HAProxy", "940 ÷ 1000 (×0.94)", false},
		{"q/s: liveproxyd ÷ socat", "940 ÷ 900 (×1.04)", true},
	}
	for i, w := range want {
		r := rows[len(hops)+i]
		if r.Measure != w.measure || r.Figure != w.figure || r.Met == nil || *r.Met != w.met {
			t.Errorf("target row %d = %+v (met %v), want %+v", i, r, r.Met, w)
		}
		if !strings.Contains(r.Scenario, "3.8 KB") || !strings.Contains(r.Scenario, "16 client") {
			t.Errorf("scenario %q lacks the answer size or the clients", r.Scenario)
		}
	}
	if rows[hopDirect].Target != "" || strings.Contains(rows[hopDirect].Figure, "hop CPU") {
		t.Errorf("direct row %+v: no hop, no target", rows[hopDirect])
	}
	if !strings.Contains(rows[hopSocat].Figure, "hop CPU 800.0 µs/query") {
		t.Errorf("socat row %q", rows[hopSocat].Figure)
	}
	if got := cpuPerQuery(4709700 * time.Nanosecond); got != "4.71 ms" {
		t.Errorf("cpuPerQuery(4.7097 ms) = %q", got)
	}

	// At or past the bounds the targets are met.
	figs[hopLiveproxyd] = hopFigures{qps: 950, hopCPU: 20 * time.Microsecond, hopCPUMeasurable: true}
	for _, r := range hopRows("q", 1, hops, figs)[len(hops):] {
		if r.Met == nil || !*r.Met {
			t.Errorf("%s: %s not met", r.Measure, r.Figure)
		}
	}
	// An HAProxy that burned no tick has no ratio, not a division by zero.
	figs[hopHAProxy] = hopFigures{qps: 1000}
	if r := hopRows("q", 1, hops, figs)[len(hops)]; r.Met != nil || r.verdict() != "n/a" {
		t.Errorf("CPU ratio without HAProxy CPU: %+v", r)
	}
}

func TestAnswerSizeInDecimalUnits(t *testing.T) {
	for n, want := range map[int64]string{15: "15 B", 3809: "3.8 KB", 728669: "728.7 KB", 7_300_000: "7.3 MB"} {
		if got := answerSize(n); got != want {
			t.Errorf("answerSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// socat serves each connection in a child that exits with it; its CPU
// shows only in the parent's times of reaped children.
func TestCPUTimeWithChildrenCountsReapedChildren(t *testing.T) {
	before, err := cpuTimeWithChildren(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	self0, _ := cpuTime(os.Getpid())
	// A child that counts in shell built-ins (no grandchildren), then is
	// reaped by Wait.
	spin := exec.Command("sh", "-c", `i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done`)
	if err := spin.Run(); err != nil {
		t.Fatal(err)
	}
	child := spin.ProcessState.UserTime() + spin.ProcessState.SystemTime()
	if child < 50*time.Millisecond {
		t.Fatalf("the child used only %v of CPU: too little to tell from the 10 ms ticks", child)
	}
	after, err := cpuTimeWithChildren(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	self1, _ := cpuTime(os.Getpid())
	// Ticks are 10 ms: allow two of rounding.
	if got := (after - before) - (self1 - self0); got < child-20*time.Millisecond {
		t.Errorf("reaped children's CPU grew by %v, the child used %v", got, child)
	}
}
