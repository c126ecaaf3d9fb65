package upstream

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"liveproxyd/internal/fakesite"
	"liveproxyd/internal/lsclient"
)

// siteCA is a throwaway CA shaped like an OMD site CA; it signs site
// certificates the way Checkmk does: CN = site ID, no subjectAltName.
type siteCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newSiteCA(t *testing.T, name string) siteCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Site '" + name + "' local CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return siteCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// siteCert signs a certificate with CN = siteID and no SAN, valid until
// notAfter.
func (ca siteCA) siteCert(t *testing.T, siteID string, notAfter time.Time) tls.Certificate {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: siteID},
		NotBefore:    notAfter.Add(-2 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// bundle writes the CA as ROOT/var/ssl/ca-certificates.crt and returns ROOT.
func (ca siteCA) bundle(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	path := filepath.Join(root, DefaultCAFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, ca.pem, 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// tlsSite serves a fake Livestatus site over TLS on loopback.
func tlsSite(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	s, err := fakesite.Listen("tcp", "127.0.0.1:0", fakesite.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Addr()
}

// askProgramStart dials with d and runs one Livestatus query over it.
func askProgramStart(t *testing.T, d Dialer) error {
	t.Helper()
	c, err := dialCtx(t, d)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(hangGuard))
	got, err := lsclient.ProgramStart(c)
	if err != nil {
		t.Fatalf("query over TLS: %v", err)
	}
	if got != strconv.Itoa(fakesite.DefaultProgramStart) {
		t.Fatalf("program_start %q, want %d", got, fakesite.DefaultProgramStart)
	}
	return nil
}

// TestTLSVerifiesChainNotHostName connects the way Checkmk's client does: a
// site certificate with the site ID as CN and no SAN, dialled by IP, is
// accepted when it chains to the site's CA bundle.
func TestTLSVerifiesChainNotHostName(t *testing.T) {
	ca := newSiteCA(t, "central")
	addr := tlsSite(t, ca.siteCert(t, "remote1", time.Now().Add(time.Hour)))
	root := ca.bundle(t)
	if err := askProgramStart(t, New(root, Target{Network: "tcp", Address: addr, TLS: true, Verify: true})); err != nil {
		t.Fatalf("site certificate without SAN refused: %v", err)
	}
}

func TestTLSRefusesBadCertificates(t *testing.T) {
	ca := newSiteCA(t, "central")
	for _, tc := range []struct {
		name string
		cert tls.Certificate
		want string
	}{
		{"another CA", newSiteCA(t, "other").siteCert(t, "remote1", time.Now().Add(time.Hour)), "unknown authority"},
		{"expired", ca.siteCert(t, "remote1", time.Now().Add(-time.Minute)), "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := tlsSite(t, tc.cert)
			err := askProgramStart(t, New(ca.bundle(t), Target{Network: "tcp", Address: addr, TLS: true, Verify: true}))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "remote1") {
				t.Fatalf("error %v, want a refusal naming %q and the certificate's CN", err, tc.want)
			}
		})
	}
}

// TestTLSVerifyFalseConnects: Checkmk's ('encrypted', {'verify': False})
// connects to a certificate no bundle vouches for, and needs no bundle.
func TestTLSVerifyFalseConnects(t *testing.T) {
	addr := tlsSite(t, newSiteCA(t, "other").siteCert(t, "remote1", time.Now().Add(-time.Minute)))
	if err := askProgramStart(t, New(t.TempDir(), Target{Network: "tcp", Address: addr, TLS: true, Verify: false})); err != nil {
		t.Fatalf("verify False: %v", err)
	}
}
