package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// scenarioMicro runs the Go benchmarks of the core and the wire format
// with -benchmem.
func scenarioMicro(ctx context.Context, e *env) ([]Row, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", "1s", "-count", "1", "./core", "./livestatus")
	cmd.Dir = e.repo
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go test -bench ./core ./livestatus: %v\n%s", err, tail(string(out), 1000))
	}
	var rows []Row
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i] // the GOMAXPROCS suffix
		}
		var fig []string
		for i := 2; i+1 < len(f); i += 2 {
			fig = append(fig, f[i]+" "+f[i+1])
		}
		rows = append(rows, Row{Scenario: "core micro-benchmark", Measure: name, Figure: strings.Join(fig, ", ")})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no benchmark lines in:\n%s", tail(string(out), 1000))
	}
	return rows, nil
}

// scenarioSim measures the simulator's speed in a separate program.
func scenarioSim(ctx context.Context, e *env) ([]Row, error) {
	cmd := exec.CommandContext(ctx, "go", "run", "./cmd/simspeed", "-seeds", "50", "-budget", "15s")
	cmd.Dir = e.repo
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("simspeed: %v %s", err, tail(string(out), 500))
	}
	var r struct {
		Runs        int     `json:"runs"`
		SimSeconds  float64 `json:"sim_seconds"`
		WallSeconds float64 `json:"wall_seconds"`
		Ratio       float64 `json:"sim_per_wall"`
		StepsPerSec float64 `json:"steps_per_s"`
		Failed      int     `json:"failed"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("simspeed output %q: %v", out, err)
	}
	fig := fmt.Sprintf("%.0f simulated s per wall s (%d seeds, %.0f sim s in %.1f s; %.0f Steps/s)",
		r.Ratio, r.Runs, r.SimSeconds, r.WallSeconds, r.StepsPerSec)
	if r.Runs == 0 {
		fig = "n/a: no seed ran to the end"
	}
	if r.Failed > 0 {
		fig += fmt.Sprintf("; %d seeds stopped at an invariant failure (not timed)", r.Failed)
	}
	return []Row{{Scenario: "simulator", Measure: "speed (`sim.Run`, default options)", Figure: fig}}, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
