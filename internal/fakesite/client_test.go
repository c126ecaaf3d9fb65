package fakesite

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"liveproxyd/internal/testutil"
	"liveproxyd/livestatus"
)

// quiet is how long a test waits to see that nothing arrives. A slow
// machine can only make such a check pass wrongly, never fail wrongly.
const quiet = 300 * time.Millisecond

// networks lets protocol tests run over a UNIX socket and loopback TCP.
var networks = []string{"unix", "tcp"}

func startSite(t *testing.T, network string, opts Options) *Server {
	t.Helper()
	return startSiteSpill(t, network, opts, defaultSpill)
}

func startSiteSpill(t *testing.T, network string, opts Options, spillAt int) *Server {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		// Short path: UNIX socket paths over 107 bytes are truncated.
		dir, err := os.MkdirTemp("", "fakesite")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		addr = filepath.Join(dir, "site")
	}
	s, err := listen(network, addr, opts, spillAt)
	if err != nil {
		t.Fatalf("Listen(%s, %s): %v", network, addr, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// client is a tiny raw Livestatus client.
type client struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, s *Server) *client {
	t.Helper()
	network := "tcp"
	if !strings.Contains(s.Addr(), ":") {
		network = "unix"
	}
	nc, err := net.DialTimeout(network, s.Addr(), testutil.HangGuard)
	if err != nil {
		t.Fatalf("dial %s: %v", s.Addr(), err)
	}
	if s.opts.TLS != nil {
		t.Fatal("use dialTLS for a TLS site")
	}
	return wrap(t, nc)
}

func wrap(t *testing.T, nc net.Conn) *client {
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *client) send(req string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(testutil.HangGuard))
	if _, err := io.WriteString(c.nc, req); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// closeWrite half-closes the connection (clients that shutdown(SHUT_WR)).
func (c *client) closeWrite() {
	c.t.Helper()
	type halfCloser interface{ CloseWrite() error }
	hc, ok := c.nc.(halfCloser)
	if !ok {
		c.t.Fatalf("%T cannot half-close", c.nc)
	}
	if err := hc.CloseWrite(); err != nil {
		c.t.Fatal(err)
	}
}

// readFixed16 reads one fixed16 answer and returns code, body and the
// header's last byte.
func (c *client) readFixed16() (int, string, byte) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(testutil.HangGuard))
	h := make([]byte, 16)
	if _, err := io.ReadFull(c.br, h); err != nil {
		c.t.Fatalf("read header: %v", err)
	}
	hd, err := livestatus.ParseHeader(h)
	if err != nil {
		c.t.Fatal(err)
	}
	body := make([]byte, hd.Length)
	if _, err := io.ReadFull(c.br, body); err != nil {
		c.t.Fatalf("read body of %d bytes: %v", hd.Length, err)
	}
	return hd.Code, string(body), h[15]
}

// readAll reads until the server closes the connection.
func (c *client) readAll() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(testutil.HangGuard))
	b, err := io.ReadAll(c.br)
	if err != nil && !isReset(err) {
		c.t.Fatalf("read to EOF: %v (got %q)", err, b)
	}
	return string(b)
}

func isReset(err error) bool {
	return errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "connection reset")
}

// expectSilence checks that no byte arrives for a while.
func (c *client) expectSilence() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(quiet))
	b, err := c.br.ReadByte()
	var ne net.Error
	if err == nil {
		c.t.Fatalf("expected silence, got byte %q", b)
	}
	if !errors.As(err, &ne) || !ne.Timeout() {
		c.t.Fatalf("expected silence, got %v", err)
	}
}

// expectClosed checks that the server closes without sending more bytes.
func (c *client) expectClosed() {
	c.t.Helper()
	if rest := c.readAll(); rest != "" {
		c.t.Fatalf("expected close, got %q", rest)
	}
}

// query sends one fixed16 KeepAlive query and returns its answer.
func (c *client) query(req string) (int, string) {
	c.t.Helper()
	c.send(req + "ResponseHeader: fixed16\nKeepAlive: on\n\n")
	code, body, _ := c.readFixed16()
	return code, body
}

func dialTLS(t *testing.T, s *Server, cfg *tls.Config) *client {
	t.Helper()
	d := &net.Dialer{Timeout: testutil.HangGuard}
	nc, err := tls.DialWithDialer(d, "tcp", s.Addr(), cfg)
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	return wrap(t, nc)
}

// csvRows splits a default-separator CSV body into rows of fields.
func csvRows(body string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, ";"))
		}
	}
	return rows
}

func deadline() time.Time { return time.Now().Add(testutil.HangGuard) }
