package driver_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"liveproxyd/core"
	"liveproxyd/livestatus"
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

// TestRecycledHoldBuffersKeepAnswersApart: several KeepAlive clients, some
// reading slowly, get held answers at once, so buffers are recycled while
// others are still being written. Every answer must be exactly the site's:
// a buffer given back before its last byte was written would show up as
// another answer's bytes.
func TestRecycledHoldBuffersKeepAnswersApart(t *testing.T) {
	site := startSite(t, "unix", bigSite)
	cfg := testConfig("s1")
	// Six megabyte answers at once keep the loop busy (much longer under
	// -race); a heartbeat answered meanwhile must not count as late, or
	// the clients get 502s instead of answers and the test checks nothing.
	cfg.HeartbeatTimeoutMin = 5 * time.Second
	p := startProxy(t, cfg, siteTarget(site, "unix"))
	p.waitState(t, core.SiteAlive)
	// Answers of one size class, so that they share a pool, and each
	// different at every offset, so that bytes of another show.
	var queries []string
	for _, cols := range []string{"host_name description state plugin_output", "description host_name plugin_output state",
		"state plugin_output host_name description", "plugin_output state description host_name"} {
		queries = append(queries, "GET services\nColumns: "+cols+"\n"+fixed16+"\n")
	}
	want := make([][]byte, len(queries))
	for i, q := range queries {
		_, want[i] = splitFixed16(t, askDirect(t, site, "unix", q))
	}
	errs := make(chan error, 6)
	for cl := 0; cl < 6; cl++ {
		go func() {
			errs <- func() error {
				nc := p.dial(t)
				defer nc.Close()
				for i := 0; i < 6; i++ {
					k := (cl + i) % len(queries)
					nc.SetDeadline(time.Now().Add(hangGuard))
					q := strings.TrimSuffix(queries[k], "\n") + keepAlive + "\n"
					if _, err := io.WriteString(nc, q); err != nil {
						return err
					}
					var r io.Reader = nc
					if cl%2 == 1 {
						r = &slowReader{r: nc}
					}
					h, body, err := livestatus.ReadAnswer(r)
					if err != nil {
						return err
					}
					if code := h.Code; code != 200 || !bytes.Equal(body, want[k]) {
						return fmt.Errorf("client %d query %d: %d, %d bytes, want 200 and the site's %d", cl, i, h.Code, len(body), len(want[k]))
					}
				}
				return nil
			}()
		}()
	}
	for cl := 0; cl < 6; cl++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// slowReader reads in small pieces, so the proxy's writes to it block.
type slowReader struct {
	r io.Reader
	n int
}

func (s *slowReader) Read(b []byte) (int, error) {
	if s.n++; s.n%32 == 0 {
		time.Sleep(time.Millisecond)
	}
	return s.r.Read(b[:min(len(b), 4096)])
}
