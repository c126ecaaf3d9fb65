package e2e

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"liveproxyd/internal/testutil"
)

// bigQuery asks for every column of every service — the 34 MB answer of
// docs/protocol.md §2.4, rendered whole by Icinga before its first byte — except
// `staleness`, the one column Icinga computes from the current time once
// a service has a check result, so two fetches can be compared byte for
// byte.
func bigQuery(t testing.TB, ic *Icinga) string {
	t.Helper()
	// Icinga has no `columns` table; the header line names them all.
	r, err := Query("unix", ic.UnixPath, "GET services\nLimit: 1\nColumnHeaders: on\nResponseHeader: fixed16\n\n", queryTimeout)
	if err != nil || r.Code != 200 {
		t.Fatalf("column list: %d %v", r.Code, err)
	}
	header, _, _ := strings.Cut(string(r.Body), "\n")
	var cols []string
	for _, c := range strings.Split(header, ";") {
		if c != "staleness" {
			cols = append(cols, c)
		}
	}
	if len(cols) < 100 {
		t.Fatalf("only %d service columns: %.300q", len(cols), r.Body)
	}
	return "GET services\nColumns: " + strings.Join(cols, " ") + "\nResponseHeader: fixed16\n\n"
}

// TestProxyIcinga runs the everyday traffic through one liveproxyd with 10
// channels against the shared 10,000-service Icinga, whose pool serves only
// 2 × cores connections: the site must stay usable throughout.
func TestProxyIcinga(t *testing.T) {
	ic := shared(t)
	// The reference answer comes straight from Icinga before the proxy
	// takes its threads.
	big := bigQuery(t, ic)
	ref, err := Query("unix", ic.UnixPath, big, queryTimeout)
	if err != nil || ref.Code != 200 {
		t.Fatalf("direct big query: %d %v", ref.Code, err)
	}
	px := startProxy(t, ic, bigAnswerParams(10))
	sock := px.Socket(siteName)

	// First, before any COMMAND below changes a service.
	t.Run("big", func(t *testing.T) {
		start := time.Now()
		r := proxyQuery(t, px, big)
		t.Logf("%d-byte answer through the proxy in %v", len(r.Body), time.Since(start).Round(time.Millisecond))
		if r.Code != ref.Code || !bytes.Equal(r.Body, ref.Body) {
			i := firstDiff(r.Body, ref.Body)
			t.Fatalf("through the proxy: %d, %d bytes; direct: %d, %d bytes; first difference at byte %d:\nproxy  %q\ndirect %q",
				r.Code, len(r.Body), ref.Code, len(ref.Body), i, around(r.Body, i), around(ref.Body, i))
		}
	})

	t.Run("fixed16", func(t *testing.T) {
		req, want := hostsQuery(0, 5, "ResponseHeader: fixed16\n")
		c, err := Dial("unix", sock, queryTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Send(req, queryTimeout); err != nil {
			t.Fatal(err)
		}
		r, err := c.ReadFixed16(queryTimeout)
		if err != nil || r.Code != 200 || !sameLines(r.Body, want) {
			t.Fatalf("got %d %.300q %v, want 200 %.300q", r.Code, r.Body, err, want)
		}
		// Without KeepAlive the proxy closes after the answer.
		if rest, err := c.ReadAll(queryTimeout); err != nil || len(rest) != 0 {
			t.Errorf("after the answer: %.300q %v, want EOF", rest, err)
		}
	})

	t.Run("plain", func(t *testing.T) {
		req, want := hostsQuery(5, 10, "")
		raw, err := QueryRaw("unix", sock, req, queryTimeout)
		if err != nil || !sameLines(raw, want) {
			t.Fatalf("got %.300q %v, want %.300q", raw, err, want)
		}
	})

	t.Run("keepalive", func(t *testing.T) {
		c, err := Dial("unix", sock, queryTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// One after another, then three in one write.
		for i := 0; i < 4; i++ {
			req, want := hostsQuery(10+i, 12+i, "KeepAlive: on\nResponseHeader: fixed16\n")
			if err := c.Send(req, queryTimeout); err != nil {
				t.Fatal(err)
			}
			if r, err := c.ReadFixed16(queryTimeout); err != nil || r.Code != 200 || !sameLines(r.Body, want) {
				t.Fatalf("sequential %d: %d %.300q %v, want %.300q", i, r.Code, r.Body, err, want)
			}
		}
		var batch strings.Builder
		var wants []string
		for i := 0; i < 3; i++ {
			req, want := hostsQuery(20+i, 21+i, "KeepAlive: on\nResponseHeader: fixed16\n")
			batch.WriteString(req)
			wants = append(wants, want)
		}
		if err := c.Send(batch.String(), queryTimeout); err != nil {
			t.Fatal(err)
		}
		for i, want := range wants {
			if r, err := c.ReadFixed16(queryTimeout); err != nil || r.Code != 200 || !sameLines(r.Body, want) {
				t.Fatalf("pipelined %d: %d %.300q %v, want %.300q", i, r.Code, r.Body, err, want)
			}
		}
		// KeepAlive without fixed16: nothing frames the answer, so read
		// exactly the known length, then go on with a framed query.
		req, want := hostsQuery(30, 33, "KeepAlive: on\n")
		if err := c.Send(req, queryTimeout); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(want))
		if err := c.SetReadDeadline(time.Now().Add(queryTimeout)); err != nil {
			t.Fatal(err)
		}
		if _, err := fullRead(c, got); err != nil || !sameLines(got, want) {
			t.Fatalf("unframed KeepAlive answer %.300q %v, want %.300q", got, err, want)
		}
		req, want = hostsQuery(33, 34, "ResponseHeader: fixed16\n")
		if err := c.Send(req, queryTimeout); err != nil {
			t.Fatal(err)
		}
		if r, err := c.ReadFixed16(queryTimeout); err != nil || r.Code != 200 || !sameLines(r.Body, want) {
			t.Fatalf("after the unframed answer: %d %.300q %v, want %.300q", r.Code, r.Body, err, want)
		}
	})

	t.Run("rejected", func(t *testing.T) {
		// Icinga's own error answers reach the client unchanged.
		direct := "Table 'nosuchtable' does not exist."
		r := proxyQuery(t, px, "GET nosuchtable\nResponseHeader: fixed16\n\n")
		if r.Code != 404 || !strings.Contains(string(r.Body), direct) {
			t.Errorf("unknown table: %d %.300q, want Icinga's 404 %q", r.Code, r.Body, direct)
		}
		r = proxyQuery(t, px, "GET hosts\nColumns: nosuchcolumn\nResponseHeader: fixed16\n\n")
		if r.Code != 452 || !strings.Contains(string(r.Body), "nosuchcolumn") {
			t.Errorf("unknown column: %d %.300q, want Icinga's 452", r.Code, r.Body)
		}
		// Without fixed16 the client gets the error text (Icinga itself
		// would send nothing; the proxy always asks it for fixed16).
		raw, err := QueryRaw("unix", sock, "GET nosuchtable\n\n", queryTimeout)
		if err != nil || !strings.Contains(string(raw), direct) {
			t.Errorf("unknown table without fixed16: %.300q %v, want the error text", raw, err)
		}
		// A header value Icinga cannot parse makes it drop the connection
		// without a byte, even with fixed16 (TestIcingaDropsOnBadValue):
		// the client must get an error reply, not a hang or an empty
		// answer, and the site must not be declared dead for it.
		r = proxyQuery(t, px, "GET hosts\nColumns: name\nLimit: abc\nResponseHeader: fixed16\n\n")
		if r.Code < 400 || !strings.HasPrefix(string(r.Body), "site "+siteName+": ") {
			t.Errorf("query Icinga drops: %d %.300q, want an error reply naming the site", r.Code, r.Body)
		}
		t.Logf("query Icinga drops → %d %.200q", r.Code, r.Body)
		// The site is still fine afterwards.
		req, want := hostsQuery(40, 42, "ResponseHeader: fixed16\n")
		if r := proxyQuery(t, px, req); r.Code != 200 || !sameLines(r.Body, want) {
			t.Errorf("after the errors: %d %.300q", r.Code, r.Body)
		}
	})

	t.Run("command", func(t *testing.T) {
		for i, state := range []int{2, 0} {
			out := fmt.Sprintf("e2e proxy %d %d", i, time.Now().UnixNano())
			c, err := Dial("unix", sock, queryTimeout)
			if err != nil {
				t.Fatal(err)
			}
			// Like Icinga, the proxy answers a COMMAND with nothing and
			// leaves closing to the client, as real clients do.
			err = c.Send(checkResult("host-2", "svc-2", state, out), queryTimeout)
			c.Close()
			if err != nil {
				t.Fatal(err)
			}
			// The GET may run on another channel than the COMMAND, and
			// Icinga serves channels in parallel threads, so the change
			// is awaited (bounded) rather than required on the first GET.
			n := testutil.Eventually(t, 5*time.Second, func() error {
				r := proxyQuery(t, px, serviceQuery("host-2", "svc-2", "ResponseHeader: fixed16\n"))
				if r.Code != 200 || !bytes.Contains(r.Body, []byte(out)) {
					return fmt.Errorf("%d %.300q", r.Code, r.Body)
				}
				wantServiceState(t, r, state, out)
				return nil
			})
			t.Logf("COMMAND %d visible after %d GET(s)", i, n)
		}
	})

	t.Run("sequential", func(t *testing.T) {
		for i := 0; i < 100; i++ {
			req, want := hostsQuery(i%bigHosts, i%bigHosts+1, "ResponseHeader: fixed16\n")
			if r := proxyQuery(t, px, req); r.Code != 200 || !sameLines(r.Body, want) {
				t.Fatalf("query %d: %d %.300q, want %.300q", i, r.Code, r.Body, want)
			}
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		errs := runConcurrently(8, 15, func(w, i int) error {
			n := (w*15 + i) % bigHosts
			req, want := hostsQuery(n, n+1, "ResponseHeader: fixed16\n")
			r, err := Query("unix", sock, req, queryTimeout)
			if err != nil {
				return err
			}
			if r.Code != 200 || !sameLines(r.Body, want) {
				return fmt.Errorf("%d %.300q, want %.300q", r.Code, r.Body, want)
			}
			return nil
		})
		for _, err := range errs {
			t.Error(err)
		}
	})

	t.Run("steady", func(t *testing.T) {
		// Several heartbeat intervals of steady traffic: with 6 of its 10
		// channels never served by Icinga, the site must neither flap
		// nor fail a query.
		start := time.Now()
		n := 0
		for ; n < 2000 && time.Since(start) < 4*time.Second; n++ {
			req, want := hostsQuery(n%bigHosts, n%bigHosts+1, "ResponseHeader: fixed16\n")
			if r := proxyQuery(t, px, req); r.Code != 200 || !sameLines(r.Body, want) {
				t.Fatalf("query %d after %v: %d %.300q", n, time.Since(start), r.Code, r.Body)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("%d queries over %v, all answered", n, time.Since(start).Round(time.Millisecond))
	})

	t.Run("status", func(t *testing.T) {
		// The state file is rewritten every few seconds; wait for one
		// written after all the traffic above.
		var site StateSite
		testutil.Eventually(t, 15*time.Second, func() error {
			f, code, err := px.Status()
			if err != nil {
				return err
			}
			s, ok := f.Site(siteName)
			if !ok || code != 0 || s.State != "alive" || s.Counters.QueriesOK < 200 {
				return fmt.Errorf("exit %d, site %+v", code, s)
			}
			site = s
			return nil
		})
		t.Logf("state file: %s, %d channels (target %d), %d heartbeats, %d queries ok, last error %.300q",
			site.State, len(site.Channels), site.Target, site.HeartbeatsReceived, site.Counters.QueriesOK, site.LastError)
		// The one query Icinga drops (rejected/Limit) is the only 502.
		if site.Counters.QueriesDead != 1 || site.Counters.QueriesBusy != 0 {
			t.Errorf("queries answered dead %d / busy %d, want 1 / 0", site.Counters.QueriesDead, site.Counters.QueriesBusy)
		}
		table, code, err := px.StatusTable()
		if err != nil || code != 0 || !regexp.MustCompile(`(?m)^`+siteName+` +alive `).MatchString(table) {
			t.Errorf("liveproxyd status: exit %d, %v:\n%s", code, err, table)
		}
		if n := deadTransitions(px.Log()); n != 0 {
			t.Errorf("the site went dead %d time(s) against a healthy Icinga (flapping)", n)
		}
	})
}

// deadTransitions counts the daemon's log lines that report the site
// going dead (`[30] [cmk.liveproxyd.NAME] site NAME is dead: CAUSE`).
func deadTransitions(log string) int {
	return strings.Count(log, `] site `+siteName+` is dead`)
}

func firstDiff(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// around is the text around byte i of b, for a readable diff.
func around(b []byte, i int) []byte {
	return b[max(0, i-300):min(len(b), i+60)]
}

// fullRead fills b from c's buffered reader.
func fullRead(c *Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// TestProxyCommandThenGet: a client that sends a COMMAND and then a GET on
// the same connection — what Checkmk's GUI does on its persistent
// connection when it acknowledges and then redraws — sees the COMMAND's
// effect when it talks to Icinga directly (TestIcingaCommandVisibleInNextGet:
// one connection, one Icinga thread, in order). Through the proxy the GET
// must see it too, though the proxy may run it on another channel.
func TestProxyCommandThenGet(t *testing.T) {
	ic := shared(t)
	px := startProxy(t, ic, FastParams(10))
	const rounds = 100
	var missed []int
	for i := 0; i < rounds; i++ {
		out := fmt.Sprintf("e2e same connection %d %d", i, time.Now().UnixNano())
		c, err := Dial("unix", px.Socket(siteName), queryTimeout)
		if err != nil {
			t.Fatal(err)
		}
		req := checkResult("host-7", "svc-7", 1+i%2, out) +
			serviceQuery("host-7", "svc-7", "KeepAlive: on\nResponseHeader: fixed16\n")
		err = c.Send(req, queryTimeout)
		var r Reply
		if err == nil {
			r, err = c.ReadFixed16(queryTimeout)
		}
		c.Close()
		if err != nil || r.Code != 200 {
			t.Fatalf("round %d: %d %.200q %v", i, r.Code, r.Body, err)
		}
		if !bytes.Contains(r.Body, []byte(out)) {
			missed = append(missed, i)
		}
	}
	if len(missed) > 0 {
		t.Errorf("%d of %d GETs sent after a COMMAND on the same connection did not see it (rounds %v); "+
			"straight to Icinga they always do", len(missed), rounds, missed)
	}
}
