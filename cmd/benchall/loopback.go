package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"liveproxyd/bench/loadgen"
	"liveproxyd/e2e"
)

// loopbackRun is how long each loopback measurement runs, after a short
// warm-up that is thrown away.
const (
	loopbackRun    = 5 * time.Second
	loopbackWarmup = 500 * time.Millisecond
)

// scenarioLoopback: a small query over UNIX sockets, KeepAlive clients,
// straight to the fake site and through liveproxyd (10 channels).
func scenarioLoopback(ctx context.Context, e *env) ([]Row, error) {
	sock := filepath.Join(e.dir, "loop.sock")
	site, _, err := e.fakesite("unix:" + sock)
	if err != nil {
		return nil, err
	}
	px, err := e.proxy(e2e.UnixSiteConfig("loop", sock, e2e.FastParams(10)), []string{"loop"})
	if err != nil {
		return nil, err
	}
	if err := waitCode(px.target("loop"), 200, 15*time.Second); err != nil {
		return nil, err
	}
	direct := loadgen.Target{Network: "unix", Addr: sock}
	var rows []Row
	for _, clients := range []int{1, 16} {
		// measure warms up, then runs; cpu reports the processes' CPU time
		// spent during the measured part only.
		var cpu [2]time.Duration
		measure := func(t loadgen.Target) (*loadgen.Result, error) {
			o := loadgen.Options{Target: t, Clients: clients, KeepAlive: true, Duration: loopbackWarmup}
			if _, err := load(ctx, o); err != nil {
				return nil, err
			}
			px0, err1 := cpuTime(px.pid())
			site0, err2 := cpuTime(site.pid())
			o.Duration = loopbackRun
			r, err := load(ctx, o)
			px1, err3 := cpuTime(px.pid())
			site1, err4 := cpuTime(site.pid())
			cpu = [2]time.Duration{px1 - px0, site1 - site0}
			return r, errors.Join(err, err1, err2, err3, err4)
		}
		d, err := measure(direct)
		if err != nil {
			return rows, err
		}
		p, err := measure(px.target("loop"))
		if err != nil {
			return rows, err
		}
		perQuery := func(c time.Duration) time.Duration { return c / time.Duration(max(1, p.Queries)) }
		e.log("loopback %d clients: direct %.0f q/s p50 %v p99 %v; proxy %.0f q/s p50 %v p99 %v",
			clients, d.QPS, d.Latency.P50, d.Latency.P99, p.QPS, p.Latency.P50, p.Latency.P99)
		name := fmt.Sprintf("loopback, `GET status`, %d KeepAlive client(s)", clients)
		ratio := p.QPS / d.QPS
		addP99 := p.Latency.P99 - d.Latency.P99
		rows = append(rows,
			Row{Scenario: name, Measure: "q/s direct → proxy",
				Figure: fmt.Sprintf("%.0f → %.0f (×%.2f)", d.QPS, p.QPS, ratio),
				Target: "≥ 0.9 × direct", Met: met(ratio >= 0.9)},
			Row{Scenario: name, Measure: "p50 direct → proxy",
				Figure: fmt.Sprintf("%s → %s (%s)", dur(d.Latency.P50), dur(p.Latency.P50), signedDur(p.Latency.P50-d.Latency.P50))},
			Row{Scenario: name, Measure: "p99 direct → proxy",
				Figure: fmt.Sprintf("%s → %s (%s)", dur(d.Latency.P99), dur(p.Latency.P99), signedDur(addP99)),
				Target: "added ≤ 100 µs", Met: met(addP99 <= 100*time.Microsecond)},
			Row{Scenario: name, Measure: "CPU per proxied query: liveproxyd / fake site",
				Figure: fmt.Sprintf("%s / %s", dur(perQuery(cpu[0])), dur(perQuery(cpu[1])))},
		)
	}
	return rows, nil
}
