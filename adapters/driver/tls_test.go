package driver_test

import (
	"bytes"
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"liveproxyd/adapters/upstream"
	"liveproxyd/core"
	"liveproxyd/internal/fakesite"
	"liveproxyd/internal/sitecert"
	"liveproxyd/livestatus"
)

// newTestCA is a throwaway site CA (internal/sitecert).
func newTestCA(t *testing.T) sitecert.CA { return sitecert.NewCA(t, "tls") }

// writeBundle writes ca's PEM bundle to a temporary file.
func writeBundle(t *testing.T, ca sitecert.CA) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	ca.WriteBundle(t, path)
	return path
}

func startTLSSite(t *testing.T, ca sitecert.CA) *fakesite.Server {
	t.Helper()
	cert := ca.SiteCert(t, "tls", time.Now().Add(time.Hour))
	return startSite(t, "tcp", fakesite.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
}

func TestTLSVerified(t *testing.T) {
	ca := newTestCA(t)
	site := startTLSSite(t, ca)
	target := upstream.Target{Network: "tcp", Address: site.Addr(), TLS: true, Verify: true, CAFile: writeBundle(t, ca)}
	p := startProxy(t, testConfig("tls"), target)
	p.waitState(t, core.SiteAlive)
	got := p.ask(t, hostsQuery(fixed16))
	code, body := splitFixed16(t, got)
	if code != 200 || !bytes.Contains(body, []byte("host")) {
		t.Fatalf("over TLS: %d %q", code, body)
	}
}

func TestTLSWrongCAIsRefused(t *testing.T) {
	site := startTLSSite(t, newTestCA(t))
	other := newTestCA(t) // a CA that did not sign the site's certificate
	target := upstream.Target{Network: "tcp", Address: site.Addr(), TLS: true, Verify: true, CAFile: writeBundle(t, other)}
	p := startProxy(t, testConfig("tls"), target)
	p.askUntil(t, hostsQuery(fixed16), livestatus.CodeBadGateway)
	if snap := p.snapshot(t); !strings.Contains(snap.LastError, "certificate") {
		t.Errorf("last error %q does not mention the certificate", snap.LastError)
	}
}

func TestTLSWithoutVerification(t *testing.T) {
	site := startTLSSite(t, newTestCA(t))
	// No CA bundle exists at all: with verify off none is needed.
	target := upstream.Target{Network: "tcp", Address: site.Addr(), TLS: true, Verify: false}
	p := startProxy(t, testConfig("tls"), target)
	p.waitState(t, core.SiteAlive)
	if code, _ := splitFixed16(t, p.ask(t, hostsQuery(fixed16))); code != 200 {
		t.Fatalf("status %d", code)
	}
}

func TestTLSMissingCABundle(t *testing.T) {
	site := startTLSSite(t, newTestCA(t))
	// Verify on and the default bundle ROOT/var/ssl/... does not exist.
	target := upstream.Target{Network: "tcp", Address: site.Addr(), TLS: true, Verify: true}
	p := startProxy(t, testConfig("tls"), target)
	p.askUntil(t, hostsQuery(fixed16), livestatus.CodeBadGateway)
	if snap := p.snapshot(t); !strings.Contains(snap.LastError, "CA bundle") {
		t.Errorf("last error %q does not mention the CA bundle", snap.LastError)
	}
}
