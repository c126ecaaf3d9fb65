package listen

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"liveproxyd/adapters/tcpopt"
	"liveproxyd/internal/sitecert"
	"liveproxyd/internal/testutil"
)

// ioWait bounds every read and accept in these tests; it only guards
// against a hang and is never a measured time.
const ioWait = 5 * time.Second

// otherSource is a second loopback source address (Linux routes all of
// 127/8 to lo), so a test can be a client outside only_from.
var otherSource = &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}

// fakeNow is a settable clock for the refusal log's rate limit.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeNow) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeNow) add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

func listenTCP(t *testing.T, o TCPOptions) *TCPListener {
	t.Helper()
	l, err := TCP(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// dial connects to port on host from the source address from (nil: any).
func dial(t *testing.T, host string, port int, from *net.TCPAddr) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: ioWait}
	if from != nil {
		d.LocalAddr = from
	}
	c, err := d.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// acceptOne returns the next connection the listener hands out.
func acceptOne(t *testing.T, l net.Listener) net.Conn {
	t.Helper()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := l.Accept()
		ch <- res{c, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		t.Cleanup(func() { r.c.Close() })
		return r.c
	case <-time.After(ioWait):
		t.Fatal("Accept returned nothing")
		return nil
	}
}

// closedByPeer reports whether the server closed c without sending data.
func closedByPeer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(ioWait))
	n, err := c.Read(make([]byte, 1))
	return n == 0 && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET))
}

// A client outside only_from is closed and never handed to the loop; an
// allowed one is, over IPv4 and over IPv6 on the same dual-stack socket.
func TestTCPOnlyFromAdmitsListedAndClosesOthers(t *testing.T) {
	var logs testutil.Buffer
	l := listenTCP(t, TCPOptions{Site: "s1", OnlyFrom: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	refused := dial(t, "127.0.0.1", l.Port(), otherSource)
	refused.Write([]byte("GET status\n\n"))
	ok4 := dial(t, "127.0.0.1", l.Port(), nil)
	got := acceptOne(t, l)
	if from := peerAddr(got.(*tcpopt.Conn).TCPConn); from != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("first client handed out is from %v, want 127.0.0.1 (the refused one must be skipped)", from)
	}
	if !closedByPeer(refused) {
		t.Error("the client from 127.0.0.2 was not closed")
	}
	if n := strings.Count(logs.String(), "refused a TCP client not in only_from"); n != 1 || strings.Count(logs.String(), "from=127.0.0.2") != 1 {
		t.Errorf("%d refusal lines, want 1 naming 127.0.0.2:\n%s", n, logs.String())
	}
	ok4.Write([]byte("x"))
	got.SetReadDeadline(time.Now().Add(ioWait))
	if b := make([]byte, 1); func() bool { n, _ := got.Read(b); return n != 1 || b[0] != 'x' }() {
		t.Error("no byte from the admitted IPv4 client")
	}

	dial(t, "::1", l.Port(), nil)
	got6 := acceptOne(t, l)
	if from := peerAddr(got6.(*tcpopt.Conn).TCPConn); from != netip.MustParseAddr("::1") {
		t.Errorf("IPv6 client from %v, want ::1", from)
	}
}

// An empty only_from admits everyone (Checkmk's behaviour), and a reload's
// SetOnlyFrom applies to the next connection without rebinding.
func TestTCPEmptyOnlyFromAdmitsEveryoneAndSetOnlyFromApplies(t *testing.T) {
	l := listenTCP(t, TCPOptions{Site: "s1", Logger: slog.New(slog.DiscardHandler)})
	dial(t, "127.0.0.1", l.Port(), otherSource)
	if from := peerAddr(acceptOne(t, l).(*tcpopt.Conn).TCPConn); from != netip.MustParseAddr("127.0.0.2") {
		t.Errorf("client from %v, want 127.0.0.2 admitted", from)
	}
	l.SetOnlyFrom([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/31")}) // .0 and .1
	refused := dial(t, "127.0.0.1", l.Port(), otherSource)
	dial(t, "127.0.0.1", l.Port(), nil)
	if from := peerAddr(acceptOne(t, l).(*tcpopt.Conn).TCPConn); from != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("client from %v, want 127.0.0.1 (127.0.0.2 is outside 127.0.0.0/31)", from)
	}
	if !closedByPeer(refused) {
		t.Error("127.0.0.2 was not closed after only_from changed")
	}
}

// Refusals are logged once per source per minute, so a scanner or a
// misconfigured viewer retrying in a loop cannot flood the log.
func TestTCPRefusalLoggedOncePerSourcePerMinute(t *testing.T) {
	var logs testutil.Buffer
	clock := &fakeNow{t: time.Unix(1_700_000_000, 0)}
	l := listenTCP(t, TCPOptions{Site: "s1", Host: "127.0.0.1", OnlyFrom: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: clock.now})
	// refuseN makes n refused connections and waits until Accept has
	// passed them: the allowed one behind them is handed out.
	refuseN := func(n int) {
		for range n {
			dial(t, "127.0.0.1", l.Port(), otherSource)
		}
		dial(t, "127.0.0.1", l.Port(), nil)
		acceptOne(t, l)
	}
	refuseN(5)
	if n := strings.Count(logs.String(), "refused a TCP client"); n != 1 {
		t.Fatalf("%d lines after 5 refusals in one minute, want 1", n)
	}
	clock.add(59 * time.Second)
	refuseN(2)
	if n := strings.Count(logs.String(), "refused a TCP client"); n != 1 {
		t.Fatalf("%d lines 59 s later, want still 1", n)
	}
	clock.add(2 * time.Second)
	refuseN(2)
	if n := strings.Count(logs.String(), "refused a TCP client"); n != 2 {
		t.Fatalf("%d lines after the minute, want 2", n)
	}
}

// The rate limit's memory is bounded: with the table full, a new source
// is not logged, and the next line logged says how many were left out.
func TestTCPRefusalLogMemoryIsBounded(t *testing.T) {
	var logs testutil.Buffer
	clock := &fakeNow{t: time.Unix(1_700_000_000, 0)}
	l := &TCPListener{opts: TCPOptions{Now: clock.now}, log: slog.New(slog.NewTextHandler(&logs, nil)),
		lastLogged: map[netip.Addr]time.Time{}}
	l.ln, _ = net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer l.ln.Close()
	for i := range maxRefusalSources + 10 {
		l.logRefused(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
	}
	if n := strings.Count(logs.String(), "refused"); n != maxRefusalSources || len(l.lastLogged) != maxRefusalSources {
		t.Fatalf("%d lines, %d sources remembered; want %d of each", n, len(l.lastLogged), maxRefusalSources)
	}
	clock.add(refusalLogEvery)
	l.logRefused(netip.MustParseAddr("10.9.9.9"))
	if log := logs.String(); strings.Count(log, "not_logged_from_other_sources=10") != 1 || len(l.lastLogged) != 1 {
		t.Errorf("after a minute: %d sources remembered, log:\n%s", len(l.lastLogged), log[max(0, len(log)-300):])
	}
}

// Accepted clients have TCP_NODELAY set and read through the TCP_QUICKACK
// wrapper, so our own listener never brings back the 40 ms Nagle and
// delayed-ACK stall.
func TestTCPAcceptedConnNoDelayAndQuickAck(t *testing.T) {
	l := listenTCP(t, TCPOptions{Site: "s1", Host: "127.0.0.1"})
	dial(t, "127.0.0.1", l.Port(), nil)
	c := acceptOne(t, l)
	qc, ok := c.(*tcpopt.Conn)
	if !ok {
		t.Fatalf("accepted %T, want the quickack wrapper", c)
	}
	raw, err := qc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var nodelay int
	raw.Control(func(fd uintptr) { nodelay, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NODELAY) })
	if err != nil || nodelay != 1 {
		t.Errorf("TCP_NODELAY %d (%v), want 1", nodelay, err)
	}
}

// With tls, clients speak TLS with the site's certificate, read from one
// PEM holding key and certificate, as Checkmk keeps it.
func TestTCPServesTLSWithSiteCertificate(t *testing.T) {
	root := t.TempDir()
	ca := sitecert.NewCA(t, "central")
	ca.WriteSitePEM(t, "central", CertPath(root, "central"))
	cfg, err := ServerTLS(CertPath(root, "central"))
	if err != nil {
		t.Fatal(err)
	}
	l := listenTCP(t, TCPOptions{Site: "s1", Host: "127.0.0.1", TLS: cfg})
	done := make(chan error, 1)
	go func() {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: ioWait}, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(l.Port())),
			ca.ClientConfig())
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_, err = c.Write([]byte("GET status\n\n"))
		done <- err
	}()
	c := acceptOne(t, l)
	if _, ok := c.(*tls.Conn); !ok {
		t.Fatalf("accepted %T, want *tls.Conn", c)
	}
	c.SetReadDeadline(time.Now().Add(ioWait))
	b := make([]byte, 12)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "GET status\n\n" {
		t.Errorf("read %q %v through TLS", b, err)
	}
	if err := <-done; err != nil {
		t.Errorf("TLS client: %v", err)
	}
	// The client's check can fail: a client trusting another CA refuses
	// the listener's certificate.
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Read(make([]byte, 1))
			c.Close()
		}
	}()
	stranger := sitecert.NewCA(t, "elsewhere").ClientConfig()
	if c, err := tls.DialWithDialer(&net.Dialer{Timeout: ioWait}, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(l.Port())), stranger); err == nil {
		c.Close()
		t.Error("a client trusting another CA accepted the site certificate")
	}
}

func TestServerTLSNamesAMissingOrBadCertificate(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "etc/ssl/sites/nosite.pem")
	if _, err := ServerTLS(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing certificate: %v, want an error naming %s", err, missing)
	}
	// A PEM with the certificate but without its key (a copy of the CA
	// bundle put there by mistake) is refused too, naming the file.
	noKey := filepath.Join(dir, "nokey.pem")
	sitecert.NewCA(t, "s").WriteBundle(t, noKey)
	if _, err := ServerTLS(noKey); err == nil || !strings.Contains(err.Error(), noKey) {
		t.Errorf("certificate without key: %v, want an error naming %s", err, noKey)
	}
}

// Reload replaces the served certificate only when the file's content
// changed, and a file that cannot be parsed keeps the one served.
func TestSiteCertReloadsOnlyAChangedFile(t *testing.T) {
	path := CertPath(t.TempDir(), "central")
	ca := sitecert.NewCA(t, "central")
	ca.WriteSitePEM(t, "central", path)
	c, err := LoadSiteCert(path)
	if err != nil {
		t.Fatal(err)
	}
	served := func() *tls.Certificate {
		cert, err := c.ServerTLS().GetCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}
	first := served()
	if changed, err := c.Reload(); changed || err != nil || served() != first {
		t.Errorf("reload of the same file: changed %v, err %v, same certificate %v", changed, err, served() == first)
	}
	ca.WriteSitePEM(t, "central", path)
	if changed, err := c.Reload(); !changed || err != nil || served() == first {
		t.Errorf("reload of a renewed file: changed %v, err %v, new certificate %v", changed, err, served() != first)
	}
	renewed := served()
	sitecert.NewCA(t, "central").WriteBundle(t, path) // a certificate without its key
	if changed, err := c.Reload(); changed || err == nil || !strings.Contains(err.Error(), path) || served() != renewed {
		t.Errorf("reload of a broken file: changed %v, err %v, kept the certificate %v", changed, err, served() == renewed)
	}
}
