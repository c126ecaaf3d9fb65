package driver_test

import (
	"strings"
	"testing"

	"liveproxyd/core"
	"liveproxyd/internal/fakesite"
)

// The daemon's loop against a site that reads requests as naemon 1.5 does
// (the fake site's naemon mode: naemon is not in Debian, so no e2e test
// can run against it). One channel, so every client after the first is
// served on the channel the one before it used, or on its replacement.

// TestNaemonRefusedRequestDoesNotDirtyTheNextClient: after "400 Undefined
// request header" naemon keeps the rest of the refused request and reads
// it in front of the next request on the connection. A proxy that reused
// the channel gave the next client (another user) a 502, and after a
// COMMAND line left behind, a query that hung until query_timeout — four
// of those and the site was dead for everyone.
func TestNaemonRefusedRequestDoesNotDirtyTheNextClient(t *testing.T) {
	site := startSite(t, "unix", fakesite.Options{Hosts: 3, Naemon: true, CommandError: true})
	cfg := testConfig("naemon")
	cfg.Channels = 1
	p := startProxy(t, cfg, siteTarget(site, "unix"))
	since := p.waitState(t, core.SiteAlive).Since
	victim := hostsQuery(fixed16, "AuthUser: victim\n")
	for round, attack := range []string{
		"GET hosts\nBogus: x\nColumns: name\n" + fixed16 + "\n",
		"GET hosts\nBogus: x\nCOMMAND [1] PROCESS_HOST_CHECK_RESULT;host0001;2;left behind\n" + fixed16 + "\n",
	} {
		for i := 0; i < 4; i++ {
			// A 400 from naemon (round 0) or from the proxy itself, which
			// refuses a COMMAND line among headers (round 1).
			code, body := splitFixed16(t, p.ask(t, attack))
			if code != 400 || !strings.Contains(string(body), []string{"Bogus", "without a colon"}[round]) {
				t.Fatalf("round %d.%d: attacker got %d %q, want a 400", round, i, code, body)
			}
			code, body = splitFixed16(t, p.ask(t, victim))
			if want := "host0000;10.0.0.0\nhost0001;10.0.0.1\nhost0002;10.0.0.2\n"; code != 200 || string(body) != want {
				t.Fatalf("round %d.%d: next client got %d %q, want 200 %q", round, i, code, body, want)
			}
		}
	}
	if st := site.Stats(); st.Commands != 0 {
		t.Fatalf("naemon ran %d COMMANDs left behind by a refused request: %q", st.Commands, st.LastCommands)
	}
	if snap := p.snapshot(t); snap.State != core.SiteAlive || !snap.Since.Equal(since) {
		t.Fatalf("site %v since %v, want alive since %v: it must never have been dead", snap.State, snap.Since, since)
	}
}

// TestNaemonFramingAgreesWithTheProxy: naemon skips whitespace-only lines
// in front of a request and reads the line after a COMMAND as the next
// request; through the proxy a client gets what it would get from naemon
// directly (the proxy used to run the COMMAND and drop the GET, and to
// answer 400 to the blank lines).
func TestNaemonFramingAgreesWithTheProxy(t *testing.T) {
	site := startSite(t, "unix", fakesite.Options{Hosts: 3, Naemon: true})
	p := startProxy(t, testConfig("naemon"), siteTarget(site, "unix"))
	p.waitState(t, core.SiteAlive)
	nc := p.dial(t)
	req := " \n\t\nCOMMAND [1] PROCESS_HOST_CHECK_RESULT;host0001;2;down\n" +
		"GET hosts\nColumns: state\nFilter: name = host0001\n" + fixed16 + "\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	if code, body := readFixed16(t, nc); code != 200 || string(body) != "2\n" {
		t.Fatalf("GET after the COMMAND line: %d %q, want 200 \"2\\n\" (the COMMAND's effect)", code, body)
	}
	if st := site.Stats(); st.Commands != 1 {
		t.Fatalf("naemon saw %d COMMANDs, want 1", st.Commands)
	}
}
