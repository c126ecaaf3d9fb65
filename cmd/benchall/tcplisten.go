package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"liveproxyd/bench/loadgen"
	"liveproxyd/e2e"
)

// tcpListenRun is how long each side of the TCP-listener comparison runs,
// after a short warm-up that is thrown away.
const (
	tcpListenRun    = 3 * time.Second
	tcpListenWarmup = 300 * time.Millisecond
)

// scenarioTCPListen: the same small query through one liveproxyd, once
// over the site's UNIX socket and once over its TCP listener (the `tcp`
// key, cascading Livestatus), measured alternately in the same run. With
// KeepAlive the difference is the TCP stack on loopback; without it, a
// TCP connect per query as well. A ~40 ms Nagle/delayed-ACK stall would
// show as a p50 in the tens of milliseconds.
func scenarioTCPListen(ctx context.Context, e *env) ([]Row, error) {
	sock := filepath.Join(e.dir, "tcpl.sock")
	if _, _, err := e.fakesite("unix:" + sock); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := e2e.UnixSiteConfig("tcpl", sock, e2e.FastParams(10)) +
		fmt.Sprintf("sites['tcpl']['tcp'] = {'port': %d, 'only_from': ['127.0.0.1'], 'tls': False}\n", port)
	px, err := e.proxy(cfg, []string{"tcpl"})
	if err != nil {
		return nil, err
	}
	viaUnix := px.target("tcpl")
	viaTCP := loadgen.Target{Network: "tcp", Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	for _, t := range []loadgen.Target{viaUnix, viaTCP} {
		if err := waitCode(t, 200, 15*time.Second); err != nil {
			return nil, err
		}
	}
	var rows []Row
	for _, c := range []struct {
		clients   int
		keepAlive bool
	}{{1, true}, {16, true}, {1, false}} {
		measure := func(t loadgen.Target) (*loadgen.Result, error) {
			o := loadgen.Options{Target: t, Clients: c.clients, KeepAlive: c.keepAlive, Duration: tcpListenWarmup}
			if _, err := load(ctx, o); err != nil {
				return nil, err
			}
			o.Duration = tcpListenRun
			return load(ctx, o)
		}
		u, err := measure(viaUnix)
		if err != nil {
			return rows, err
		}
		tc, err := measure(viaTCP)
		if err != nil {
			return rows, err
		}
		mode := "KeepAlive"
		if !c.keepAlive {
			mode = "one query per connection"
		}
		e.log("tcp listener %d clients %s: UNIX %.0f q/s p50 %v p99 %v; TCP %.0f q/s p50 %v p99 %v",
			c.clients, mode, u.QPS, u.Latency.P50, u.Latency.P99, tc.QPS, tc.Latency.P50, tc.Latency.P99)
		name := fmt.Sprintf("TCP listener vs UNIX socket, `GET status`, %d client(s), %s", c.clients, mode)
		rows = append(rows,
			Row{Scenario: name, Measure: "q/s UNIX → TCP",
				Figure: fmt.Sprintf("%.0f → %.0f (×%.2f)", u.QPS, tc.QPS, tc.QPS/u.QPS)},
			Row{Scenario: name, Measure: "p50 UNIX → TCP",
				Figure: fmt.Sprintf("%s → %s (%s)", dur(u.Latency.P50), dur(tc.Latency.P50), signedDur(tc.Latency.P50-u.Latency.P50)),
				Target: "no Nagle stall: TCP p50 < 5 ms", Met: met(tc.Latency.P50 < 5*time.Millisecond)},
			Row{Scenario: name, Measure: "p99 UNIX → TCP",
				Figure: fmt.Sprintf("%s → %s (%s)", dur(u.Latency.P99), dur(tc.Latency.P99), signedDur(tc.Latency.P99-u.Latency.P99))},
		)
	}
	return rows, nil
}
