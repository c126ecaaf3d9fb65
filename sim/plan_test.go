package sim

import (
	"testing"
	"time"
)

// TestFaultPlanComesFromTheSeed: a seed always draws the same plan, seeds
// differ in which classes they switch on, Options.Disabled switches a
// class off without moving any other draw, and the rates stay within the
// documented factor of their base.
func TestFaultPlanComesFromTheSeed(t *testing.T) {
	if newFaultPlan(9, 0) != newFaultPlan(9, 0) {
		t.Fatal("one seed drew two plans")
	}
	sets := map[FaultSet]bool{}
	offSomewhere := FaultSet(0)
	for seed := uint64(1); seed <= 100; seed++ {
		p := newFaultPlan(seed, 0)
		sets[p.On] = true
		for f := range NumFaults {
			if !p.On.Has(f) {
				offSomewhere = offSomewhere.With(f)
			}
		}
		if p.ResetChance < 0.015/4 || p.ResetChance > 0.015*2 {
			t.Fatalf("seed %d: reset chance %v beyond a quarter to twice the base 1.5 %%", seed, p.ResetChance)
		}
		if p.HangDurationMax < hangDurationMin || p.HangDurationMax > 40*time.Second*3/2 {
			t.Fatalf("seed %d: hang up to %v", seed, p.HangDurationMax)
		}
		q := newFaultPlan(seed, FaultSet(0).With(FaultReset))
		if q.On.Has(FaultReset) || q.On != p.On&^FaultSet(0).With(FaultReset) || q.ResetChance != p.ResetChance {
			t.Fatalf("seed %d: disabling reset-mid-response gave %+v from %+v", seed, q, p)
		}
	}
	if len(sets) < 50 {
		t.Fatalf("100 seeds drew only %d sets of fault classes", len(sets))
	}
	for f := range NumFaults {
		if !offSomewhere.Has(f) {
			t.Errorf("fault %s is on in all of 100 seeds: the plan does not switch it", f)
		}
	}
}

// TestClientMixIsInPercent: the weights add up to 100, so that each reads
// as the share of arrivals it is.
func TestClientMixIsInPercent(t *testing.T) {
	sum := 0
	for _, m := range clientMix {
		sum += m.weight
	}
	if sum != 100 {
		t.Fatalf("client mix weights add up to %d", sum)
	}
}
