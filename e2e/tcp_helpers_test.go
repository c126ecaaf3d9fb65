package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"liveproxyd/adapters/logging"
	"liveproxyd/internal/testutil"
)

// tcpKey is the liveproxyd.mk statement that gives site the `tcp` key
// ("Allow access via TCP"), in the form Checkmk writes.
func tcpKey(site string, port int, onlyFrom []string, tls bool) string {
	quoted := make([]string, len(onlyFrom))
	for i, a := range onlyFrom {
		quoted[i] = strconv.Quote(a)
	}
	tlsText := "False"
	if tls {
		tlsText = "True"
	}
	return fmt.Sprintf("sites[%q]['tcp'] = {'port': %d, 'only_from': [%s], 'tls': %s}\n",
		site, port, strings.Join(quoted, ", "), tlsText)
}

// reloadWith rewrites the proxy's liveproxyd.mk and sends SIGHUP, then
// waits until the daemon logs that it reloaded.
func reloadWith(t testing.TB, px *Proxy, config string) {
	t.Helper()
	const done = "configuration reloaded"
	before := strings.Count(px.Log(), done)
	testutil.WriteFile(t, filepath.Join(px.Root, "etc", "check_mk", "liveproxyd.mk"), config)
	if err := px.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, aliveTimeout, func() error {
		if strings.Count(px.Log(), done) > before {
			return nil
		}
		return fmt.Errorf("no %q in the log after SIGHUP", done)
	})
}

// siteIDOf is the site ID the daemon under root takes for its certificate:
// $OMD_SITE (inherited by the daemon), else the root's base name.
func siteIDOf(root string) string {
	if id := os.Getenv("OMD_SITE"); id != "" {
		return id
	}
	return filepath.Base(root)
}

// tcpAddr is host:port on IPv4 loopback.
func tcpAddr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// queryFrom sends one query to the proxy's TCP port from the source
// address src and returns every byte it got until the close.
func queryFrom(t testing.TB, src string, port int, req string) ([]byte, error) {
	t.Helper()
	d := net.Dialer{Timeout: queryTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", tcpAddr(port))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(queryTimeout))
	if _, err := c.Write([]byte(req)); err != nil {
		// A refused client may be closed before its write: that is the
		// answer too.
		return nil, nil
	}
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			if err, ok := err.(net.Error); ok && err.Timeout() {
				return out, err
			}
			return out, nil
		}
	}
}

// siteLogger is how a log line names the site: its logger, as Checkmk's
// liveproxyd names it.
var siteLogger = "[" + logging.Root + "." + siteName + "]"

// logLine is the first line of log that contains s, or "".
func logLine(log, s string) string {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}
