package loadgen

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"liveproxyd/internal/fakesite"
	"liveproxyd/internal/testutil"
)

func startSite(t *testing.T, o fakesite.Options) (*fakesite.Server, Target) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "site.sock")
	s, err := fakesite.Listen("unix", path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, Target{Network: "unix", Addr: path}
}

func run(t *testing.T, o Options) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.HangGuard)
	defer cancel()
	r, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatalf("run hit the hang guard: %v", r)
	}
	return r
}

func TestCountKeepAlive(t *testing.T) {
	site, target := startSite(t, fakesite.Options{})
	mix, err := ParseMix("status,hosts")
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, Options{Target: target, Clients: 4, KeepAlive: true, Queries: mix, Count: 50})
	if r.Queries != 50 || r.OK() != 50 || r.Failures != 0 || r.Aborted != 0 {
		t.Fatalf("want 50 answered queries, all 200: %v", r)
	}
	st := site.Stats()
	if st.Queries != 50 {
		t.Errorf("site answered %d queries, the load generator counted 50", st.Queries)
	}
	if st.ConnsAccepted < 1 || st.ConnsAccepted > 4 {
		t.Errorf("KeepAlive: %d connections for 4 clients", st.ConnsAccepted)
	}
	if r.Latency.P50 <= 0 || r.Latency.P50 > r.Latency.P99 || r.Latency.P99 > r.Latency.Max {
		t.Errorf("percentiles out of order: %+v", r.Latency)
	}
	if r.QPS <= 0 {
		t.Errorf("q/s %v", r.QPS)
	}
}

func TestCountPerConnection(t *testing.T) {
	site, target := startSite(t, fakesite.Options{})
	one := run(t, Options{Target: target, Clients: 1, Queries: []string{Presets["status"]}, Count: 1})
	r := run(t, Options{Target: target, Clients: 3, Queries: []string{Presets["status"]}, Count: 20})
	if r.Queries != 20 || r.OK() != 20 {
		t.Fatalf("want 20 answers: %v", r)
	}
	if got := site.Stats().ConnsAccepted; got != 21 {
		t.Errorf("one query per connection: %d connections for 21 queries", got)
	}
	if r.Bytes != 20*one.Bytes {
		t.Errorf("bytes %d, want 20 × %d", r.Bytes, one.Bytes)
	}
}

func TestErrorCodesAreAnswers(t *testing.T) {
	_, target := startSite(t, fakesite.Options{})
	r := run(t, Options{Target: target, Clients: 2, KeepAlive: true, Queries: []string{"GET nosuchtable"}, Count: 6})
	if r.Queries != 6 || r.Codes[404] != 6 || r.Failures != 0 {
		t.Fatalf("want six 404 answers: %v", r)
	}
}

func TestRefusedCountsFailures(t *testing.T) {
	target := Target{Network: "unix", Addr: filepath.Join(t.TempDir(), "nobody.sock")}
	r := run(t, Options{Target: target, Clients: 1, Queries: []string{Presets["status"]}, Count: 3})
	if r.Queries != 0 || r.Failures != 3 || len(r.Errors) == 0 {
		t.Fatalf("want 3 failures: %v", r)
	}
}

func TestDurationEndsHungQueries(t *testing.T) {
	site, target := startSite(t, fakesite.Options{})
	site.Hang(true)
	r := run(t, Options{Target: target, Clients: 2, KeepAlive: true, Queries: []string{Presets["status"]},
		Duration: 300 * time.Millisecond})
	if r.Queries != 0 || r.Aborted != 2 || r.Failures != 0 {
		t.Fatalf("want two aborted queries: %v", r)
	}
	if r.Elapsed < 300*time.Millisecond {
		t.Errorf("run ended after %v, before its duration", r.Elapsed)
	}
}

func TestReadRateLimits(t *testing.T) {
	_, target := startSite(t, fakesite.Options{Hosts: 20, ServicesPerHost: 20})
	full := run(t, Options{Target: target, Clients: 1, Queries: []string{Presets["all-services"]}, Count: 1})
	rate := int(full.Bytes) * 4 // a quarter of a second for the answer
	r := run(t, Options{Target: target, Clients: 1, Queries: []string{Presets["all-services"]}, Count: 1, ReadRate: rate})
	if r.OK() != 1 || r.Bytes != full.Bytes {
		t.Fatalf("slow read: %v (want %d bytes)", r, full.Bytes)
	}
	// A lower bound only: the limiter must have waited; a loaded machine
	// can only make it slower.
	if min := 200 * time.Millisecond; r.Latency.Max < min {
		t.Errorf("%d bytes at %d B/s took %v, want ≥ %v", r.Bytes, rate, r.Latency.Max, min)
	}
}

func TestOptionsChecked(t *testing.T) {
	bad := []Options{
		{Clients: 0, Count: 1, Queries: []string{"GET status"}},
		{Clients: 1, Queries: []string{"GET status"}},
		{Clients: 1, Count: 1},
		{Clients: 1, Count: 1, Queries: []string{"COMMAND [1] NOP"}},
	}
	for i, o := range bad {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("options %d accepted: %+v", i, o)
		}
	}
}

func TestParseTarget(t *testing.T) {
	cases := map[string]Target{
		"/tmp/s":             {Network: "unix", Addr: "/tmp/s"},
		"unix:/tmp/s":        {Network: "unix", Addr: "/tmp/s"},
		"tcp:127.0.0.1:6557": {Network: "tcp", Addr: "127.0.0.1:6557"},
		"tls:[::1]:6557":     {Network: "tcp", Addr: "[::1]:6557", TLS: true},
		"tmp/run/s1":         {Network: "unix", Addr: "tmp/run/s1"},
	}
	for in, want := range cases {
		got, err := ParseTarget(in)
		if err != nil || got != want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "tcp:nohost", "udp:1.2.3.4:5", "unix:"} {
		if _, err := ParseTarget(in); err == nil {
			t.Errorf("ParseTarget(%q) accepted", in)
		}
	}
}

func TestParseMix(t *testing.T) {
	qs, err := ParseMix("status, hosts,status")
	if err != nil || len(qs) != 3 || qs[0] != Presets["status"] || qs[1] != Presets["hosts"] {
		t.Fatalf("ParseMix: %q, %v", qs, err)
	}
	if _, err := ParseMix("status,nope"); err == nil {
		t.Error("unknown preset accepted")
	}
	if _, err := ParseMix(" , "); err == nil {
		t.Error("empty mix accepted")
	}
	if got := UnescapeQuery(`GET hosts\nColumns: name\n`); got != "GET hosts\nColumns: name" {
		t.Errorf("UnescapeQuery: %q", got)
	}
}
