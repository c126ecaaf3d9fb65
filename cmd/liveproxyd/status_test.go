package main_test

import (
	"os"
	"strings"
	"testing"
)

func TestStatusWithALiveAndADeadSite(t *testing.T) {
	r := newRoot(t)
	r.writeConfig(siteLine("rs", r.site.Addr(), 2) + siteLine("down", r.deadSocket(), 2))
	startForeground(t, r)
	waitSiteState(t, r, "rs", "alive")
	waitSiteState(t, r, "down", "dead")

	// Checkmk's own readable state file sits next to the log, and a ready
	// site is counted the way Checkmk's integration tests count it.
	text, err := os.ReadFile(r.path("var/log/liveproxyd.state"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(text), "State:                   ready"); n != 1 ||
		!strings.Contains(string(text), "[rs]\n") || !strings.Contains(string(text), "[down]\n") {
		t.Errorf("var/log/liveproxyd.state: %d ready sites, want 1 (rs):\n%s", n, text)
	}

	out, code := runStatus(t, r)
	if code != 1 {
		t.Errorf("status exit %d with a dead site, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	header := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "SITE") {
			header = i
		}
	}
	if header < 0 || len(lines) != header+3 {
		t.Fatalf("want a header and two rows:\n%s", out)
	}
	if got := strings.Fields(lines[header]); strings.Join(got, " ") != "SITE STATE SINCE FREE BUSY CONNECTING WAITING RTT TCP LAST ERROR" {
		t.Fatalf("header %q", got)
	}
	// Sorted by name: down, then rs.
	down, rs := strings.Fields(lines[header+1]), strings.Fields(lines[header+2])
	if down[0] != "down" || down[1] != "dead" || !strings.Contains(lines[header+1], "cannot connect") {
		t.Errorf("dead site row %q", lines[header+1])
	}
	if rs[0] != "rs" || rs[1] != "alive" || rs[3] == "0" && rs[4] == "0" || rs[7] == "-" || rs[8] != "-" || rs[9] != "-" {
		// alive: some channel free or busy, an RTT, no TCP listener, no error
		t.Errorf("live site row %q", lines[header+2])
	}

	out, code = runStatus(t, r, "--json")
	js := decodeJSON(t, out)
	if code != 1 || len(js.Sites) != 2 {
		t.Fatalf("status --json exit %d, %d sites:\n%s", code, len(js.Sites), out)
	}
	if s := js.Sites[0]; s.Name != "down" || s.State != "dead" || s.LastError == "" || s.LastErrorAt == nil {
		t.Errorf("dead site in JSON: %+v", s)
	}
	if s := js.Sites[1]; s.Name != "rs" || s.State != "alive" || s.TypicalRTTMS <= 0 || len(s.Channels) != 2 {
		t.Errorf("live site in JSON: %+v", s)
	}
}

func TestStatusUsage(t *testing.T) {
	r := newRoot(t)
	if out, code := runStatus(t, r, "--help"); code != 0 || !strings.Contains(out, "--json") {
		t.Errorf("status --help exit %d:\n%s", code, out)
	}
	if out, code := runStatus(t, r, "extra"); code != 2 || !strings.Contains(out, "unexpected argument") {
		t.Errorf("status with an argument: exit %d:\n%s", code, out)
	}
}
