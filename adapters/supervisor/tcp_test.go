package supervisor_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"liveproxyd/adapters/config"
	"liveproxyd/adapters/listen"
	"liveproxyd/adapters/statefile"
	"liveproxyd/adapters/supervisor"
	"liveproxyd/internal/lsclient"
	"liveproxyd/internal/sitecert"
	"liveproxyd/internal/testutil"
)

// dialTCP connects to the proxy's TCP port on loopback, from the source
// address from (nil: the default).
func dialTCP(t *testing.T, port int, from *net.TCPAddr) (net.Conn, error) {
	t.Helper()
	d := net.Dialer{Timeout: testutil.HangGuard}
	if from != nil {
		d.LocalAddr = from
	}
	nc, err := d.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err == nil {
		t.Cleanup(func() { nc.Close() })
	}
	return nc, err
}

func mustDialTCP(t *testing.T, port int) net.Conn {
	t.Helper()
	nc, err := dialTCP(t, port, nil)
	if err != nil {
		t.Fatalf("dial TCP port %d: %v", port, err)
	}
	return nc
}

func withTCP(s config.Site, port int, tls bool, onlyFrom ...string) config.Site {
	s.TCP = &config.TCP{Port: port, TLS: tls}
	for _, p := range onlyFrom {
		s.TCP.OnlyFrom = append(s.TCP.OnlyFrom, netip.MustParsePrefix(p))
	}
	return s
}

// The TCP port serves the same site loop as the UNIX socket; a reload that
// changes only the port re-binds it and keeps the site's channels and
// every client, the TCP ones included.
func TestTCPReloadOfPortKeepsChannelsAndClients(t *testing.T) {
	root := testutil.ShortDir(t)
	site := startSite(t, 4444)
	sup := newSupervisor(t, root, slog.New(slog.DiscardHandler))
	port1, port2 := testutil.FreePort(t), testutil.FreePort(t)
	cfg := withTCP(siteConfig("s1", site, 2), port1, false)
	if err := sup.Apply(&config.Config{Sites: []config.Site{cfg}}); err != nil {
		t.Fatal(err)
	}
	unixClient := dial(t, supervisor.SocketPath(root, "s1"))
	tcpClient := mustDialTCP(t, port1)
	if a, b := programStart(t, unixClient), programStart(t, tcpClient); a != "4444" || b != "4444" {
		t.Fatalf("program_start over UNIX %s, over TCP %s; want 4444 both", a, b)
	}
	waitAlive(t, sup, "s1")
	before := stateOf(t, sup, "s1").Channels

	if err := sup.Apply(&config.Config{Sites: []config.Site{withTCP(cfg, port2, false)}}); err != nil {
		t.Fatal(err)
	}
	if nc, err := dialTCP(t, port1, nil); err == nil {
		nc.Close()
		t.Error("the old port still accepts after the reload")
	}
	if got := programStart(t, mustDialTCP(t, port2)); got != "4444" {
		t.Errorf("new port: program_start %s", got)
	}
	// The KeepAlive clients of both kinds go on on their connections.
	if a, b := programStart(t, unixClient), programStart(t, tcpClient); a != "4444" || b != "4444" {
		t.Errorf("after the reload: UNIX client %s, TCP client %s", a, b)
	}
	after := stateOf(t, sup, "s1").Channels
	if len(before) == 0 || !slices.EqualFunc(before, after, func(a, b statefile.Channel) bool { return a.ID == b.ID }) {
		t.Errorf("channels before %+v, after %+v: want the same ones (no restart)", before, after)
	}

	// Removing the key closes the port; the site runs on.
	if err := sup.Apply(&config.Config{Sites: []config.Site{siteConfig("s1", site, 2)}}); err != nil {
		t.Fatal(err)
	}
	if nc, err := dialTCP(t, port2, nil); err == nil {
		nc.Close()
		t.Error("the port still accepts after the tcp key was removed")
	}
	if got := programStart(t, unixClient); got != "4444" {
		t.Errorf("after removing tcp: UNIX client %s", got)
	}
}

// A port in use is an error for that site's TCP listener only, naming the
// site and the port: its UNIX socket and the other sites are served, and
// a later reload binds the port once it is free.
func TestTCPPortInUseFailsOnlyThatListener(t *testing.T) {
	root := testutil.ShortDir(t)
	site := startSite(t, 5555)
	var logs testutil.Buffer
	sup := newSupervisor(t, root, slog.New(slog.NewTextHandler(&logs, nil)))
	busy, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	busyPort, freeP := busy.Addr().(*net.TCPAddr).Port, testutil.FreePort(t)
	cfg := &config.Config{Sites: []config.Site{
		withTCP(siteConfig("s1", site, 2), busyPort, false),
		withTCP(siteConfig("s2", site, 2), freeP, false),
	}}
	err = sup.Apply(cfg)
	want := "site s1 TCP port " + strconv.Itoa(busyPort) + ": "
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Apply: %v, want an error with %q and the cause", err, want)
	}
	if strings.Contains(err.Error(), "s2") {
		t.Errorf("Apply blames s2 too: %v", err)
	}
	if !strings.Contains(logs.String(), "cannot serve site on TCP") {
		t.Errorf("no log line for the failed listener:\n%s", logs.String())
	}
	// The state files show both listeners, s1's with its error.
	if got := stateOf(t, sup, "s1").TCP; got == nil || got.Address != ":"+strconv.Itoa(busyPort) || got.TLS ||
		!strings.Contains(got.Error, "address already in use") {
		t.Errorf("s1's TCP listener in the state: %+v, want :%d with the bind error", got, busyPort)
	}
	if got, want := stateOf(t, sup, "s2").TCP, (statefile.TCPListener{Address: ":" + strconv.Itoa(freeP)}); got == nil || *got != want {
		t.Errorf("s2's TCP listener in the state: %+v, want %+v", got, want)
	}
	if got := programStart(t, dial(t, supervisor.SocketPath(root, "s1"))); got != "5555" {
		t.Errorf("s1 over UNIX: %s", got)
	}
	if got := programStart(t, mustDialTCP(t, freeP)); got != "5555" {
		t.Errorf("s2 over TCP: %s", got)
	}

	busy.Close()
	if err := sup.Apply(cfg); err != nil {
		t.Fatalf("reload with the port free: %v", err)
	}
	if got := programStart(t, mustDialTCP(t, busyPort)); got != "5555" {
		t.Errorf("s1 over TCP after the reload: %s", got)
	}
	if got := stateOf(t, sup, "s1").TCP; got == nil || got.Error != "" {
		t.Errorf("s1's TCP listener in the state after the reload: %+v, want it served", got)
	}
}

// only_from changes apply without closing the port: the next client from
// outside the list is closed at once, one inside is served.
func TestTCPOnlyFromChangeAppliesInPlace(t *testing.T) {
	root := testutil.ShortDir(t)
	site := startSite(t, 6666)
	sup := newSupervisor(t, root, slog.New(slog.DiscardHandler))
	port := testutil.FreePort(t)
	second := &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}
	open := withTCP(siteConfig("s1", site, 2), port, false)
	if err := sup.Apply(&config.Config{Sites: []config.Site{open}}); err != nil {
		t.Fatal(err)
	}
	kept, err := dialTCP(t, port, second)
	if err != nil {
		t.Fatal(err)
	}
	if got := programStart(t, kept); got != "6666" {
		t.Fatalf("127.0.0.2 with everyone allowed: %s", got)
	}
	closed := withTCP(open, port, false, "127.0.0.1/32", "::1/128")
	if err := sup.Apply(&config.Config{Sites: []config.Site{closed}}); err != nil {
		t.Fatal(err)
	}
	if got := programStart(t, kept); got != "6666" {
		t.Errorf("the client admitted before the change lost its connection: %s", got)
	}
	refused, err := dialTCP(t, port, second)
	if err != nil {
		t.Fatal(err)
	}
	refused.SetDeadline(time.Now().Add(testutil.HangGuard))
	io.WriteString(refused, "GET status\nColumns: program_start\n\n")
	if b, _ := io.ReadAll(refused); len(b) != 0 {
		t.Errorf("127.0.0.2 outside only_from got %q, want the connection closed", b)
	}
	if got := programStart(t, mustDialTCP(t, port)); got != "6666" {
		t.Errorf("127.0.0.1 inside only_from: %s", got)
	}
}

// tls serves the site's certificate from ROOT/etc/ssl/sites/$OMD_SITE.pem;
// a missing one is an error naming the file, and the site's UNIX socket
// is served anyway.
func TestTCPTLSUsesSiteCertificate(t *testing.T) {
	root := testutil.ShortDir(t)
	t.Setenv("OMD_SITE", "central")
	site := startSite(t, 7777)
	sup := newSupervisor(t, root, slog.New(slog.DiscardHandler))
	port := testutil.FreePort(t)
	cfg := &config.Config{Sites: []config.Site{withTCP(siteConfig("s1", site, 2), port, true)}}
	pemPath := listen.CertPath(root, "central")
	err := sup.Apply(cfg)
	if err == nil || !strings.Contains(err.Error(), pemPath) || !strings.Contains(err.Error(), "site s1 TCP port") {
		t.Fatalf("Apply without a certificate: %v, want an error naming %s", err, pemPath)
	}
	if got := programStart(t, dial(t, supervisor.SocketPath(root, "s1"))); got != "7777" {
		t.Errorf("UNIX socket without a certificate: %s", got)
	}
	if got := stateOf(t, sup, "s1").TCP; got == nil || !got.TLS || !strings.Contains(got.Error, pemPath) {
		t.Errorf("TCP listener in the state without a certificate: %+v, want TLS and an error naming %s", got, pemPath)
	}

	ca := sitecert.NewCA(t, "central")
	ca.WriteSitePEM(t, "central", pemPath)
	if err := sup.Apply(cfg); err != nil {
		t.Fatalf("reload with the certificate: %v", err)
	}
	tc, err := tls.DialWithDialer(&net.Dialer{Timeout: testutil.HangGuard}, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		ca.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if got := programStart(t, tc); got != "7777" {
		t.Errorf("over TLS: %s", got)
	}
	if cn := tc.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "central" {
		t.Errorf("served certificate CN %q, want the site ID central", cn)
	}
}

// siteIDFallback: without OMD_SITE the certificate is the root's base
// name, the site ID of an OMD root /omd/sites/SITE.
func TestTCPTLSCertificateWithoutOMDSite(t *testing.T) {
	root := filepath.Join(testutil.ShortDir(t), "mysite")
	t.Setenv("OMD_SITE", "")
	site := startSite(t, 8888)
	sup := newSupervisor(t, root, slog.New(slog.DiscardHandler))
	ca := sitecert.NewCA(t, "mysite")
	ca.WriteSitePEM(t, "mysite", listen.CertPath(root, "mysite"))
	port := testutil.FreePort(t)
	if err := sup.Apply(&config.Config{Sites: []config.Site{withTCP(siteConfig("s1", site, 2), port, true)}}); err != nil {
		t.Fatal(err)
	}
	tc, err := tls.DialWithDialer(&net.Dialer{Timeout: testutil.HangGuard}, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		ca.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if got := programStart(t, tc); got != "8888" {
		t.Errorf("over TLS: %s", got)
	}
}

// A TCP client of a dead site gets the same immediate 502 as a UNIX
// client: both reach the one site loop.
func TestTCPClientOfDeadSiteGets502(t *testing.T) {
	root := testutil.ShortDir(t)
	sup := newSupervisor(t, root, slog.New(slog.DiscardHandler))
	port := testutil.FreePort(t)
	dead := withTCP(siteConfig("s1", startSite(t, 0), 2), port, false)
	dead.Socket.Address = filepath.Join(testutil.ShortDir(t), "nothing-listens-here")
	if err := sup.Apply(&config.Config{Sites: []config.Site{dead}}); err != nil {
		t.Fatal(err)
	}
	for _, network := range []string{"unix", "tcp"} {
		testutil.Eventually(t, testutil.HangGuard, func() error {
			var nc net.Conn
			if network == "unix" {
				nc = dial(t, supervisor.SocketPath(root, "s1"))
			} else {
				nc = mustDialTCP(t, port)
			}
			nc.SetDeadline(time.Now().Add(testutil.HangGuard))
			_, err := lsclient.ProgramStart(nc)
			nc.Close()
			if err != nil && strings.Contains(err.Error(), "status 502") && strings.Contains(err.Error(), "s1") {
				return nil
			}
			return fmt.Errorf("%s client: %v, want 502 naming the site", network, err)
		})
	}
}

// servedCert is the certificate a new TLS client of port gets, checked
// against ca.
func servedCert(t *testing.T, port int, ca sitecert.CA) (*tls.Conn, []byte) {
	t.Helper()
	tc, err := tls.DialWithDialer(&net.Dialer{Timeout: testutil.HangGuard}, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		ca.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	return tc, tc.ConnectionState().PeerCertificates[0].Raw
}

// certInFile is the certificate in a site PEM file.
func certInFile(t *testing.T, path string) []byte {
	t.Helper()
	c, err := tls.LoadX509KeyPair(path, path)
	if err != nil {
		t.Fatal(err)
	}
	return c.Certificate[0]
}

// A renewed site certificate is served to new TLS clients after the next
// reload, though the configuration did not change: the port is not
// re-bound and the clients connected before go on. A file that cannot
// be read at a reload leaves the certificate served before.
func TestTCPReloadServesRenewedCertificate(t *testing.T) {
	root := testutil.ShortDir(t)
	t.Setenv("OMD_SITE", "central")
	site := startSite(t, 7171)
	var logs testutil.Buffer
	sup := newSupervisor(t, root, slog.New(slog.NewTextHandler(&logs, nil)))
	port := testutil.FreePort(t)
	cfg := &config.Config{Sites: []config.Site{withTCP(siteConfig("s1", site, 2), port, true)}}
	pemPath := listen.CertPath(root, "central")
	ca := sitecert.NewCA(t, "central")
	ca.WriteSitePEM(t, "central", pemPath)
	first := certInFile(t, pemPath)
	if err := sup.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	before, served := servedCert(t, port, ca)
	if !bytes.Equal(served, first) || programStart(t, before) != "7171" {
		t.Fatal("the first client does not get the certificate in the file")
	}

	ca.WriteSitePEM(t, "central", pemPath) // renewed: new key, new certificate
	renewed := certInFile(t, pemPath)
	if err := sup.Apply(cfg); err != nil {
		t.Fatalf("reload with the renewed certificate: %v", err)
	}
	after, served := servedCert(t, port, ca)
	if !bytes.Equal(served, renewed) {
		t.Error("a client after the reload does not get the renewed certificate")
	}
	if got := programStart(t, after); got != "7171" {
		t.Errorf("new TLS client: %s", got)
	}
	if got := programStart(t, before); got != "7171" {
		t.Errorf("the TLS client from before the reload: %s", got)
	}
	if n := strings.Count(logs.String(), "serving site on TCP"); n != 1 {
		t.Errorf("the port was bound %d times, want once (no re-bind for a new certificate)", n)
	}

	// A broken file: the reload says so, the renewed certificate stays.
	if err := os.WriteFile(pemPath, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sup.Apply(cfg); err == nil || !strings.Contains(err.Error(), pemPath) {
		t.Errorf("reload with a broken certificate: %v, want an error naming %s", err, pemPath)
	}
	if _, served := servedCert(t, port, ca); !bytes.Equal(served, renewed) {
		t.Error("after a failed re-read the listener does not serve the certificate it had")
	}
}
