package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"liveproxyd/adapters/listen"
	"liveproxyd/internal/sitecert"
	"liveproxyd/internal/testutil"
)

// Cascading Livestatus: daemon B serves the Icinga site on a TCP port,
// daemon A uses that port as its site. Answers through both daemons equal
// Icinga's own; when B goes away, A's clients get 502 at once.
func TestCascadeThroughTwoDaemons(t *testing.T) {
	ic := shared(t)
	portB := testutil.FreePort(t)
	b := startProxyWith(t, TCPSiteConfig(siteName, "127.0.0.1", icingaPort(t, ic), FastParams(3))+tcpKey(siteName, portB, nil, false))
	waitServing(t, b, aliveTimeout)
	a := startProxyWith(t, TCPSiteConfig(siteName, "127.0.0.1", portB, FastParams(2)))
	waitServing(t, a, aliveTimeout)

	req, want := hostsQuery(20, 30, "ResponseHeader: fixed16\n")
	for _, via := range []struct{ name, network, addr string }{
		{"A's UNIX socket (through B's TCP port)", "unix", a.Socket(siteName)},
		{"B's TCP port", "tcp", tcpAddr(portB)},
		{"B's UNIX socket", "unix", b.Socket(siteName)},
	} {
		r, err := Query(via.network, via.addr, req, queryTimeout)
		if err != nil || r.Code != 200 || !sameLines(r.Body, want) {
			t.Errorf("via %s: %d %.200q %v, want 200 %.200q", via.name, r.Code, r.Body, err, want)
		}
	}
	direct := programStart(t, "unix", ic.UnixPath)
	if got := programStart(t, "unix", a.Socket(siteName)); got != direct {
		t.Errorf("program_start through the cascade %d, direct %d", got, direct)
	}
	// An error answer passes through both daemons unchanged.
	if r, err := Query("unix", a.Socket(siteName), "GET nosuchtable\nResponseHeader: fixed16\n\n", queryTimeout); err != nil || r.Code != 404 {
		t.Errorf("unknown table through the cascade: %d %.200q %v, want 404", r.Code, r.Body, err)
	}

	// Figures, not assertions: one KeepAlive client, median of 50 after 5.
	t.Logf("MEASURE KeepAlive status query, median of 50: B's UNIX socket %v, B's TCP port %v, A→B cascade %v",
		median(keepAliveTimes(t, "unix", b.Socket(siteName), 5, 50)), median(keepAliveTimes(t, "tcp", tcpAddr(portB), 5, 50)),
		median(keepAliveTimes(t, "unix", a.Socket(siteName), 5, 50)))

	if err := b.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, faultBound, func() error {
		r, err := Query("unix", a.Socket(siteName), StatusQuery, queryTimeout)
		if err != nil {
			return err
		}
		return deadReply(r)
	})
}

// The real Perl client Monitoring::Livestatus over the TCP listener, with
// and without KeepAlive.
func TestPerlOverTCPListener(t *testing.T) {
	requirePerl(t)
	ic := shared(t)
	port := testutil.FreePort(t)
	px := startProxyWith(t, TCPSiteConfig(siteName, "127.0.0.1", icingaPort(t, ic), FastParams(3))+tcpKey(siteName, port, []string{"127.0.0.1"}, false))
	waitServing(t, px, aliveTimeout)
	start := programStart(t, "unix", ic.UnixPath)
	for _, keepalive := range []bool{false, true} {
		steps := []perlStep{
			{"all", "GET hosts\nColumns: name state\nFilter: name = host-7"},
			{"all", "GET nosuchtable"},
		}
		const repeats = 20
		for range repeats {
			steps = append(steps, perlStep{"scalar", "GET status\nColumns: program_start"})
		}
		res := runPerl(t, tcpAddr(port), keepalive, steps...)
		var hosts []map[string]any
		wantOK(t, "selectall_arrayref hosts", res[0], &hosts)
		if len(hosts) != 1 || hosts[0]["name"] != "host-7" {
			t.Errorf("keepalive=%v: hosts %v, want [host-7]", keepalive, hosts)
		}
		if res[1].OK != 0 || res[1].Code != 404 {
			t.Errorf("keepalive=%v: unknown table %+v, want error 404", keepalive, res[1])
		}
		var total float64
		ports := map[int]bool{}
		for i, r := range res[2:] {
			var ps int64
			wantOK(t, "selectscalar_value program_start", r, &ps)
			if ps != start {
				t.Errorf("keepalive=%v query %d: program_start %d, want %d", keepalive, i, ps, start)
			}
			total += r.Seconds
			ports[r.Port] = true
		}
		// With keepalive the status queries share one connection: the
		// proxy keeps a KeepAlive TCP client open after each answer. The
		// client would hide a close by reconnecting (after a 1 s pause),
		// so the answers alone do not show it. (The 404 before them closes
		// the connection, so they start on a new one.)
		if keepalive && (len(ports) != 1 || ports[0]) {
			t.Errorf("keepalive=true: %d status queries on local ports %v, want one kept connection", repeats, slices.Sorted(maps.Keys(ports)))
		}
		t.Logf("MEASURE perl over TCP keepalive=%v: status query mean %.2f ms over %d", keepalive, total/repeats*1000, repeats)
	}
}

// only_from: a client from an address outside the list is closed without
// an answer and logged once; listed IPv4 and IPv6 clients are served.
func TestTCPListenerOnlyFrom(t *testing.T) {
	ic := shared(t)
	port := testutil.FreePort(t)
	px := startProxyWith(t, TCPSiteConfig(siteName, "127.0.0.1", icingaPort(t, ic), FastParams(2))+
		tcpKey(siteName, port, []string{"127.0.0.1", "::1"}, false))
	waitServing(t, px, aliveTimeout)
	for i := range 3 {
		got, err := queryFrom(t, "127.0.0.2", port, StatusQuery)
		if err != nil || len(got) != 0 {
			t.Errorf("refused client, try %d: got %q %v, want a close without a byte", i, got, err)
		}
	}
	for _, addr := range []string{tcpAddr(port), net.JoinHostPort("::1", strconv.Itoa(port))} {
		if r, err := Query("tcp", addr, StatusQuery, queryTimeout); err != nil || r.Code != 200 {
			t.Errorf("allowed client on %s: %d %q %v", addr, r.Code, r.Body, err)
		}
	}
	log := px.Log()
	line := logLine(log, "refused a TCP client not in only_from")
	if n := strings.Count(log, "refused a TCP client not in only_from"); n != 1 || !strings.Contains(line, siteLogger) ||
		!strings.Contains(line, "from=127.0.0.2") || !strings.Contains(line, "port="+strconv.Itoa(port)) {
		t.Errorf("%d refusal log lines for 3 refusals from one source, want 1 naming the site, 127.0.0.2 and the port: %q", n, line)
	}
}

// tls: a missing certificate is an error at start naming the file while
// the UNIX socket serves; after the certificate is put in place a reload
// serves TLS with it, and daemon A cascades over TLS, verifying it.
func TestTCPListenerTLS(t *testing.T) {
	ic := shared(t)
	port := testutil.FreePort(t)
	cfg := TCPSiteConfig(siteName, "127.0.0.1", icingaPort(t, ic), FastParams(3)) + tcpKey(siteName, port, nil, true)
	b := startProxyWith(t, cfg)
	waitServing(t, b, aliveTimeout)
	pem := listen.CertPath(b.Root, siteIDOf(b.Root))
	testutil.Eventually(t, aliveTimeout, func() error {
		if line := logLine(b.Log(), "cannot serve site on TCP"); !strings.Contains(line, pem) || !strings.Contains(line, siteLogger) {
			return fmt.Errorf("log line %q does not name the site and %s", line, pem)
		}
		return nil
	})
	ca := sitecert.NewCA(t, siteIDOf(b.Root))
	ca.WriteSitePEM(t, siteIDOf(b.Root), pem)
	reloadWith(t, b, cfg)

	c, err := tls.DialWithDialer(&net.Dialer{Timeout: queryTimeout}, "tcp", tcpAddr(port), ca.ClientConfig())
	if err != nil {
		t.Fatalf("TLS to the listener: %v", err)
	}
	conn := &Conn{Conn: c, r: bufio.NewReader(c)}
	defer c.Close()
	if err := conn.Send(StatusQuery, queryTimeout); err != nil {
		t.Fatal(err)
	}
	if r, err := conn.ReadFixed16(queryTimeout); err != nil || r.Code != 200 {
		t.Errorf("status over TLS: %d %q %v", r.Code, r.Body, err)
	}

	// Daemon A trusts the site CA, as a Checkmk site's CA bundle does.
	bundle := filepath.Join(t.TempDir(), "ca-certificates.crt")
	ca.WriteBundle(t, bundle)
	upstreamTLS := fmt.Sprintf("sites.update({%q: {'socket': ('tcp', {'address': ('127.0.0.1', %d), 'tls': ('encrypted', {'verify': True, 'ca_file_path': %q})}), 'channels': 2}})\n",
		siteName, port, bundle)
	a := startProxyWith(t, upstreamTLS)
	waitServing(t, a, aliveTimeout)
	req, want := hostsQuery(40, 45, "ResponseHeader: fixed16\n")
	if r, err := Query("unix", a.Socket(siteName), req, queryTimeout); err != nil || r.Code != 200 || !sameLines(r.Body, want) {
		t.Errorf("cascade over TLS: %d %.200q %v", r.Code, r.Body, err)
	}
}

// A reload that changes only the port re-binds the listener: the old port
// is closed, the new one serves, and the site keeps its channels and its
// clients, the KeepAlive TCP client on the old port included.
func TestTCPListenerReloadChangesPort(t *testing.T) {
	ic := shared(t)
	port1, port2 := testutil.FreePort(t), testutil.FreePort(t)
	base := TCPSiteConfig(siteName, "127.0.0.1", icingaPort(t, ic), FastParams(2))
	px := startProxyWith(t, base+tcpKey(siteName, port1, nil, false))
	waitServing(t, px, aliveTimeout)
	tcpClient, err := Dial("tcp", tcpAddr(port1), queryTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer tcpClient.Close()
	ask := func(c *Conn, what string) {
		t.Helper()
		if err := c.Send(keepAliveStatus, queryTimeout); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if r, err := c.ReadFixed16(queryTimeout); err != nil || r.Code != 200 {
			t.Fatalf("%s: %d %q %v", what, r.Code, r.Body, err)
		}
	}
	ask(tcpClient, "KeepAlive client on the first port")
	channels := func() []uint64 {
		var ids []uint64
		testutil.Eventually(t, aliveTimeout, func() error {
			f, _, err := px.Status()
			if err != nil {
				return err
			}
			s, _ := f.Site(siteName)
			ids = ids[:0]
			for _, ch := range s.Channels {
				ids = append(ids, ch.ID)
			}
			if s.State != "alive" || len(ids) == 0 {
				return fmt.Errorf("site %s with channels %v", s.State, ids)
			}
			return nil
		})
		slices.Sort(ids)
		return ids
	}
	before := channels()

	reloadWith(t, px, base+tcpKey(siteName, port2, nil, false))
	if c, err := net.DialTimeout("tcp", tcpAddr(port1), queryTimeout); err == nil {
		c.Close()
		t.Error("the old port still accepts after the reload")
	}
	if r, err := Query("tcp", tcpAddr(port2), StatusQuery, queryTimeout); err != nil || r.Code != 200 {
		t.Errorf("new port: %d %q %v", r.Code, r.Body, err)
	}
	ask(tcpClient, "KeepAlive client on the old port after the reload")
	if after := channels(); !slices.Equal(before, after) {
		t.Errorf("channels %v before the reload, %v after: want the same (no restart)", before, after)
	}
	if line := logLine(px.Log(), "site reconfigured"); !strings.Contains(line, "[tcp]") {
		t.Errorf("reload log line %q does not name the tcp key as the change", line)
	}
}

// A port in use is an error for that site's TCP listener only, named with
// site and port; the daemon runs on and serves the site's UNIX socket.
func TestTCPListenerPortInUse(t *testing.T) {
	ic := shared(t)
	busy, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	px := startProxyWith(t, TCPSiteConfig(siteName, "127.0.0.1", icingaPort(t, ic), FastParams(2))+tcpKey(siteName, port, nil, false))
	waitServing(t, px, aliveTimeout)
	testutil.Eventually(t, aliveTimeout, func() error {
		line := logLine(px.Log(), "cannot serve site on TCP")
		for _, want := range []string{siteLogger, "port=" + strconv.Itoa(port), "address already in use"} {
			if !strings.Contains(line, want) {
				return fmt.Errorf("log line %q lacks %q", line, want)
			}
		}
		return nil
	})
	if !px.Running() {
		t.Fatal("the daemon exited over a port in use")
	}
}
