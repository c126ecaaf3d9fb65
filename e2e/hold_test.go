package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
)

// cutRelay forwards connections to upstream and cuts any connection once
// it has carried cutAfter bytes from the site: a site (or link) that breaks
// in the middle of a big answer, at a byte count rather than a moment.
func cutRelay(t *testing.T, upstream string, cutAfter int64) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			down, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.DialTimeout("tcp", upstream, queryTimeout)
			if err != nil {
				down.Close()
				continue
			}
			go func() { io.Copy(up, down); up.Close() }()
			go func() {
				io.Copy(down, io.LimitReader(up, cutAfter))
				down.Close()
				up.Close()
			}()
		}
	}()
	return l.Addr().String()
}

// TestProxyHeldAnswerCutBySiteGives502: the link to Icinga breaks after
// 1 MiB of a 34 MB answer that fits the hold limit. Checkmk's GUI takes a
// 200 header as the promise of the whole body, so the client must get a
// clean 502, never a 200 header with a cut body (which it got when answers
// were streamed).
func TestProxyHeldAnswerCutBySiteGives502(t *testing.T) {
	ic := shared(t)
	big := bigQuery(t, ic)
	relay := cutRelay(t, ic.TCPAddr, 1<<20)
	host, port, _ := net.SplitHostPort(relay)
	var portNum int
	if _, err := fmt.Sscan(port, &portNum); err != nil {
		t.Fatal(err)
	}
	cfg := TCPSiteConfig(siteName, host, portNum, bigAnswerParams(4)) +
		fmt.Sprintf("sites[%q]['answer_buffer'] = 64 << 20\n", siteName)
	px := startProxyWith(t, cfg)
	waitServing(t, px, aliveTimeout)

	c, err := Dial("unix", px.Socket(siteName), queryTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Send(big, queryTimeout); err != nil {
		t.Fatal(err)
	}
	// Icinga assembles the whole 34 MB answer before its first byte, which
	// on a loaded machine alone can take longer than faultBound; the proxy
	// must answer within its query timeout whatever happens.
	all, err := c.ReadAll(queryTimeout + faultBound)
	if err != nil {
		t.Fatalf("after %d bytes: %v (want an answer, then EOF)", len(all), err)
	}
	if len(all) < 16 {
		t.Fatalf("closed after %d bytes %q: no fixed16 header", len(all), all)
	}
	code, length, err := ParseFixed16(all[:16])
	if err != nil {
		t.Fatalf("header %q: %v", all[:16], err)
	}
	body := all[16:]
	t.Logf("MEASURE link cut after 1 MiB of a held answer: code %d, %d of %d body bytes", code, len(body), length)
	switch {
	case code != 502 || len(body) != length || !bytes.HasPrefix(body, []byte("site "+siteName+": ")):
		t.Errorf("code %d with %d of %d body bytes %.120q: want a whole 502 naming the site", code, len(body), length, body)
	case !strings.Contains(string(body), "connection to site lost"):
		t.Errorf("502 text %q does not say the connection was lost", body)
	}
}
