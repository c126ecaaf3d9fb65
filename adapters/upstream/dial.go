// Package upstream opens the connections ("channels") to a remote
// Livestatus site: UNIX, TCP, TCP over IPv6, each optionally with TLS.
package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"liveproxyd/adapters/tcpopt"
)

// Target says where a site's Livestatus listens. It mirrors config.Socket so
// this package does not depend on the config loader.
type Target struct {
	Network string // "unix", "tcp" or "tcp6"
	Address string // a path for unix, host:port otherwise
	TLS     bool
	Verify  bool   // verify the server certificate (TLS only)
	CAFile  string // CA bundle; empty means ROOT/var/ssl/ca-certificates.crt
}

// DefaultCAFile is the OMD site's CA bundle, relative to the site root.
const DefaultCAFile = "var/ssl/ca-certificates.crt"

// Dialer opens one channel. It honours ctx for the whole connect, including
// a TLS handshake, so the site loop's connect timeout bounds it.
type Dialer func(ctx context.Context) (net.Conn, error)

// New returns the dialer for t. root is the OMD site root, used for the
// default CA bundle. A TLS target whose CA bundle cannot be read still gets
// a dialer: every dial then fails with that error, which the site shows as
// its last connect error instead of the daemon refusing to start.
func New(root string, t Target) Dialer {
	switch t.Network {
	case "unix":
		if t.TLS {
			return failing(errors.New("TLS over a UNIX socket is not supported"))
		}
		return func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", t.Address)
		}
	case "tcp", "tcp6":
	default:
		return failing(fmt.Errorf("unknown network %q", t.Network))
	}
	if !t.TLS {
		return func(ctx context.Context) (net.Conn, error) {
			return dialTCP(ctx, t.Network, t.Address)
		}
	}
	cfg, err := tlsConfig(root, t)
	if err != nil {
		return failing(err)
	}
	return func(ctx context.Context) (net.Conn, error) {
		raw, err := dialTCP(ctx, t.Network, t.Address)
		if err != nil {
			return nil, err
		}
		c := tls.Client(raw, cfg)
		if err := c.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", t.Address, err)
		}
		return c, nil
	}
}

func failing(err error) Dialer {
	return func(context.Context) (net.Conn, error) { return nil, err }
}

// dialTCP connects and tunes the socket: NODELAY so our requests leave at
// once, and QUICKACK before every read (adapters/tcpopt).
func dialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	tuned, err := tcpopt.Tune(tc)
	if err != nil {
		c.Close()
		return nil, err
	}
	return tuned, nil
}

// tlsConfig builds the client side of a TLS channel the way Checkmk's own
// Livestatus client connects: the server's chain is verified against the CA
// bundle, but the host name is not. Checkmk's site certificates carry the
// site ID as CN and usually no subjectAltName, so checking them against the
// dialled address would refuse every such site (docs/checkmk.md, "TLS").
// crypto/tls can only verify chain and name together, hence
// InsecureSkipVerify plus our own chain check in VerifyConnection.
func tlsConfig(root string, t Target) (*tls.Config, error) {
	host, _, err := net.SplitHostPort(t.Address)
	if err != nil {
		return nil, fmt.Errorf("TLS target %q: %w", t.Address, err)
	}
	// ServerName still goes out as SNI; with verification off it is not checked.
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}
	if !t.Verify {
		// The Checkmk setting "verify: False" exists for self-signed remote
		// sites; the operator chose it explicitly.
		return cfg, nil
	}
	path := t.CAFile
	if path == "" {
		path = filepath.Join(root, DefaultCAFile)
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA bundle %s: no certificates found", path)
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		return verifyChain(cs.PeerCertificates, pool)
	}
	return cfg, nil
}

// verifyChain checks that the server's certificate chains up to a CA in
// roots and that every certificate on the way is valid now (expiry, CA
// constraints, key usage for a TLS server): everything x509 verification
// does except matching a host name, which VerifyOptions.DNSName = ""
// leaves out.
func verifyChain(certs []*x509.Certificate, roots *x509.CertPool) error {
	if len(certs) == 0 {
		return errors.New("server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
	if err != nil {
		return fmt.Errorf("server certificate (CN %q): %w", certs[0].Subject.CommonName, err)
	}
	return nil
}
