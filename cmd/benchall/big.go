package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"liveproxyd/bench/loadgen"
	"liveproxyd/e2e"
)

// The big answer: every column of 7,000 × 1,000 services, ~1.06 GB from
// the fake site (≈152 bytes a service).
const (
	bigHosts    = 7000
	bigServices = 1000
	// The slow client reads this fast for slowRun, then hangs up: long
	// enough for the proxy to hit backpressure many times over.
	slowRate = 16 << 20
	slowRun  = 15 * time.Second
)

// scenarioBig: a 1 GB answer to a slow client (the proxy's peak RSS must
// stay bounded: backpressure) and to a fast one (throughput vs direct).
func scenarioBig(ctx context.Context, e *env) ([]Row, error) {
	sock := filepath.Join(e.dir, "big.sock")
	if _, _, err := e.fakesite("unix:"+sock, "-hosts", fmt.Sprint(bigHosts), "-services", fmt.Sprint(bigServices)); err != nil {
		return nil, err
	}
	params := e2e.FastParams(2)
	params.QueryTimeout = 120
	px, err := e.proxy(e2e.UnixSiteConfig("big", sock, params), []string{"big"})
	if err != nil {
		return nil, err
	}
	if err := waitCode(px.target("big"), 200, 30*time.Second); err != nil {
		return nil, err
	}
	all := []string{loadgen.Presets["all-services"]}
	one := func(t loadgen.Target, rate int, d time.Duration) (*loadgen.Result, error) {
		o := loadgen.Options{Target: t, Clients: 1, Queries: all, Count: 1, Timeout: 5 * time.Minute, ReadRate: rate, Duration: d}
		r, err := loadgen.Run(ctx, o)
		if err != nil {
			return nil, err
		}
		if r.Failures > 0 {
			return nil, fmt.Errorf("1 GB answer from %s: %v", t, r.Errors)
		}
		return r, nil
	}
	direct, err := one(loadgen.Target{Network: "unix", Addr: sock}, 0, 0)
	if err != nil {
		return nil, err
	}
	if direct.OK() != 1 {
		return nil, fmt.Errorf("direct 1 GB answer: %v", direct)
	}
	slow, err := one(px.target("big"), slowRate, slowRun)
	if err != nil {
		return nil, err
	}
	hwmSlow, err := memKB(px.pid(), "VmHWM")
	if err != nil {
		return nil, err
	}
	fast, err := one(px.target("big"), 0, 0)
	if err != nil {
		return nil, err
	}
	if fast.OK() != 1 || fast.Bytes != direct.Bytes {
		return nil, fmt.Errorf("1 GB answer through the proxy: %d bytes, direct %d", fast.Bytes, direct.Bytes)
	}
	hwm, err := memKB(px.pid(), "VmHWM")
	if err != nil {
		return nil, err
	}
	e.log("big: %d bytes; direct %.0f MB/s; proxy %.0f MB/s; slow read %d bytes; VmHWM %d kB after slow, %d kB after fast",
		direct.Bytes, direct.MBps, fast.MBps, slow.Bytes, hwmSlow, hwm)
	name := fmt.Sprintf("%.2f GB answer (`GET services`, %d services)", float64(direct.Bytes)/1e9, bigHosts*bigServices)
	ratio := fast.MBps / direct.MBps
	return []Row{
		{Scenario: name, Measure: fmt.Sprintf("liveproxyd peak RSS (VmHWM), slow client at %d MB/s for %v", slowRate>>20, slowRun),
			Figure: fmt.Sprintf("%s (%s read)", mb(hwmSlow<<10), mb(slow.Bytes)), Target: "≤ 64 MB", Met: met(hwmSlow<<10 <= 64<<20)},
		{Scenario: name, Measure: "liveproxyd peak RSS after a fast client too", Figure: mb(hwm << 10),
			Target: "≤ 64 MB", Met: met(hwm<<10 <= 64<<20)},
		{Scenario: name, Measure: "fast client MB/s direct → proxy",
			Figure: fmt.Sprintf("%.0f → %.0f (×%.2f)", direct.MBps, fast.MBps, ratio)},
	}, nil
}
