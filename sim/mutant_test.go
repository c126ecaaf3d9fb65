package sim

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"liveproxyd/core"
	"liveproxyd/livestatus"
)

// The checks must be able to fail: each mutant wraps the real core and
// plants one bug early in the run; the simulator must report it with the
// right invariant, well before its own time is up.

// mutant forwards to a real core and lets mutate rewrite every step's
// actions (a copy, so the core's slice is not touched).
type mutant struct {
	site   *core.Site
	mutate func(m *mutant, acts []core.Action) []core.Action
	done   bool // the bug was planted
}

func (m *mutant) Step(ev core.Event) []core.Action {
	acts := append([]core.Action(nil), m.site.Step(ev)...)
	if m.mutate != nil && !m.done {
		acts = m.mutate(m, acts)
	}
	return acts
}

func (m *mutant) NextDeadline() (time.Time, bool) { return m.site.NextDeadline() }

func (m *mutant) Snapshot() core.Snapshot                            { return m.site.Snapshot() }
func (m *mutant) CheckInvariants() error                             { return m.site.CheckInvariants() }
func (m *mutant) wrap(c core.Config) Core                            { m.site = core.NewSite(c); return m }
func firstWrite(a core.Action, n int) bool                           { return a.Kind == core.ActWriteClient && len(a.Data) >= n }
func cloneData(a core.Action) []byte                                 { return append([]byte(nil), a.Data...) }
func newMutant(f func(*mutant, []core.Action) []core.Action) *mutant { return &mutant{mutate: f} }

func TestMutantsAreCaught(t *testing.T) {
	cases := []struct {
		name string
		m    *mutant
		want []Invariant
	}{{
		name: "corrupt a body byte",
		m: newMutant(func(m *mutant, acts []core.Action) []core.Action {
			for i, a := range acts {
				if firstWrite(a, 100) {
					d := cloneData(a)
					d[len(d)/2] ^= 0x20
					acts[i].Data, m.done = d, true
				}
			}
			return acts
		}),
		want: []Invariant{invAnswerBytes},
	}, {
		name: "send a client's bytes to another client",
		m: newMutant(func(m *mutant, acts []core.Action) []core.Action {
			for i, a := range acts {
				if firstWrite(a, 20) && a.Client > 3 {
					acts[i].Client, m.done = a.Client-1, true
				}
			}
			return acts
		}),
		want: []Invariant{invBytesUnasked, invAnswerBytes, invTextReplyKnown, invErrorHeader, invErrorLength, invClientWriteOpen, invClientKnown},
	}, {
		name: "forget to close a client",
		m: newMutant(func(m *mutant, acts []core.Action) []core.Action {
			for i, a := range acts {
				if a.Kind == core.ActCloseClient {
					m.done = true
					return append(acts[:i], acts[i+1:]...)
				}
			}
			return acts
		}),
		want: []Invariant{invClientsMatch},
	}, {
		name: "write to a client after closing it",
		m: newMutant(func(m *mutant, acts []core.Action) []core.Action {
			for _, a := range acts {
				if a.Kind == core.ActCloseClient {
					m.done = true
					return append(acts, core.Action{Kind: core.ActWriteClient, Client: a.Client, Data: []byte("x")})
				}
			}
			return acts
		}),
		want: []Invariant{invClientWriteOpen},
	}, {
		name: "withhold a client's answer",
		m: newMutant(func(m *mutant, acts []core.Action) []core.Action {
			out := acts[:0]
			for _, a := range acts {
				if a.Kind == core.ActWriteClient && a.Client == 5 {
					continue
				}
				out = append(out, a)
			}
			return out
		}),
		want: []Invariant{invCloseAfterAnswers, invAnswerWaitMax},
	}, {
		name: "answer twice",
		m: newMutant(func(m *mutant, acts []core.Action) []core.Action {
			for _, a := range acts {
				if firstWrite(a, 50) {
					m.done = true
					return append(acts, core.Action{Kind: core.ActWriteClient, Client: a.Client, Data: cloneData(a)})
				}
			}
			return acts
		}),
		want: []Invariant{invAnswerBytes, invBytesUnasked, invBytesAfterError},
	}, {
		// What the old framer did with a client's whitespace-only line:
		// passed it on inside the request, so Icinga read the rest as a
		// second request on the channel (a request smuggled past the proxy).
		name: "forward a whitespace-only line inside a request",
		m: newMutant(func(m *mutant, acts []core.Action) []core.Action {
			for i, a := range acts {
				if a.Kind == core.ActWriteChannel && bytes.HasPrefix(a.Data, []byte("GET hosts\n")) && bytes.HasSuffix(a.Data, []byte("\n\n")) {
					d := append(cloneData(a)[:len(a.Data)-1], " \n"...)
					acts[i].Data, m.done = append(d, a.Data...), true
				}
			}
			return acts
		}),
		want: []Invariant{invUpstreamNotEmpty, invUpstreamWellFormed, invUpstreamKnown, invUpstreamCanonical, invAnswerBytes, invBytesUnasked},
	}}
	// A quiet world: no faults and no COMMAND clients, so that nothing but
	// the planted bug can fail the run.
	var all FaultSet
	for f := range NumFaults {
		all = all.With(f)
	}
	quiet := ClientSet(0).With(ClientCommand)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(3, Options{Duration: 2 * time.Minute, NewCore: tc.m.wrap, Disabled: all, DisabledClients: quiet})
			var f *Failure
			if !errors.As(err, &f) {
				t.Fatalf("the planted bug went unnoticed (err %v)", err)
			}
			if !slices.Contains(tc.want, f.Invariant) {
				t.Fatalf("caught, but by the wrong check:\n%v\nwant one of %v", f, tc.want)
			}
			t.Logf("caught: %s", f.Headline())
			if len(f.Last) == 0 || f.Replay() == "" {
				t.Fatalf("failure without events or replay command: %+v", f)
			}
		})
	}
}

// hider plants a bug the query cache check must catch: it hides reloads of
// the monitoring core from a real core by writing the first program_start
// it saw into every heartbeat answer, so the core keeps cache entries the
// site has outdated.
type hider struct {
	site  *core.Site
	first []byte                 // digits of the first program_start seen
	left  map[core.ChannelID]int // bytes of a heartbeat answer still to come
}

// hbAnswerLen: "200          11\n" and ten digits and a newline.
const hbAnswerLen = livestatus.HeaderLen + 11

func newHider(c core.Config) Core {
	return &hider{site: core.NewSite(c), left: map[core.ChannelID]int{}}
}

func (h *hider) Step(ev core.Event) []core.Action {
	if ev.Kind == core.EvChannelData {
		for i := range ev.Data {
			left := h.left[ev.Channel]
			if left == 0 {
				break
			}
			h.left[ev.Channel] = left - 1
			if p := hbAnswerLen - left - livestatus.HeaderLen; p >= 0 && p < 10 {
				if len(h.first) < 10 {
					h.first = append(h.first, ev.Data[i])
				} else {
					ev.Data[i] = h.first[p]
				}
			}
		}
	}
	acts := h.site.Step(ev)
	for _, a := range acts {
		if a.Kind == core.ActWriteChannel && bytes.HasPrefix(a.Data, []byte("GET status\n")) {
			h.left[a.Channel] = hbAnswerLen
		}
	}
	return acts
}

func (h *hider) NextDeadline() (time.Time, bool) { return h.site.NextDeadline() }
func (h *hider) Snapshot() core.Snapshot         { return h.site.Snapshot() }
func (h *hider) CheckInvariants() error          { return h.site.CheckInvariants() }

func TestStaleCacheIsCaught(t *testing.T) {
	// Quiet but for reloads (which keep the connections, so only program_start
	// tells), and without COMMAND clients, so that every status answer the
	// hider rewrites is a heartbeat's.
	var quiet FaultSet
	for f := range NumFaults {
		if f != FaultReload {
			quiet = quiet.With(f)
		}
	}
	caughtWithin(t, 10, planWithout(FaultReload), Options{Duration: 5 * time.Minute, NewCore: newHider, Disabled: quiet,
		DisabledClients: ClientSet(0).With(ClientCommand)},
		"a core that never learns of a reload", invCacheFresh)
}

// TestCacheCheckJudgesBodies feeds the check hand-made answers: the site's
// own under the program_start the core was told, an older one it was not
// told of, a stale one, and another user's.
func TestCacheCheckJudgesBodies(t *testing.T) {
	const lines = "GET hosts\nResponseHeader: fixed16\nKeepAlive: on\nColumns: name\n"
	judge := func(user string, psIdx, knownIdx int, fixed bool) (*World, *Failure) {
		w := newWorld(5, Options{}.withDefaults())
		s := newSite(w, 0)
		s.srv.reload() // two program_starts: starts[0] < starts[1]
		c := &client{w: w, s: s, id: 1}
		q := &query{id: "q0-1-1", c: c, kind: qCached, fixed16: fixed, user: "alice",
			upstream: []byte(lines + "AuthUser: alice\n\n"), knownPS: s.srv.starts[knownIdx]}
		q.own = q.cachedAt(s.srv.starts[0])
		c.script, c.sent = []*query{q}, 1
		// The site renders the answer to user's request.
		raw := []byte(lines + "AuthUser: " + user + "\n\n")
		unit, n := cachedAnswer(raw, user, s.srv.starts[psIdx])
		body := repeatUnit(unit, n)
		if fixed {
			body = append(fixed16(200, n), body...)
		}
		for len(body) > 0 { // in pieces, as a socket gives them
			k := min(len(body), w.intn(1, 50))
			c.receive(body[:k])
			body = body[k:]
		}
		return w, w.err
	}
	for _, fixed := range []bool{true, false} {
		if w, f := judge("alice", 1, 1, fixed); f != nil || w.res.Cache.Checked != 1 {
			t.Fatalf("fixed16=%v: the current answer was refused: %v", fixed, f)
		}
		if w, f := judge("alice", 0, 0, fixed); f != nil || w.res.Cache.Behind != 1 {
			t.Fatalf("fixed16=%v: an answer the core could not know to be old was refused: %v", fixed, f)
		}
		if _, f := judge("alice", 0, 1, fixed); f == nil || f.Invariant != invCacheFresh {
			t.Fatalf("fixed16=%v: a stale answer passed: %v", fixed, f)
		}
		if _, f := judge("bob", 1, 1, fixed); f == nil || f.Invariant != invAnswerBytes {
			t.Fatalf("fixed16=%v: another user's answer passed: %v", fixed, f)
		}
	}
}

// deaf plants a bug the reconfigure checks must catch: the core never
// hears of a new configuration, so it keeps a pool sized for the old one.
type deaf struct{ *core.Site }

func (d deaf) Step(ev core.Event) []core.Action {
	if ev.Kind == core.EvReconfigure {
		return nil
	}
	return d.Site.Step(ev)
}

func TestIgnoredReconfigureIsCaught(t *testing.T) {
	var quiet FaultSet
	for f := range NumFaults {
		if f != FaultReconfigure {
			quiet = quiet.With(f)
		}
	}
	// Without smugglers: the worlds this check was tuned on, where a deaf
	// core shows first in the pool size, not in a channel wait.
	caughtWithin(t, 10, planWithout(FaultReconfigure), Options{Duration: 5 * time.Minute, Disabled: quiet,
		DisabledClients: ClientSet(0).With(ClientSmuggle),
		NewCore:         func(c core.Config) Core { return deaf{core.NewSite(c)} }},
		"a core that ignores reconfiguration", invChannelsFreeMax, invChannelsPoolMax, invBusyText)
}

// deafToHeartbeats hides heartbeat answers from the core after a minute:
// the site answers, the core hears nothing and calls it dead.
type deafToHeartbeats struct {
	*core.Site
	start time.Time
}

func (d *deafToHeartbeats) Step(ev core.Event) []core.Action {
	if d.start.IsZero() {
		d.start = ev.Now
	}
	if ev.Kind == core.EvChannelData && ev.Now.Sub(d.start) > time.Minute && bytes.HasPrefix(ev.Data, []byte("200          11\n")) {
		return d.Site.Step(core.Event{Kind: core.EvTick, Now: ev.Now})
	}
	return d.Site.Step(ev)
}

// TestFalseDeathIsCaught: the liveness invariant no-false-death can fail. A
// quiet world (no site faults) whose core misses heartbeat answers must be
// reported as a site declared dead though it answers.
func TestFalseDeathIsCaught(t *testing.T) {
	var quiet FaultSet
	for f := range NumFaults {
		quiet = quiet.With(f)
	}
	for seed := uint64(1); seed <= 5; seed++ {
		_, err := Run(seed, Options{Duration: 3 * time.Minute, Disabled: quiet,
			NewCore: func(c core.Config) Core { return &deafToHeartbeats{Site: core.NewSite(c)} }})
		var f *Failure
		if !errors.As(err, &f) {
			t.Fatalf("seed %d: a core deaf to heartbeat answers went unnoticed: %v", seed, err)
		}
		if f.Invariant != invNoFalseDeath {
			t.Fatalf("seed %d: caught, but by the wrong check: %v", seed, err)
		}
	}
}

// caughtWithin runs seeds 1..n of the world opts describes, skipping those
// skip rejects, and passes at the first failure if one of the invariants
// in want reported it: a planted bug must be found, and by the check meant
// for it.
func caughtWithin(t *testing.T, n uint64, skip func(seed uint64) bool, opts Options, what string, want ...Invariant) {
	t.Helper()
	for seed := uint64(1); seed <= n; seed++ {
		if skip != nil && skip(seed) {
			continue
		}
		_, err := Run(seed, opts)
		if err == nil {
			continue
		}
		var f *Failure
		if !errors.As(err, &f) || !slices.Contains(want, f.Invariant) {
			t.Fatalf("seed %d: caught, but by the wrong check (want one of %v): %v", seed, want, err)
		}
		t.Logf("caught: %s", f.Headline())
		return
	}
	t.Fatalf("%s went unnoticed in %d seeds", what, n)
}

// planWithout tells the seeds whose fault plan leaves f off: worlds where a
// bug that only f brings to light cannot show.
func planWithout(f Fault) func(seed uint64) bool {
	return func(seed uint64) bool { return !newFaultPlan(seed, 0).On.Has(f) }
}
