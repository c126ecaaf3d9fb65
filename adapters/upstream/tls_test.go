package upstream

import (
	"crypto/tls"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"liveproxyd/internal/fakesite"
	"liveproxyd/internal/lsclient"
	"liveproxyd/internal/sitecert"
	"liveproxyd/internal/testutil"
)

// bundle installs ca's bundle under a new site root and returns the root.
func bundle(t *testing.T, ca sitecert.CA) string {
	t.Helper()
	root := t.TempDir()
	ca.WriteBundle(t, filepath.Join(root, DefaultCAFile))
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
	c.SetDeadline(time.Now().Add(testutil.HangGuard))
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
	ca := sitecert.NewCA(t, "central")
	addr := tlsSite(t, ca.SiteCert(t, "remote1", time.Now().Add(time.Hour)))
	root := bundle(t, ca)
	if err := askProgramStart(t, New(root, Target{Network: "tcp", Address: addr, TLS: true, Verify: true})); err != nil {
		t.Fatalf("site certificate without SAN refused: %v", err)
	}
}

func TestTLSRefusesBadCertificates(t *testing.T) {
	ca := sitecert.NewCA(t, "central")
	for _, tc := range []struct {
		name string
		cert tls.Certificate
		want string
	}{
		{"another CA", sitecert.NewCA(t, "other").SiteCert(t, "remote1", time.Now().Add(time.Hour)), "unknown authority"},
		{"expired", ca.SiteCert(t, "remote1", time.Now().Add(-time.Minute)), "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := tlsSite(t, tc.cert)
			err := askProgramStart(t, New(bundle(t, ca), Target{Network: "tcp", Address: addr, TLS: true, Verify: true}))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "remote1") {
				t.Fatalf("error %v, want a refusal naming %q and the certificate's CN", err, tc.want)
			}
		})
	}
}

// TestTLSVerifyFalseConnects: Checkmk's ('encrypted', {'verify': False})
// connects to a certificate no bundle vouches for, and needs no bundle.
func TestTLSVerifyFalseConnects(t *testing.T) {
	addr := tlsSite(t, sitecert.NewCA(t, "other").SiteCert(t, "remote1", time.Now().Add(-time.Minute)))
	if err := askProgramStart(t, New(t.TempDir(), Target{Network: "tcp", Address: addr, TLS: true, Verify: false})); err != nil {
		t.Fatalf("verify False: %v", err)
	}
}
