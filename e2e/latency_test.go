package e2e

import (
	"bytes"
	"testing"
	"time"
)

// keepAliveStatus is the query timed on one KeepAlive connection.
const keepAliveStatus = "GET status\nColumns: program_start\nKeepAlive: on\nResponseHeader: fixed16\n\n"

// keepAliveTimes sends warm warm-up queries, then n timed ones, on one
// KeepAlive connection and returns the timings; every answer is checked.
func keepAliveTimes(t testing.TB, network, addr string, warm, n int) []time.Duration {
	t.Helper()
	c, err := Dial(network, addr, queryTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var first []byte
	var took []time.Duration
	for i := 0; i < warm+n; i++ {
		start := time.Now()
		if err := c.Send(keepAliveStatus, queryTimeout); err != nil {
			t.Fatal(err)
		}
		r, err := c.ReadFixed16(queryTimeout)
		d := time.Since(start)
		if err != nil || r.Code != 200 {
			t.Fatalf("%s query %d: %d %.200q %v", network, i, r.Code, r.Body, err)
		}
		if first == nil {
			first = r.Body
		} else if !bytes.Equal(r.Body, first) {
			t.Fatalf("%s query %d: %q, earlier %q", network, i, r.Body, first)
		}
		if i >= warm {
			took = append(took, d)
		}
	}
	return took
}

// TestKeepAliveLatency measures (t.Log, no assertion on time) one
// KeepAlive query straight to Icinga over TCP, where Nagle on the server
// and the reader's delayed ACK cost ~40 ms (docs/protocol.md §3.4), against the same
// query through the proxy, whose channels read with TCP_QUICKACK. The
// proxy gets 2 channels so Icinga keeps threads for the direct client.
func TestKeepAliveLatency(t *testing.T) {
	ic := shared(t)
	const warm, n = 5, 50
	directUnix := keepAliveTimes(t, "unix", ic.UnixPath, warm, n)
	directTCP := keepAliveTimes(t, "tcp", ic.TCPAddr, warm, n)
	px := startProxy(t, ic, FastParams(2))
	proxied := keepAliveTimes(t, "unix", px.Socket(siteName), warm, n)
	// The direct TCP client again while the proxy holds its channels, to
	// show the two numbers come from the same Icinga state.
	directTCP2 := keepAliveTimes(t, "tcp", ic.TCPAddr, warm, n)
	t.Logf("MEASURE KeepAlive query, median of %d after %d warm-up: direct TCP %v (again %v), through the proxy (client UNIX, channel TCP) %v, direct UNIX %v",
		n, warm, median(directTCP), median(directTCP2), median(proxied), median(directUnix))
}
