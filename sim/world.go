package sim

import (
	"math/rand/v2"
	"time"
)

// epoch is virtual time zero: a fixed instant, never the wall clock.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// pcgStream is the second PCG word; fixed so that the seed alone decides.
const pcgStream = 0x9e3779b97f4a7c15

// item is one scheduled world event. seq breaks ties between events at the
// same instant in the order they were scheduled, so runs are reproducible.
type item struct {
	at  time.Duration
	seq uint64
	fn  func()
}

// queue is a binary min-heap of items ordered by (at, seq). It is written
// out instead of using container/heap to avoid interface boxing per event.
type queue []item

func (q queue) less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}

func (q *queue) push(it item) {
	*q = append(*q, it)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *queue) pop() item {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = item{} // drop the closure reference
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h.less(l, m) {
			m = l
		}
		if r < len(h) && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

// World is one simulated universe built from one seed.
type World struct {
	seed    uint64
	opts    Options
	rng     *rand.Rand
	now     time.Duration // since epoch
	seq     uint64
	q       queue
	hash    uint64
	ring    ring
	err     *Failure
	res     Result
	sites   []*siteSim
	queries map[string]*query // by query id; looked up, never iterated
	clients []*client         // every client ever made, in creation order
	ending  bool              // traffic is over: no new clients or faults
	budget  budgetPlan        // the daemon's global memory budgets (budget.go)
	plan    FaultPlan         // the faults this world may inject (faults.go)
}

func newWorld(seed uint64, opts Options) *World {
	return &World{
		seed: seed, opts: opts, rng: rand.New(rand.NewPCG(seed, pcgStream)),
		hash: fnvOffset, queries: map[string]*query{}, res: Result{Seed: seed},
		budget: newBudgetPlan(seed), plan: newFaultPlan(seed, opts.Disabled),
	}
}

// t is the virtual wall clock handed to the core.
func (w *World) t() time.Time { return epoch.Add(w.now) }

// after schedules fn d from now.
func (w *World) after(d time.Duration, fn func()) { w.at(w.now+d, fn) }

// at schedules fn at virtual time t (never in the past).
func (w *World) at(t time.Duration, fn func()) {
	if t < w.now {
		t = w.now
	}
	w.seq++
	w.q.push(item{at: t, seq: w.seq, fn: fn})
}

// run processes events up to and including virtual time until.
func (w *World) run(until time.Duration) {
	for len(w.q) > 0 && w.err == nil && w.q[0].at <= until {
		it := w.q.pop()
		w.now = it.at
		w.res.Events++
		if w.res.Events > w.opts.EventsMax {
			w.fail(invNoLivelock, "more than %d events: livelock?", w.opts.EventsMax)
			return
		}
		it.fn()
	}
	if w.err == nil && w.now < until {
		w.now = until
	}
}

// Random helpers. All randomness of a run flows from w.rng.

func (w *World) chance(p float64) bool { return w.rng.Float64() < p }

// between returns a uniform duration in [lo, hi].
func (w *World) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(w.rng.Int64N(int64(hi-lo)+1))
}

// intn returns a uniform int in [lo, hi].
func (w *World) intn(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + w.rng.IntN(hi-lo+1)
}

// enabled tells whether fault f may be injected now: the plan has it on,
// and the traffic is not over.
func (w *World) enabled(f Fault) bool { return !w.ending && w.plan.On.Has(f) }

// strikes draws whether fault f, one that strikes by chance, strikes now;
// it draws nothing if f is off.
func (w *World) strikes(f Fault) bool { return w.enabled(f) && w.chance(w.plan.chance(f)) }

// fired counts one injection of fault f and notes it in the trace.
func (w *World) fired(s *siteSim, f Fault, id uint64) {
	w.res.Faults[f]++
	w.note(s, "fault "+f.String(), id, 0, nil)
}
