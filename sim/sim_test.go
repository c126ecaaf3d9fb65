package sim

import (
	"errors"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	seedFlag  = flag.Uint64("seed", 1, "TestSeed: the seed to replay")
	seedsFlag = flag.Int("seeds", 500, "TestSim: how many seeds (offset+1..offset+N) to run")
	offset    = flag.Uint64("seedoffset", 0, "TestSim: start after this seed, so CI can run another range each time (printed, so failures replay)")
	simTime   = flag.Duration("simtime", 10*time.Minute, "simulated traffic per seed")
	traceFlag = flag.Bool("simtrace", false, "TestSeed: print every event and action to stdout")
	disable   = flag.String("disable", "", "comma-separated fault classes and client kinds to switch off, e.g. command,site-hang")
)

// options builds the Options of a test run from the flags.
func options(t *testing.T) Options {
	fs, cs, err := ParseDisable(*disable)
	if err != nil {
		t.Fatal(err)
	}
	return Options{Duration: *simTime, Disabled: fs, DisabledClients: cs}
}

// TestSeed replays one seed: go test ./sim -run 'TestSeed$' -seed=N -v
func TestSeed(t *testing.T) {
	opts := options(t)
	if *traceFlag {
		opts.Trace = func(line string) { fmt.Println(line) }
	}
	res, err := Run(*seedFlag, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(summary(1, res, 0))
}

// TestSim runs the default seed set on all cores and checks that every
// fault class fired somewhere in it.
func TestSim(t *testing.T) {
	n := *seedsFlag
	opts := options(t)
	// Worlds are small and short-lived; collecting less often saves a
	// good part of the run time.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	start := time.Now()
	results := make([]Result, n)
	errs := make([]error, n)
	seeds := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range seeds {
				results[i], errs[i] = Run(*offset+uint64(i+1), opts)
			}
		}()
	}
	for i := range n {
		seeds <- i
	}
	close(seeds)
	wg.Wait()
	wall := time.Since(start)

	var total Result
	var failing []string
	for i := range n {
		total.add(results[i])
		if errs[i] == nil {
			continue
		}
		failing = append(failing, fmt.Sprint(*offset+uint64(i+1)))
		failed := len(failing)
		var f *Failure
		if failed <= 3 || !errors.As(errs[i], &f) {
			t.Errorf("%v", errs[i])
		} else {
			t.Errorf("%s\nreplay: %s", f.Headline(), f.Replay())
		}
	}
	t.Logf("seeds %d..%d (-seedoffset=%d -seeds=%d)", *offset+1, *offset+uint64(n), *offset, n)
	t.Log(summary(n, total, wall))
	if len(failing) > 0 {
		// Every failing seed, on one line: the details above may be cut
		// short by a long run's output, this line is last.
		t.Errorf("%d of %d seeds failed: %s", len(failing), n, strings.Join(failing, " "))
	}
	// Only the default seed set (or a bigger one) promises every fault.
	if n >= 500 && *simTime >= 10*time.Minute && *disable == "" {
		t.Run("every fault class fired", func(t *testing.T) {
			for f := range NumFaults {
				if total.Faults[f] == 0 {
					t.Errorf("fault %s never fired in %d seeds", f, n)
				}
			}
		})
		t.Run("query cache hit", func(t *testing.T) {
			if total.Cache.Hits == 0 || total.Cache.Checked == 0 {
				t.Errorf("query cache: %d hits, %d cached answers checked in %d seeds", total.Cache.Hits, total.Cache.Checked, n)
			}
		})
	}
}

func (r *Result) add(o Result) {
	r.SimTime += o.SimTime
	r.Events += o.Events
	r.Steps += o.Steps
	r.Clients += o.Clients
	r.Pauses += o.Pauses
	r.Faults.Add(o.Faults)
	r.Queries.Add(o.Queries)
	r.Cache.Add(o.Cache)
}

func summary(seeds int, r Result, wall time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "seeds=%d simulated=%v (traffic %v each, then shutdown and drain) wall=%v\n",
		seeds, r.SimTime.Round(time.Second), *simTime, wall.Round(time.Millisecond))
	fmt.Fprintf(&b, "events=%d core-steps=%d clients=%d channel-pauses=%d\n", r.Events, r.Steps, r.Clients, r.Pauses)
	q := r.Queries
	fmt.Fprintf(&b, "queries: sent=%d ok=%d errors=%d (502=%d 503=%d 504=%d 4xx=%d text=%d) truncated=%d moot=%d commands=%d\n",
		q.Sent, q.OK, q.Errors, q.Err502, q.Err503, q.Err504, q.Err4xx, q.ErrText, q.Truncated, q.Moot, q.Commands)
	fmt.Fprintf(&b, "query cache: hits=%d misses=%d; cached answers checked=%d, of which for an older program_start than the site's=%d\n",
		r.Cache.Hits, r.Cache.Misses, r.Cache.Checked, r.Cache.Behind)
	b.WriteString("faults fired:\n")
	for f := range NumFaults {
		fmt.Fprintf(&b, "  %-22s %8d\n", f, r.Faults[f])
	}
	return b.String()
}
