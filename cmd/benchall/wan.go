package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"liveproxyd/bench/loadgen"
	"liveproxyd/e2e"
)

// wanDelays are the one-way delays of the WAN scenario.
var wanDelays = []time.Duration{10 * time.Millisecond, 50 * time.Millisecond}

// wanQueries per mode and delay: enough for a median, bounded in time
// (TLS at 50 ms one way is ~300 ms a query).
func wanQueries(d time.Duration) int {
	if d >= 50*time.Millisecond {
		return 20
	}
	return 40
}

// scenarioWAN compares a far-away site reached directly with a new
// connection per query (plain TCP, TLS) against liveproxyd's KeepAlive
// channels over the same delayed link; the client then talks to the
// proxy's local UNIX socket.
func scenarioWAN(ctx context.Context, e *env) ([]Row, error) {
	_, plainAddr, err := e.fakesite("tcp:127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	certPath, keyPath, err := throwawayCert(e.dir)
	if err != nil {
		return nil, err
	}
	_, tlsAddr, err := e.fakesite("tcp:127.0.0.1:0", "-tls-cert", certPath, "-tls-key", keyPath)
	if err != nil {
		return nil, err
	}
	// Server time: the same query on an open loopback connection.
	st, err := load(ctx, loadgen.Options{Target: loadgen.Target{Network: "tcp", Addr: plainAddr},
		Clients: 1, KeepAlive: true, Count: 200})
	if err != nil {
		return nil, err
	}
	server := st.Latency.P50
	rows := []Row{{Scenario: "WAN (wanrelay)", Measure: "server time (loopback TCP, KeepAlive, p50)", Figure: dur(server)}}
	for _, d := range wanDelays {
		r, err := wanDelay(ctx, e, d, plainAddr, tlsAddr, server)
		rows = append(rows, r...)
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

func wanDelay(ctx context.Context, e *env, d time.Duration, plainAddr, tlsAddr string, server time.Duration) ([]Row, error) {
	rtt := 2 * d
	n := wanQueries(d)
	relayPlain, err := e.relay(plainAddr, d)
	if err != nil {
		return nil, err
	}
	relayTLS, err := e.relay(tlsAddr, d)
	if err != nil {
		return nil, err
	}
	perConn := func(t loadgen.Target) (*loadgen.Result, error) {
		return load(ctx, loadgen.Options{Target: t, Clients: 1, Count: n})
	}
	plain, err := perConn(loadgen.Target{Network: "tcp", Addr: relayPlain})
	if err != nil {
		return nil, err
	}
	// The floor: an already open connection over the same link, which is
	// what liveproxyd's channels are; a loaded machine shows up here too.
	open, err := load(ctx, loadgen.Options{Target: loadgen.Target{Network: "tcp", Addr: relayPlain},
		Clients: 1, KeepAlive: true, Count: n})
	if err != nil {
		return nil, err
	}
	tlsRes, err := perConn(loadgen.Target{Network: "tcp", Addr: relayTLS, TLS: true, Insecure: true})
	if err != nil {
		return nil, err
	}
	host, portText, _ := net.SplitHostPort(relayPlain)
	port, _ := strconv.Atoi(portText)
	px, err := e.proxy(e2e.TCPSiteConfig("wan", host, port, e2e.FastParams(10)), []string{"wan"})
	if err != nil {
		return nil, err
	}
	defer px.stop()
	if err := waitCode(px.target("wan"), 200, 30*time.Second); err != nil {
		return nil, err
	}
	// Let every channel finish its probe over the slow link first.
	time.Sleep(rtt * 3)
	prox, err := perConn(px.target("wan"))
	if err != nil {
		return nil, err
	}
	x := func(l time.Duration) string { return fmt.Sprintf("%.2f RTT", float64(l)/float64(rtt)) }
	e.log("WAN %v: plain p50 %v, TLS p50 %v, proxy p50 %v p99 %v", d, plain.Latency.P50, tlsRes.Latency.P50,
		prox.Latency.P50, prox.Latency.P99)
	name := fmt.Sprintf("WAN %v one way (RTT %v), new connection per query", d, rtt)
	plainX := float64(plain.Latency.P50) / float64(rtt)
	bound := time.Duration(1.1 * float64(rtt+server))
	return []Row{
		// p50 only: the first query of the run pays the connect.
		{Scenario: name, Measure: "direct, already open KeepAlive connection p50 (the link's floor)",
			Figure: fmt.Sprintf("%s (%s)", dur(open.Latency.P50), x(open.Latency.P50))},
		{Scenario: name, Measure: "direct plain TCP p50", Figure: fmt.Sprintf("%s (%s)", dur(plain.Latency.P50), x(plain.Latency.P50)),
			Target: "≈ 2 RTT (1.8–2.5)", Met: met(plainX >= 1.8 && plainX <= 2.5)},
		{Scenario: name, Measure: "direct TLS p50", Figure: fmt.Sprintf("%s (%s)", dur(tlsRes.Latency.P50), x(tlsRes.Latency.P50)),
			Target: "≥ 3 RTT", Met: met(tlsRes.Latency.P50 >= 3*rtt)},
		{Scenario: name, Measure: "through liveproxyd p50 (p99)",
			Figure: fmt.Sprintf("%s (%s); p99 %s", dur(prox.Latency.P50), x(prox.Latency.P50), dur(prox.Latency.P99)),
			Target: fmt.Sprintf("≤ 1.1 × (RTT + server) = %s", dur(bound)), Met: met(prox.Latency.P50 <= bound)},
	}, nil
}
