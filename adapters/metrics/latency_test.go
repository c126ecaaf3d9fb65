package metrics

import (
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestLatencyBucketsSpanLivestatus(t *testing.T) {
	if !sort.Float64sAreSorted(LatencyBuckets) {
		t.Fatalf("buckets not sorted: %v", LatencyBuckets)
	}
	if first, last := LatencyBuckets[0], LatencyBuckets[len(LatencyBuckets)-1]; first != 0.0005 || last != 60 {
		t.Fatalf("buckets span %v..%v, want 0.0005..60", first, last)
	}
}

func TestLatencyObserve(t *testing.T) {
	l := NewLatency()
	l.Observe("s1", 0.0003, OutcomeOK) // first bucket
	l.Observe("s1", 0.02, OutcomeOK)   // 0.025 bucket
	l.Observe("s1", 90, OutcomeOK)     // beyond the last bucket: +Inf only
	l.Observe("s1", 5, OutcomeTimeout)
	l.Observe("s2", 0.001, OutcomeSiteDead)

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(l)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || mfs[0].GetName() != "liveproxyd_query_duration_seconds" {
		t.Fatalf("families %v", mfs)
	}
	type key struct{ site, outcome string }
	got := map[key][]uint64{}
	sums := map[key]float64{}
	for _, m := range mfs[0].GetMetric() {
		var k key
		for _, lp := range m.GetLabel() {
			switch lp.GetName() {
			case "site":
				k.site = lp.GetValue()
			case "outcome":
				k.outcome = lp.GetValue()
			}
		}
		h := m.GetHistogram()
		counts := []uint64{h.GetSampleCount()}
		for _, b := range h.GetBucket() {
			counts = append(counts, b.GetCumulativeCount())
		}
		got[k], sums[k] = counts, h.GetSampleSum()
	}
	if len(got) != 3 {
		t.Fatalf("series %v, want 3", got)
	}
	// Cumulative counts per bucket, after the total count.
	ok := got[key{"s1", OutcomeOK}]
	if len(ok) != 1+len(LatencyBuckets) {
		t.Fatalf("s1/ok buckets %v", ok)
	}
	if ok[0] != 3 || ok[1] != 1 || ok[len(ok)-1] != 2 {
		t.Fatalf("s1/ok count %d, first bucket %d, last bucket %d; want 3, 1, 2", ok[0], ok[1], ok[len(ok)-1])
	}
	if s := sums[key{"s1", OutcomeOK}]; s != 0.0003+0.02+90 {
		t.Fatalf("s1/ok sum %v", s)
	}
	if c := got[key{"s1", OutcomeTimeout}][0]; c != 1 {
		t.Fatalf("s1/timeout count %d", c)
	}
	if c := got[key{"s2", OutcomeSiteDead}][0]; c != 1 {
		t.Fatalf("s2/site_dead count %d", c)
	}
}

func TestLatencyForgetDropsOneSite(t *testing.T) {
	l := NewLatency()
	l.Observe("gone", 1, OutcomeOK)
	l.Observe("gone", 1, OutcomeTimeout)
	l.Observe("kept", 1, OutcomeOK)
	if n := testutil.CollectAndCount(l); n != 3 {
		t.Fatalf("%d series before Forget", n)
	}
	l.Forget("gone")
	if n := testutil.CollectAndCount(l); n != 1 {
		t.Fatalf("%d series after Forget, want 1", n)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(l)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sites []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "site" {
					sites = append(sites, lp.GetValue())
				}
			}
		}
	}
	if strings.Join(sites, ",") != "kept" {
		t.Fatalf("sites after Forget: %v", sites)
	}
}

func TestLatencyNilAndInvalidLabelsDoNotPanic(t *testing.T) {
	var off *Latency
	off.Observe("s", 1, OutcomeOK) // metrics switched off
	off.Forget("s")

	l := NewLatency()
	l.Observe("bad\xff", 1, OutcomeOK)
	if n := testutil.CollectAndCount(l); n != 0 {
		t.Fatalf("invalid site name produced %d series", n)
	}
}
