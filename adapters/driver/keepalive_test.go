package driver_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"liveproxyd/core"
)

// TestKeepAliveBigAnswersInARow: a KeepAlive client asks for a multi-
// megabyte answer again and again on one connection, reading each to its
// end before the next query. Every answer arrives whole, none stalls. Each
// answer crosses the sockets in many reads and writes, so bytes that come
// while the driver is busy with the previous ones must still wake it: a
// reader that waited for readiness instead of trying a read first lost
// that wake-up and stalled within a few queries.
func TestKeepAliveBigAnswersInARow(t *testing.T) {
	site := startSite(t, "unix", bigSite)
	p := startProxy(t, testConfig("s1"), siteTarget(site, "unix"))
	p.waitState(t, core.SiteAlive)
	_, want := splitFixed16(t, askDirect(t, site, "unix", servicesQuery))
	if len(want) < 1<<20 {
		t.Fatalf("fake answer only %d bytes; the test needs a big one", len(want))
	}
	nc := p.dial(t)
	defer nc.Close()
	for i := 0; i < 8; i++ {
		nc.SetDeadline(time.Now().Add(hangGuard))
		if _, err := io.WriteString(nc, "GET services\n"+fixed16+keepAlive+"\n"); err != nil {
			t.Fatal(err)
		}
		code, body := readFixed16(t, nc)
		if code != 200 || !bytes.Equal(body, want) {
			t.Fatalf("query %d: %d, %d bytes, want 200 and %d bytes", i+1, code, len(body), len(want))
		}
	}
}
