package config

import (
	"net"
	"strconv"

	"go.starlark.net/starlark"
)

// varMetrics is the global key that switches the Prometheus endpoint on:
// `liveproxyd_metrics_address = '127.0.0.1:9130'` in any of the files.
// It is ours, not Checkmk's; Checkmk's GUI never writes it, so it lives in
// a hand-written file under liveproxyd.d/ and survives the GUI rewriting
// liveproxyd.mk.
const varMetrics = "liveproxyd_metrics_address"

// metricsAddress reads varMetrics: absent, None or empty means off; anything
// else must be host:port with a port from 1 to 65535 (port 0 would pick a
// random port no scraper could find). An empty host listens on every
// interface, which the operator has to ask for explicitly.
func metricsAddress(ev *evaluator) (string, error) {
	v, ok := ev.globals[varMetrics]
	if !ok || v == starlark.None {
		return "", nil
	}
	fail := func(msg string) error {
		file := ev.ownerOf(ownKey("m"))
		return &Error{File: file, Line: locate(ev.asts[file], varMetrics), Msg: varMetrics + ": " + msg}
	}
	s, ok := v.(starlark.String)
	if !ok {
		return "", fail("must be a string 'host:port', got " + brief(v))
	}
	addr := string(s)
	if addr == "" {
		return "", nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fail("not host:port: " + brief(s))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fail("port must be a number from 1 to 65535, got " + brief(s))
	}
	return addr, nil
}
