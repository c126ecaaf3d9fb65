package e2e

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// siteName is the one proxied site every test configures.
const siteName = "icinga"

// aliveTimeout bounds the wait for a freshly started proxy to serve its
// first query: dial + probe, with plenty of slack for a loaded machine.
const aliveTimeout = 20 * time.Second

// startProxy runs liveproxyd with one TCP site pointing at ic and waits
// until the site answers a query. The daemon is stopped (SIGTERM, checked)
// when the test ends, which also frees the Icinga threads its channels
// hold; on failure its log is printed.
func startProxy(t testing.TB, ic *Icinga, p SiteParams) *Proxy {
	t.Helper()
	return startProxyEdited(t, ic, p, func(config string) string { return config })
}

// startProxyEdited is startProxy with the site's liveproxyd.mk statement
// passed through edit first (to set a key SiteParams does not have).
func startProxyEdited(t testing.TB, ic *Icinga, p SiteParams, edit func(string) string) *Proxy {
	t.Helper()
	px := startProxyWith(t, edit(TCPSiteConfig(siteName, "127.0.0.1", icingaPort(t, ic), p)))
	waitServing(t, px, aliveTimeout)
	return px
}

// startProxyWith runs liveproxyd with config (one site, siteName), stops
// it (SIGTERM, checked) when the test ends and prints its log on failure.
// It waits for the UNIX socket only: the site need not be alive.
func startProxyWith(t testing.TB, config string) *Proxy {
	t.Helper()
	requireProxy(t)
	px, err := StartProxy(proxyBinary, config, []string{siteName}, aliveTimeout)
	t.Cleanup(func() {
		if px == nil {
			return
		}
		if err := px.Stop(10 * time.Second); err != nil {
			t.Error(err)
		} else if code := px.ExitCode(); code != 0 {
			t.Errorf("liveproxyd exited with code %d after SIGTERM", code)
		}
		if t.Failed() {
			t.Logf("liveproxyd output (tail, root %s):\n%s", px.Root, px.LogTail(8000))
		}
		px.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	return px
}

// icingaPort is the port of ic's Livestatus TCP listener.
func icingaPort(t testing.TB, ic *Icinga) int {
	t.Helper()
	_, p, err := net.SplitHostPort(ic.TCPAddr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// bigAnswerParams: the fast timers, but a 3 s heartbeat timeout for tests
// with a 34 MB answer in flight. While Icinga renders one (2.5–10 s on this
// 2-core machine), its status answers slow down; under the load of a full
// `go test ./...` a heartbeat once took over 1 s, the proxy declared the
// healthy site dead and cut the answer. That finding is reported; these
// tests are about streaming and capacity, not about a loaded CI host.
func bigAnswerParams(channels int) SiteParams {
	p := FastParams(channels)
	p.Heartbeat[1] = 3.0
	return p
}

// waitServing polls the proxy until a status query succeeds and returns
// how long that took.
func waitServing(t testing.TB, px *Proxy, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var last string
	for time.Since(start) < timeout {
		r, err := Query("unix", px.Socket(siteName), StatusQuery, 5*time.Second)
		if err == nil && r.Code == 200 {
			return time.Since(start)
		}
		last = fmt.Sprintf("%d %q %v", r.Code, r.Body, err)
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("proxy not serving after %v; last answer: %s\n%s", timeout, last, px.LogTail(4000))
	return 0
}

// proxyQuery is one fixed16 query through the proxy on a new connection.
func proxyQuery(t testing.TB, px *Proxy, req string) Reply {
	t.Helper()
	r, err := Query("unix", px.Socket(siteName), req, queryTimeout)
	if err != nil {
		t.Fatalf("query through the proxy: %v\n%s", err, px.LogTail(3000))
	}
	return r
}

// hostsQuery lists the names of hosts host-from … host-(to-1); each test
// asks for a different range so that answers cannot be confused. Icinga
// returns rows in hash order: compare with sameLines.
func hostsQuery(from, to int, extra string) (req, want string) {
	var q, w strings.Builder
	q.WriteString("GET hosts\nColumns: name\n")
	for i := from; i < to; i++ {
		fmt.Fprintf(&q, "Filter: name = host-%d\n", i)
		fmt.Fprintf(&w, "host-%d\n", i)
	}
	fmt.Fprintf(&q, "Or: %d\n%s\n", to-from, extra)
	return q.String(), w.String()
}

// sameLines reports whether got holds exactly the lines of want, in any
// order.
func sameLines(got []byte, want string) bool {
	g := strings.Split(string(got), "\n")
	w := strings.Split(want, "\n")
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

// runConcurrently runs f(worker, i) for n workers × per queries and
// returns the errors, bounded by the queries' own timeouts.
func runConcurrently(workers, per int, f func(w, i int) error) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if err := f(w, i); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("worker %d query %d: %w", w, i, err))
					mu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	return errs
}
