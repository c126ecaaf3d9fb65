package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"time"

	"liveproxyd/bench/loadgen"
	"liveproxyd/e2e"
)

// errSkipped marks a scenario that cannot run on this machine.
var errSkipped = errors.New("skipped")

// scenarioIcinga: a real Icinga 2 over TCP with KeepAlive, where header
// and body go out in two writes and Nagle meets the delayed ACK (~44 ms a
// query), directly and through liveproxyd.
func scenarioIcinga(ctx context.Context, e *env) ([]Row, error) {
	if _, err := exec.LookPath(e2e.IcingaBinary); err != nil {
		return []Row{{Scenario: "Icinga 2", Measure: "TCP KeepAlive", Figure: "icinga2 not installed"}}, errSkipped
	}
	ic, err := e2e.NewIcinga(e2e.IcingaOptions{Hosts: 10, ServicesPerHost: 10})
	if err != nil {
		return nil, err
	}
	defer ic.Close()
	if err := ic.Start(90 * time.Second); err != nil {
		return nil, err
	}
	tcp := loadgen.Target{Network: "tcp", Addr: ic.TCPAddr}
	// One connection at a time: Icinga serves 2 × cores connections and
	// the proxy's channels come next.
	direct, err := load(ctx, loadgen.Options{Target: tcp, Clients: 1, KeepAlive: true, Count: 40})
	if err != nil {
		return nil, err
	}
	unix, err := load(ctx, loadgen.Options{Target: loadgen.Target{Network: "unix", Addr: ic.UnixPath},
		Clients: 1, KeepAlive: true, Count: 500})
	if err != nil {
		return nil, err
	}
	host, portText, _ := net.SplitHostPort(ic.TCPAddr)
	port, _ := strconv.Atoi(portText)
	// Three channels: Icinga's pool is four threads on this 2-core host.
	px, err := e.proxy(e2e.TCPSiteConfig("icinga", host, port, e2e.FastParams(3)), []string{"icinga"})
	if err != nil {
		return nil, err
	}
	defer px.stop()
	if err := waitCode(px.target("icinga"), 200, 30*time.Second); err != nil {
		return nil, err
	}
	prox, err := load(ctx, loadgen.Options{Target: px.target("icinga"), Clients: 1, KeepAlive: true, Count: 500})
	if err != nil {
		return nil, err
	}
	e.log("icinga: direct TCP p50 %v, direct unix p50 %v, proxy p50 %v p99 %v",
		direct.Latency.P50, unix.Latency.P50, prox.Latency.P50, prox.Latency.P99)
	name := "Icinga 2, `GET status`, 1 KeepAlive client"
	return []Row{
		{Scenario: name, Measure: "direct TCP p50 (Nagle stall)", Figure: dur(direct.Latency.P50),
			Target: "≈ 44 ms expected", Met: met(direct.Latency.P50 >= 30*time.Millisecond)},
		{Scenario: name, Measure: "direct UNIX socket p50", Figure: dur(unix.Latency.P50)},
		{Scenario: name, Measure: "through liveproxyd (TCP channels) p50 / p99",
			Figure: fmt.Sprintf("%s / %s (%.0f× faster than direct TCP)", dur(prox.Latency.P50), dur(prox.Latency.P99),
				float64(direct.Latency.P50)/float64(prox.Latency.P50)),
			Target: "≤ 1 ms per query (p50)", Met: met(prox.Latency.P50 <= time.Millisecond)},
	}, nil
}
