package main

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"time"

	"liveproxyd/bench/loadgen"
	"liveproxyd/e2e"
)

// hangTrials are the offsets into the heartbeat cycle at which the site
// hangs, so detection is sampled at different phases.
var hangTrials = []time.Duration{0, 330 * time.Millisecond, 660 * time.Millisecond}

// scenarioDead: a site whose socket does not exist; every query must get
// its 502 at once. New connection per query, like the GUI's.
func scenarioDead(ctx context.Context, e *env) ([]Row, error) {
	params := e2e.FastParams(10)
	px, err := e.proxy(e2e.UnixSiteConfig("dead", filepath.Join(e.dir, "nobody.sock"), params), []string{"dead"})
	if err != nil {
		return nil, err
	}
	if err := waitCode(px.target("dead"), 502, 15*time.Second); err != nil {
		return nil, err
	}
	r, err := load(ctx, loadgen.Options{Target: px.target("dead"), Clients: 1, Count: 2000})
	if err != nil {
		return nil, err
	}
	if r.Codes[502] != r.Queries {
		return nil, fmt.Errorf("dead site answered %v, want only 502", r.Codes)
	}
	// The machine's floor for the same exchange: connect, send, get an
	// immediate error answer, from the fake site itself.
	sock := filepath.Join(e.dir, "floor.sock")
	if _, _, err := e.fakesite("unix:" + sock); err != nil {
		return nil, err
	}
	floor, err := load(ctx, loadgen.Options{Target: loadgen.Target{Network: "unix", Addr: sock}, Clients: 1, Count: 2000,
		Queries: []string{"GET nosuchtable"}})
	if err != nil {
		return nil, err
	}
	e.log("dead: p50 %v p99 %v max %v; floor p50 %v p99 %v", r.Latency.P50, r.Latency.P99, r.Latency.Max,
		floor.Latency.P50, floor.Latency.P99)
	name := "dead site (socket missing), new connection per query"
	return []Row{
		{Scenario: name, Measure: "502 reply latency p50 / p99 (connect included)",
			Figure: fmt.Sprintf("%s / %s", dur(r.Latency.P50), dur(r.Latency.P99)),
			Target: "p99 < 1 ms", Met: met(r.Latency.P99 < time.Millisecond)},
		{Scenario: name, Measure: "floor: fake site's own 404, same client, p50 / p99",
			Figure: fmt.Sprintf("%s / %s", dur(floor.Latency.P50), dur(floor.Latency.P99))},
	}, nil
}

// hangSettle is how long the fake site is given to act on SIGUSR2.
const hangSettle = 100 * time.Millisecond

// scenarioHung: the fake site stops answering (SIGUSR2, like kill -STOP
// but with its sockets still accepting); a query sent right then must get
// a 502 once the heartbeat times out.
func scenarioHung(ctx context.Context, e *env) ([]Row, error) {
	sock := filepath.Join(e.dir, "hung.sock")
	site, _, err := e.fakesite("unix:" + sock)
	if err != nil {
		return nil, err
	}
	params := e2e.FastParams(4)
	px, err := e.proxy(e2e.UnixSiteConfig("hung", sock, params), []string{"hung"})
	if err != nil {
		return nil, err
	}
	interval := time.Duration(params.Heartbeat[0] * float64(time.Second))
	timeout := time.Duration(params.Heartbeat[1] * float64(time.Second))
	bound := interval + timeout + 200*time.Millisecond
	var worst time.Duration
	var figures []string
	for _, offset := range hangTrials {
		if err := waitCode(px.target("hung"), 200, 30*time.Second); err != nil {
			return nil, err
		}
		time.Sleep(offset)
		if err := site.signal(syscall.SIGUSR2); err != nil { // hang
			return nil, err
		}
		// The fake site takes the signal asynchronously: a query sent at
		// once can reach it before it hangs and get its 200 (seen once the
		// proxy forwarded fast enough). The figure is measured from the
		// query, so the pause does not flatter it.
		time.Sleep(hangSettle)
		t0 := time.Now()
		code, _, err := ask(px.target("hung"), loadgen.Presets["status"], 30*time.Second)
		took := time.Since(t0)
		if err := site.signal(syscall.SIGUSR2); err != nil { // resume
			return nil, err
		}
		if err != nil {
			return nil, err
		}
		if code != 502 {
			return nil, fmt.Errorf("query to a hung site answered %d, want 502", code)
		}
		worst = max(worst, took)
		figures = append(figures, dur(took))
		e.log("hung: trial at +%v detected after %v", offset, took)
	}
	return []Row{{Scenario: fmt.Sprintf("hung site (heartbeat %v, timeout %v)", interval, timeout),
		Measure: "hang → 502 to a waiting client, worst of 3", Figure: fmt.Sprintf("%s (%v)", dur(worst), figures),
		Target: fmt.Sprintf("≤ interval + timeout + 0.2 s = %s", dur(bound)), Met: met(worst <= bound)}}, nil
}
