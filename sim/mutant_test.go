package sim

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"liveproxyd/core"
)

// The checks must be able to fail: each mutant wraps the real core and
// plants one bug early in the run; the simulator must report it with the
// right complaint, well before its own time is up.

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

func (m *mutant) NextDeadline() time.Time { return m.site.NextDeadline() }

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
		want string
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
		want: `answer byte \d+ is`,
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
		want: `no query waiting|answer byte|unexpected bytes|bad fixed16|error text longer|after (closing it|EvClientGone)|unknown client`,
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
		want: `core knows \d+ clients, the driver has \d+ open`,
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
		want: `after closing it`,
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
		want: `closed without an answer|no answer for`,
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
		want: `answer byte|no query waiting|after its error reply`,
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
			if !regexp.MustCompile(tc.want).MatchString(f.Msg) {
				t.Fatalf("caught, but by the wrong check:\n%v\nwant a message matching %q", f, tc.want)
			}
			t.Logf("caught: %s", f.Msg)
			if len(f.Last) == 0 || f.Replay() == "" {
				t.Fatalf("failure without events or replay command: %+v", f)
			}
		})
	}
}
