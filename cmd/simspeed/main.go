// Command simspeed measures how fast the simulator runs: simulated
// seconds per wall-clock second over a few default seeds. `make bench`
// runs it as a separate program so a simulator that does not build costs
// one table row, not the whole benchmark.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"liveproxyd/sim"
)

// result counts only the seeds that ran to the end: a run that stops at
// a broken invariant covers less simulated time and would skew the speed.
type result struct {
	Runs        int     `json:"runs"`
	SimSeconds  float64 `json:"sim_seconds"`
	WallSeconds float64 `json:"wall_seconds"`
	Ratio       float64 `json:"sim_per_wall"`
	Steps       uint64  `json:"steps"`
	StepsPerSec float64 `json:"steps_per_s"`
	Failed      int     `json:"failed"`
}

func main() {
	seeds := flag.Int("seeds", 20, "at most this many seeds, from 1")
	budget := flag.Duration("budget", 15*time.Second, "stop starting new seeds after this long")
	flag.Parse()
	var r result
	start := time.Now()
	for seed := 1; seed <= *seeds && time.Since(start) < *budget; seed++ {
		t0 := time.Now()
		res, err := sim.Run(uint64(seed), sim.Options{})
		if err != nil {
			r.Failed++
			continue
		}
		r.WallSeconds += time.Since(t0).Seconds()
		r.Runs++
		r.SimSeconds += res.SimTime.Seconds()
		r.Steps += res.Steps
	}
	if r.WallSeconds > 0 {
		r.Ratio = r.SimSeconds / r.WallSeconds
		r.StepsPerSec = float64(r.Steps) / r.WallSeconds
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
