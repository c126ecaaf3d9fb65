package e2e

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"liveproxyd/internal/testutil"
)

// Generous bounds for fault handling: the configured timers (heartbeat
// (1, 1.0), connect_retry 1.0) promise about 2 s; the rest is slack for a
// loaded 2-core machine. They only catch "never" and "far too slow".
const (
	faultBound    = 15 * time.Second
	deadReplyMax  = 3 * time.Second // one 502 to a new client of a dead site
	fastHeartbeat = time.Second     // the heartbeat interval (and timeout) of FastParams
)

// deadReply checks that r is the proxy's 502 for a dead or lost site.
func deadReply(r Reply) error {
	if r.Code != 502 || !strings.HasPrefix(string(r.Body), "site "+siteName+": ") || !strings.HasSuffix(string(r.Body), "\n") {
		return fmt.Errorf("got %d %.300q, want 502 \"site %s: …\\n\"", r.Code, r.Body, siteName)
	}
	return nil
}

// timedQuery is one status query through the proxy and how long it took.
func timedQuery(px *Proxy, req string) (Reply, time.Duration, error) {
	start := time.Now()
	r, err := Query("unix", px.Socket(siteName), req, queryTimeout)
	return r, time.Since(start), err
}

// median of a few durations, for the log.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestProxyIcingaFaults: Icinga stopped, restarted, frozen and thawed
// under a running proxy with 10 channels and the fast timers.
func TestProxyIcingaFaults(t *testing.T) {
	ic := ownIcinga(t, 3, 3)
	px := startProxy(t, ic, FastParams(10))

	t.Run("stopped", func(t *testing.T) {
		// Query every 50 ms from SIGTERM on: Icinga closes its listener
		// at once but serves open connections until it exits seconds
		// later; the proxy must turn from answers to 502s without a
		// hang in between.
		term := time.Now()
		if err := ic.Terminate(); err != nil {
			t.Fatal(err)
		}
		var oks, slowest time.Duration
		n200 := 0
		for ic.Running() && time.Since(term) < icingaStopTimeout {
			r, d, err := timedQuery(px, StatusQuery)
			if err != nil {
				t.Fatalf("query while icinga stops: %v", err)
			}
			slowest = max(slowest, d)
			if r.Code == 200 {
				n200++
				oks = time.Since(term)
			} else if err := deadReply(r); err != nil {
				t.Fatalf("while icinga stops: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := ic.WaitExit(icingaStopTimeout); err != nil {
			t.Fatal(err)
		}
		exited := time.Since(term)
		first := time.Now()
		testutil.Eventually(t, faultBound, func() error {
			r, _, err := timedQuery(px, StatusQuery)
			if err != nil {
				return err
			}
			return deadReply(r)
		})
		t.Logf("MEASURE icinga stopping: exited %v after SIGTERM; %d answers (last at %v) then 502s, slowest query %v; first 502 after exit: %v",
			exited.Round(time.Millisecond), n200, oks.Round(time.Millisecond), slowest.Round(time.Millisecond),
			time.Since(first).Round(time.Millisecond))
		var took []time.Duration
		for i := 0; i < 10; i++ {
			r, d, err := timedQuery(px, StatusQuery)
			if err != nil {
				t.Fatal(err)
			}
			if err := deadReply(r); err != nil {
				t.Fatal(err)
			}
			if d > deadReplyMax {
				t.Errorf("a dead site's 502 took %v (bound %v)", d, deadReplyMax)
			}
			took = append(took, d)
		}
		t.Logf("MEASURE dead-site answer time: median %v, max %v over %d queries",
			median(took), slices.Max(took), len(took))
		// Without fixed16: the text alone, then close.
		raw, err := QueryRaw("unix", px.Socket(siteName), "GET status\n\n", queryTimeout)
		if err != nil || !strings.HasPrefix(string(raw), "site "+siteName+": ") {
			t.Errorf("dead site without fixed16: %.300q %v", raw, err)
		}
	})

	t.Run("restarted", func(t *testing.T) {
		if err := ic.StartBehindProxy(icingaStartTimeout); err != nil {
			t.Fatal(err)
		}
		back := time.Now()
		waitServing(t, px, faultBound)
		t.Logf("MEASURE restarted icinga (listening) → first proxied answer after %v (connect_retry 1 s + heartbeat)",
			time.Since(back).Round(time.Millisecond))
		req, want := hostsQuery(0, 3, "ResponseHeader: fixed16\n")
		if r := proxyQuery(t, px, req); r.Code != 200 || !sameLines(r.Body, want) {
			t.Errorf("after restart: %d %.300q", r.Code, r.Body)
		}
	})

	t.Run("frozen", func(t *testing.T) {
		// Let the recovered site settle: heartbeats establish a typical
		// RTT again before the freeze.
		time.Sleep(2 * fastHeartbeat)
		if err := ic.Freeze(); err != nil {
			t.Fatal(err)
		}
		frozen := time.Now()
		// A query sent now goes to a channel that will never answer; it
		// must be released with a 502 when the heartbeat declares the site
		// dead (interval + timeout), long before query_timeout (30 s).
		r, d, err := timedQuery(px, StatusQuery)
		if err != nil {
			t.Fatalf("in-flight query on the frozen site: %v", err)
		}
		if err := deadReply(r); err != nil {
			t.Fatal(err)
		}
		if d > faultBound {
			t.Errorf("hung site detected after %v (bound %v)", d, faultBound)
		}
		t.Logf("MEASURE hung-site detection: in-flight query answered 502 after %v (since freeze %v)",
			d.Round(time.Millisecond), time.Since(frozen).Round(time.Millisecond))
		// Now every new client gets its 502 at once.
		r, d, err = timedQuery(px, StatusQuery)
		if err != nil {
			t.Fatal(err)
		}
		if err := deadReply(r); err != nil {
			t.Fatal(err)
		}
		if d > deadReplyMax {
			t.Errorf("502 from the detected hung site took %v (bound %v)", d, deadReplyMax)
		}
		t.Logf("MEASURE hung site, next query: 502 after %v", d.Round(time.Microsecond))
		// Past connect_retry the proxy redials; the frozen kernel still
		// accepts connections, but unproven channels must not make the
		// site look usable: clients still get their 502 at once.
		time.Sleep(3 * fastHeartbeat / 2)
		r, d, err = timedQuery(px, StatusQuery)
		if err != nil {
			t.Fatal(err)
		}
		if err := deadReply(r); err != nil || d > deadReplyMax {
			t.Errorf("still frozen, after a redial: %d %.200q in %v, want a 502 within %v (%v)", r.Code, r.Body, d, deadReplyMax, err)
		}
		t.Logf("MEASURE still frozen after connect_retry: %d after %v", r.Code, d.Round(time.Microsecond))
	})

	t.Run("thawed", func(t *testing.T) {
		if err := ic.Thaw(); err != nil {
			t.Fatal(err)
		}
		thawed := time.Now()
		waitServing(t, px, faultBound)
		t.Logf("MEASURE thawed icinga → first proxied answer after %v", time.Since(thawed).Round(time.Millisecond))
		// Several heartbeats later it is still alive (no flapping back).
		time.Sleep(3 * fastHeartbeat)
		req, want := hostsQuery(0, 3, "ResponseHeader: fixed16\n")
		for i := 0; i < 20; i++ {
			if r := proxyQuery(t, px, req); r.Code != 200 || !sameLines(r.Body, want) {
				t.Fatalf("query %d after thaw: %d %.300q", i, r.Code, r.Body)
			}
		}
	})

	// Exactly two outages happened; the log must show each as one
	// transition to dead, and the site must end alive.
	if n := deadTransitions(px.Log()); n != 2 {
		t.Errorf("the log shows %d transitions to dead, want 2 (stop, freeze)", n)
	}
	f, code, err := px.Status()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := f.Site(siteName)
	t.Logf("status exit %d: site %s, %d channels, %d heartbeats, %d lost, last error %q",
		code, s.State, len(s.Channels), s.HeartbeatsReceived, s.Counters.HeartbeatsLost, s.LastError)
}

// TestProxyTruncatedOnHang: Icinga hangs in the middle of a 34 MB answer.
// The client, which already has part of the body, must be closed once the
// site is found dead — a truncated answer, never a hang and never bytes
// from anywhere else.
func TestProxyTruncatedOnHang(t *testing.T) {
	ic := shared(t)
	big := bigQuery(t, ic) // before the proxy occupies Icinga's threads
	px := startProxy(t, ic, bigAnswerParams(4))
	c, err := Dial("unix", px.Socket(siteName), queryTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Send(big, queryTimeout); err != nil {
		t.Fatal(err)
	}
	// Read the header and a little of the body, then stop reading: the
	// proxy pauses the channel, Icinga blocks in its write.
	if err := c.SetReadDeadline(time.Now().Add(queryTimeout)); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 16+64<<10)
	if _, err := fullRead(c, head); err != nil {
		t.Fatal(err)
	}
	code, length, err := ParseFixed16(head[:16])
	if err != nil || code != 200 {
		t.Fatalf("header %q: %v", head[:16], err)
	}
	if err := ic.Freeze(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := ic.Thaw(); err != nil {
			t.Error(err)
		}
	}()
	frozen := time.Now()
	rest, err := c.ReadAll(faultBound)
	if err != nil {
		t.Fatalf("after %d body bytes: %v (want EOF once the hang is detected)", len(head)-16+len(rest), err)
	}
	got := len(head) - 16 + len(rest)
	t.Logf("MEASURE hung mid-answer: client closed %v after the freeze with %d of %d body bytes",
		time.Since(frozen).Round(time.Millisecond), got, length)
	if got >= length {
		t.Errorf("got the whole %d-byte body although Icinga was frozen mid-answer", length)
	}
	// What did arrive is a prefix of Icinga's answer: CSV lines of the
	// service table, nothing else (e.g. no error text in the body).
	body := append(head[16:], rest...)
	if !bytes.HasPrefix(body, []byte("host-")) && !bytes.Contains(body[:min(len(body), 4096)], []byte(";host-")) {
		t.Errorf("body does not look like the service table: %.200q", body)
	}
	if i := bytes.Index(body, []byte("site "+siteName+": ")); i >= 0 {
		t.Errorf("an error text was mixed into the streamed body at byte %d", i)
	}
}
