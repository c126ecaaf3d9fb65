package sim

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestInvariantListIsComplete: every invariant has a unique name, a class
// and a promise, so that a failure can always say which one broke.
func TestInvariantListIsComplete(t *testing.T) {
	seen := map[string]Invariant{}
	for i := Invariant(1); i < numInvariants; i++ {
		name := i.String()
		if name == "" || strings.HasPrefix(name, "invariant(") || i.What() == "" {
			t.Errorf("invariant %d has no name or promise: %q %q", i, name, i.What())
		}
		if c := i.Class(); c != Safety && c != Liveness {
			t.Errorf("invariant %s has no class", name)
		}
		if j, dup := seen[name]; dup {
			t.Errorf("invariants %d and %d are both called %s", j, i, name)
		}
		seen[name] = i
	}
}

// TestFailureShowsTheWorld: a failure names its invariant and class and
// prints the plan, the budgets, every site's server and configuration and
// the replay command.
func TestFailureShowsTheWorld(t *testing.T) {
	_, err := Run(3, Options{Duration: time.Minute, EventsMax: 1000})
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("a run cut at 1000 events did not fail: %v", err)
	}
	if f.Invariant != invNoLivelock {
		t.Fatalf("the event limit reported %s", f.Invariant)
	}
	text := f.Error()
	for _, want := range []string{
		"no-livelock (liveness)", "faults: on: ", "memory budget: ", "site alpha: ", "Channels=",
		"HeartbeatTimeout=", "replay: go test ./sim -run 'TestSeed$' -seed=3 -simtime=1m0s", "last ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("failure text lacks %q:\n%s", want, text)
		}
	}
}
