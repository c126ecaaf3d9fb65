package listen

import (
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"liveproxyd/adapters/tcpopt"
)

// TCPOptions configure the TCP listener of one site (the site's `tcp` key:
// "Allow access via TCP", cascading Livestatus).
type TCPOptions struct {
	Site string // names the site in log lines
	// Host to bind; "" means every address, IPv4 and IPv6 (one dual-stack
	// socket), as Checkmk does. Tests bind loopback.
	Host string
	Port int // 0 picks a free port (tests)
	// OnlyFrom are the allowed client addresses and ranges; empty means
	// every address, as in Checkmk.
	OnlyFrom []netip.Prefix
	TLS      *tls.Config  // nil: plain TCP
	Logger   *slog.Logger // nil: slog.Default()
	// Now is the clock of the refusal log's rate limit; nil: time.Now.
	Now func() time.Time
}

// refusalLogEvery is how often one source address may show up in the log
// with a refused connection: often enough to see a misconfigured viewer,
// rarely enough that a scanner cannot flood the log.
const refusalLogEvery = time.Minute

// maxRefusalSources bounds the memory of the refusal log's rate limit. A
// refusal from a new source while it is full is not logged; the next line
// logged says how many were left out.
const maxRefusalSources = 256

// TCPListener accepts a site's TCP clients: it closes a connection from an
// address outside OnlyFrom at once, without reading a byte, and hands out
// the others with TCP_NODELAY and TCP_QUICKACK set, wrapped in TLS when
// configured.
type TCPListener struct {
	ln    *net.TCPListener
	opts  TCPOptions
	log   *slog.Logger
	allow atomic.Pointer[[]netip.Prefix]

	mu         sync.Mutex
	lastLogged map[netip.Addr]time.Time
	suppressed int
}

// TCP listens on o.Host:o.Port.
func TCP(o TCPOptions) (*TCPListener, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(o.Host, strconv.Itoa(o.Port)))
	if err != nil {
		return nil, fmt.Errorf("cannot listen on TCP port %d: %w", o.Port, err)
	}
	l := &TCPListener{ln: ln.(*net.TCPListener), opts: o, log: o.Logger.With("site", o.Site),
		lastLogged: map[netip.Addr]time.Time{}}
	l.SetOnlyFrom(o.OnlyFrom)
	return l, nil
}

// SetOnlyFrom replaces the allowed addresses; connections accepted from
// then on are checked against the new list. A reload that changes only
// only_from uses it, so the port is never closed.
func (l *TCPListener) SetOnlyFrom(p []netip.Prefix) {
	p = slices.Clone(p)
	l.allow.Store(&p)
}

// Port is the port the listener is bound to.
func (l *TCPListener) Port() int { return l.ln.Addr().(*net.TCPAddr).Port }

// Addr implements net.Listener.
func (l *TCPListener) Addr() net.Addr { return l.ln.Addr() }

// Close implements net.Listener; accepted connections stay open.
func (l *TCPListener) Close() error { return l.ln.Close() }

// Accept implements net.Listener. It loops over refused connections, so
// it returns only a client to serve or the listener's error.
func (l *TCPListener) Accept() (net.Conn, error) {
	for {
		tc, err := l.ln.AcceptTCP()
		if err != nil {
			return nil, err
		}
		from := peerAddr(tc)
		if !l.allowed(from) {
			tc.Close()
			l.logRefused(from)
			continue
		}
		// Go sets TCP_NODELAY on TCP sockets by default; set it anyway,
		// since our answers must never wait for the client's ACK. A
		// failure is ignored: the client is served, only maybe slower.
		c, _ := tcpopt.Tune(tc)
		if l.opts.TLS != nil {
			return tls.Server(c, l.opts.TLS), nil
		}
		return c, nil
	}
}

// peerAddr is the client's address; an IPv4 client on the dual-stack
// socket appears as ::ffff:a.b.c.d and is turned back into IPv4.
func peerAddr(c *net.TCPConn) netip.Addr {
	a, ok := c.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	return a.AddrPort().Addr().Unmap().WithZone("")
}

func (l *TCPListener) allowed(a netip.Addr) bool {
	allow := *l.allow.Load()
	if len(allow) == 0 {
		return true
	}
	for _, p := range allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// logRefused logs a refused connection once per source per
// refusalLogEvery.
func (l *TCPListener) logRefused(from netip.Addr) {
	now := l.opts.Now()
	l.mu.Lock()
	if last, ok := l.lastLogged[from]; ok && now.Sub(last) < refusalLogEvery {
		l.mu.Unlock()
		return
	}
	if len(l.lastLogged) >= maxRefusalSources {
		for a, t := range l.lastLogged {
			if now.Sub(t) >= refusalLogEvery {
				delete(l.lastLogged, a)
			}
		}
	}
	if _, ok := l.lastLogged[from]; !ok && len(l.lastLogged) >= maxRefusalSources {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	l.lastLogged[from] = now
	suppressed := l.suppressed
	l.suppressed = 0
	l.mu.Unlock()
	args := []any{"from", from.String(), "port", l.Port()}
	if suppressed > 0 {
		args = append(args, "not_logged_from_other_sources", suppressed)
	}
	l.log.Warn("refused a TCP client not in only_from (logged once a minute per source)", args...)
}

// CertDir holds the sites' own certificates, relative to the site root.
const CertDir = "etc/ssl/sites"

// CertPath is where Checkmk keeps site id's certificate and key, in one
// PEM file, under root.
func CertPath(root, id string) string { return filepath.Join(root, CertDir, id+".pem") }

// ServerTLS loads the certificate and key from one PEM file (Checkmk's
// layout) into a server configuration.
func ServerTLS(pemFile string) (*tls.Config, error) {
	c, err := LoadSiteCert(pemFile)
	if err != nil {
		return nil, err
	}
	return c.ServerTLS(), nil
}

// SiteCert is the certificate a TLS listener serves, read from one PEM
// file holding key and certificate. Reload reads the file again, so a
// renewed certificate is served to new connections without closing the
// port.
type SiteCert struct {
	path string
	cert atomic.Pointer[tls.Certificate]

	mu  sync.Mutex // serializes Reload
	sum [sha256.Size]byte
}

// LoadSiteCert reads the certificate and key from pemFile.
func LoadSiteCert(pemFile string) (*SiteCert, error) {
	c := &SiteCert{path: pemFile}
	if _, err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Path is the PEM file the certificate is read from.
func (c *SiteCert) Path() string { return c.path }

// Reload reads the file again and, if its content changed, serves the
// new certificate to every handshake from then on; connections already
// set up keep theirs. The content is compared, not the modification
// time, which a copy may keep and which cannot tell apart two writes in
// one second. A file that cannot be read or parsed leaves the served
// certificate as it was.
func (c *SiteCert) Reload() (changed bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	data, err := os.ReadFile(c.path)
	if err != nil {
		return false, fmt.Errorf("site certificate %s: %w", c.path, err)
	}
	sum := sha256.Sum256(data)
	if c.cert.Load() != nil && sum == c.sum {
		return false, nil
	}
	cert, err := tls.X509KeyPair(data, data)
	if err != nil {
		return false, fmt.Errorf("site certificate %s: %w", c.path, err)
	}
	c.cert.Store(&cert)
	c.sum = sum
	return true, nil
}

// ServerTLS is a server configuration that serves the certificate loaded
// last.
func (c *SiteCert) ServerTLS() *tls.Config {
	return &tls.Config{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.cert.Load(), nil },
		MinVersion:     tls.VersionTLS12,
	}
}
