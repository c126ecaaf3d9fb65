package main_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"liveproxyd/adapters/config"
	"liveproxyd/internal/fakesite"
	"liveproxyd/internal/sitecert"
	"liveproxyd/internal/testutil"
)

// TestTLSSiteWithCheckmkCertificate: a remote site whose certificate is a
// Checkmk site certificate (CN = site ID, no SAN), dialled by IP address,
// with the site CA in ROOT/var/ssl/ca-certificates.crt. Checkmk's client
// accepts it; so must the daemon, instead of answering every query 502.
func TestTLSSiteWithCheckmkCertificate(t *testing.T) {
	r := newRoot(t)
	ca := sitecert.NewCA(t, "central")
	ca.WriteBundle(t, filepath.Join(r.dir, config.CABundle))
	remote, err := fakesite.Listen("tcp", "127.0.0.1:0", fakesite.Options{ProgramStart: 5150,
		TLS: &tls.Config{Certificates: []tls.Certificate{ca.SiteCert(t, "remote1", time.Now().Add(time.Hour))}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { remote.Close() })
	host, port, _ := net.SplitHostPort(remote.Addr())
	r.writeConfig(fmt.Sprintf("sites.update({'remote1': {'socket': ('tcp', {'address': ('%s', %s), "+
		"'tls': ('encrypted', {'verify': True})}), 'heartbeat': (0.2, 1.0), 'connect_retry': 0.2}})\n", host, port))
	startForeground(t, r)
	waitSiteState(t, r, "remote1", "alive")
	if got := programStart(t, testutil.Dial(t, "unix", r.path("tmp/run/liveproxy/remote1"))); got != "5150" {
		t.Fatalf("program_start %q through the proxy, want 5150", got)
	}
}
