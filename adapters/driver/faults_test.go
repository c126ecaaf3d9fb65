package driver_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"liveproxyd/adapters/driver"
	"liveproxyd/core"
	"liveproxyd/internal/fakesite"
	"liveproxyd/internal/testutil"
	"liveproxyd/livestatus"
)

// waitFor polls cond until it holds (hang guard only).

func TestHugeQueryGets413OthersKeepWorking(t *testing.T) {
	site := startSite(t, "unix", fakesite.Options{})
	cfg := testConfig("s1")
	// Framing 16 MiB keeps the site loop busy for a while (much longer
	// under -race); a heartbeat answered meanwhile must not count as late.
	cfg.HeartbeatTimeoutMin = 5 * time.Second
	p := startProxy(t, cfg, siteTarget(site, "unix"))
	p.waitState(t, core.SiteAlive)
	want := askDirect(t, site, "unix", hostsQuery(fixed16))
	_, wantBody := splitFixed16(t, want)

	other := p.dial(t)
	ask := func(when string) {
		t.Helper()
		if _, err := io.WriteString(other, hostsQuery(fixed16, keepAlive)); err != nil {
			t.Fatal(err)
		}
		if code, body := readFixed16(t, other); code != 200 || !bytes.Equal(body, wantBody) {
			t.Fatalf("%s: %d %q", when, code, body)
		}
	}
	ask("before the huge query")

	huge := p.dial(t)
	filter := "Filter: name = " + strings.Repeat("x", 1000) + "\n"
	// ResponseHeader last, as Checkmk's GUI writes it: the proxy reads the
	// rest past its limit without keeping it and answers at the query's end.
	req := "GET hosts\n" + strings.Repeat(filter, (20<<20)/len(filter)) + fixed16 + "\n"
	writeDone := make(chan error, 1)
	go func() {
		_, err := io.WriteString(huge, req)
		writeDone <- err
	}()
	code, body := readFixed16(t, huge)
	if code != livestatus.CodeTooLarge || !strings.HasPrefix(string(body), "site s1: ") {
		t.Fatalf("huge query: %d %q", code, body)
	}
	ask("after the huge query")
	huge.Close()
	select {
	case err := <-writeDone:
		if err != nil {
			t.Fatalf("writing the huge query: %v (the proxy reads it to its end)", err)
		}
	case <-time.After(hangGuard):
		t.Fatal("writer of the huge query never finished")
	}
	if code, _ := splitFixed16(t, p.ask(t, hostsQuery(fixed16))); code != 200 {
		t.Fatalf("new client after the huge query: %d", code)
	}
}

// bigSite answers "GET services" with several megabytes.
var bigSite = fakesite.Options{Hosts: 400, ServicesPerHost: 50}

const servicesQuery = "GET services\n" + fixed16 + "\n"

func TestClientVanishesMidResponse(t *testing.T) {
	site := startSite(t, "unix", bigSite)
	cfg := testConfig("s1")
	cfg.HighWater = 64 << 10
	cfg.AnswerBuffer = 64 << 10 // the megabytes stream: the client leaves mid-stream
	p := startProxy(t, cfg, siteTarget(site, "unix"))
	p.waitState(t, core.SiteAlive)
	for i := 0; i < 3; i++ {
		nc := p.dial(t)
		if _, err := io.WriteString(nc, servicesQuery); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(nc, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		nc.Close()
	}
	testutil.WaitFor(t, "the abandoned answers to drain", func() bool {
		snap := p.snapshot(t)
		return snap.ClientsInFlight == 0 && snap.Stats.QueriesGone >= 3
	})
	want := askDirect(t, site, "unix", servicesQuery)
	if got := p.ask(t, servicesQuery); !bytes.Equal(got, want) {
		t.Fatalf("answer after vanished clients: %d bytes, want %d", len(got), len(want))
	}
}

// A client reading slowly makes the core pause the channel; the answer
// must still arrive complete and in order.
func TestSlowReaderGetsWholeAnswer(t *testing.T) {
	site := startSite(t, "unix", bigSite)
	cfg := testConfig("s1")
	cfg.HighWater = 16 << 10
	p := startProxy(t, cfg, siteTarget(site, "unix"))
	p.waitState(t, core.SiteAlive)
	want := askDirect(t, site, "unix", servicesQuery)
	if len(want) < 1<<20 {
		t.Fatalf("fake answer only %d bytes; the test needs a big one", len(want))
	}
	nc := p.dial(t)
	if _, err := io.WriteString(nc, servicesQuery); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	buf := make([]byte, 4096)
	for reads := 0; ; reads++ {
		n, err := nc.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if reads%64 == 0 {
			time.Sleep(time.Millisecond) // let the proxy's queue fill up
		}
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("slow reader got %d bytes, want %d", got.Len(), len(want))
	}
}

func TestShutdownAnswersInFlightClients(t *testing.T) {
	site := startSite(t, "unix", fakesite.Options{})
	p := startProxy(t, testConfig("s1"), siteTarget(site, "unix"))
	p.waitState(t, core.SiteAlive)
	// Hang the site right after a heartbeat so the query stays in flight.
	site.Hang(true)
	nc := p.dial(t)
	if _, err := io.WriteString(nc, hostsQuery(fixed16)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the query to be pending", func() bool {
		snap := p.snapshot(t)
		return snap.ClientsInFlight+snap.ClientsWaiting == 1 || snap.State == core.SiteDead
	})
	stopNow(p)
	out, err := io.ReadAll(nc)
	if err != nil {
		t.Fatal(err)
	}
	code, body := splitFixed16(t, out)
	if code != livestatus.CodeBadGateway || !strings.HasPrefix(string(body), "site s1: ") {
		t.Fatalf("pending query at shutdown: %d %q", code, body)
	}
	site.Hang(false)
}

// TestAnswerEndsBeforeTheClientCloses: a client that keeps its write side
// open (as Checkmk's does until it has read the answer) sees the answer end
// at once, because the proxy shuts its write side down; it must not wait
// for the proxy's linger to run out (2 s). Both ways an answer leaves: a
// small one written inline, a large one through the writer.
func TestAnswerEndsBeforeTheClientCloses(t *testing.T) {
	site := startSite(t, "unix", bigSite)
	p := startProxy(t, testConfig("s1"), siteTarget(site, "unix"))
	p.waitState(t, core.SiteAlive)
	for _, q := range []string{hostsQuery(), servicesQuery} {
		want := askDirect(t, site, "unix", q)
		nc := p.dial(t)
		if _, err := io.WriteString(nc, q); err != nil {
			t.Fatal(err)
		}
		nc.SetReadDeadline(time.Now().Add(time.Second)) // half the linger
		got, err := io.ReadAll(nc)
		if err != nil {
			t.Fatalf("%q: no end of the answer within a second: %v (%d bytes)", q[:9], err, len(got))
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%q: got %d bytes, want %d", q[:9], len(got), len(want))
		}
	}
}

// TestClientThatStopsReadingIsDropped: a client that takes no more of its
// answer for the flush timeout is closed, so it cannot pin the answer's
// buffers for ever. It then finds what reached its socket, and the end.
func TestClientThatStopsReadingIsDropped(t *testing.T) {
	t.Cleanup(driver.SetFlushTimeout(200 * time.Millisecond)) // restored after the proxy stops (cleanups run last first)
	site := startSite(t, "unix", bigSite)
	p := startProxy(t, testConfig("s1"), siteTarget(site, "unix"))
	p.waitState(t, core.SiteAlive)
	want := askDirect(t, site, "unix", servicesQuery)
	nc := p.dial(t)
	if _, err := io.WriteString(nc, servicesQuery); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // five flush timeouts without reading
	got, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("after the drop: %v (%d bytes)", err, len(got))
	}
	if len(got) == 0 || len(got) >= len(want) || !bytes.Equal(got, want[:len(got)]) {
		t.Fatalf("read %d bytes of a %d-byte answer; want a true prefix: the proxy drops a client that stops reading", len(got), len(want))
	}
}
