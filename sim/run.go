package sim

import "time"

// drainTime is how long the world runs on after the shutdown, so that
// every byte in flight arrives.
const drainTime = 2 * time.Minute

// Run simulates one world built from seed. It returns the run's counters,
// and a *Failure (with the replay command and the last events) if an
// invariant broke.
func Run(seed uint64, opts Options) (Result, error) {
	opts = opts.withDefaults()
	w := newWorld(seed, opts)
	n := opts.Sites
	if n <= 0 {
		n = w.intn(1, 2)
	}
	for i := 0; i < n; i++ {
		w.sites = append(w.sites, newSite(w, i))
	}
	for _, s := range w.sites {
		s.begin()
	}
	w.run(opts.Duration)
	w.ending = true
	for _, s := range w.sites {
		s.cancelWatch()
		if w.err == nil {
			s.shutdown()
		}
	}
	w.run(opts.Duration + drainTime)
	if w.err == nil {
		w.finalCheck()
	}
	for _, s := range w.sites {
		st := s.core.Snapshot().Stats
		w.res.Cache.Hits += st.CacheHits
		w.res.Cache.Misses += st.CacheMisses
	}
	w.res.SimTime = w.now
	w.res.TraceHash = w.hash
	if w.err != nil {
		return w.res, w.err
	}
	return w.res, nil
}
