package driver_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"liveproxyd/adapters/upstream"
	"liveproxyd/core"
	"liveproxyd/internal/fakesite"
	"liveproxyd/livestatus"
)

// testCA is a throwaway certificate authority and a server certificate it
// signed for 127.0.0.1.
type testCA struct {
	caPEM  []byte
	server tls.Certificate
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "liveproxyd test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{
		caPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		server: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
	}
}

func (ca testCA) writeBundle(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, ca.caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func startTLSSite(t *testing.T, ca testCA) *fakesite.Server {
	t.Helper()
	return startSite(t, "tcp", fakesite.Options{TLS: &tls.Config{Certificates: []tls.Certificate{ca.server}}})
}

func TestTLSVerified(t *testing.T) {
	ca := newTestCA(t)
	site := startTLSSite(t, ca)
	target := upstream.Target{Network: "tcp", Address: site.Addr(), TLS: true, Verify: true, CAFile: ca.writeBundle(t)}
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
	target := upstream.Target{Network: "tcp", Address: site.Addr(), TLS: true, Verify: true, CAFile: other.writeBundle(t)}
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
