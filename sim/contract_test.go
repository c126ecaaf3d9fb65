package sim

import (
	"errors"
	"strings"
	"testing"
	"time"

	"liveproxyd/core"
)

// TestContractBreachIsCaught: the simulator checks every step with
// core.Contract. A core that skips a channel ID when it dials breaks
// nothing the world itself watches (it dials whatever it is told), so only
// the contract can catch it.
func TestContractBreachIsCaught(t *testing.T) {
	skip := func(m *mutant, acts []core.Action) []core.Action {
		for i, a := range acts {
			if a.Kind == core.ActDial && a.Channel > 2 {
				acts[i].Channel, m.done = a.Channel+1, true
			}
		}
		return acts
	}
	// One mutant per site: a mutant wraps one Site.
	newCore := func(c core.Config) Core { return newMutant(skip).wrap(c) }
	_, err := Run(1, Options{Duration: 2 * time.Minute, NewCore: newCore})
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("a skipped channel ID went unnoticed (err %v)", err)
	}
	if f.Invariant != invDriverContract || !strings.Contains(f.Msg, "IDs count up from 1") {
		t.Fatalf("caught, but by the wrong check: %v", f)
	}
	t.Logf("caught: %s", f.Msg)
}
