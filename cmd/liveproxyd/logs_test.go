package main_test

import (
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// siteLines returns the log lines about site at INFO or above.
func siteLines(logs, site string) []string {
	re := regexp.MustCompile(`\] \[cmk\.liveproxyd\.` + regexp.QuoteMeta(site) + `\] `)
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if re.MatchString(l) && !strings.Contains(l, " [10] ") {
			out = append(out, l)
		}
	}
	return out
}

func TestLogLinesNameSiteAndCause(t *testing.T) {
	r := newRoot(t)
	r.writeConfig(siteLine("rs", r.site.Addr(), 2) + siteLine("down", r.deadSocket(), 2))
	d := startForeground(t, r)

	// A dead site: a warning naming the site and why.
	d.waitLog("the dead site's warning", regexp.MustCompile(
		`\[30\] \[cmk\.liveproxyd\.down\] site down is dead: cannot connect: .*no such file or directory`))
	// Started sites are announced with their upstream.
	d.waitLog("the start line", regexp.MustCompile(
		`\[20\] \[cmk\.liveproxyd\.rs\] serving site socket=\S+/tmp/run/liveproxy/rs upstream=unix:`+regexp.QuoteMeta(r.site.Addr())))
	d.waitLog("the live site", regexp.MustCompile(`\[20\] \[cmk\.liveproxyd\.rs\] site rs is alive`))

	// Queries of every kind leave no line at INFO: per-query lines are for
	// --debug only.
	before := siteLines(d.logs.String(), "rs")
	if len(before) < 2 { // "serving site", "is alive": the filter works
		t.Fatalf("lines about rs before the queries: %q", before)
	}
	for i := 0; i < 10; i++ {
		query(t, r, "rs", "GET hosts\nColumns: name\n\n")
		query(t, r, "rs", "GET hosts\nColumns: name\nCache: reload\nResponseHeader: fixed16\n\n")
		if got := query(t, r, "rs", "FETCH hosts\n\n"); !strings.Contains(got, "invalid request method") {
			t.Fatalf("invalid method answered %q", got)
		}
		query(t, r, "rs", "COMMAND [1] SCHEDULE_FORCED_HOST_CHECK;host0;1\n\n")
	}

	// A reload: the reload itself and what it changed, per site.
	r.writeConfig(siteLine("rs", r.site.Addr(), 3) + siteLine("down", r.deadSocket(), 2))
	d.signal(syscall.SIGHUP)
	d.waitLog("the reload line", regexp.MustCompile(`\[20\] \[cmk\.liveproxyd\] configuration reloaded sites=2`))
	reconf := `[20] [cmk.liveproxyd.rs] site reconfigured changed=[Channels]`
	d.waitLog("the site's reconfigure line", regexp.MustCompile(regexp.QuoteMeta(reconf)))

	// The log reaches us through a pipe: only once the reload's first line
	// is here are all lines of the queries here too. Nothing about rs may
	// have been logged between the start and the reload.
	logs := d.logs.String()
	if after := siteLines(logs[:strings.Index(logs, reconf)], "rs"); len(after) != len(before) {
		t.Errorf("queries logged at INFO or above:\n%s", strings.Join(after[len(before):], "\n"))
	}
	d.waitLog("the core's channel change", regexp.MustCompile(`\[20\] \[cmk\.liveproxyd\.rs\] site rs: channels 2 -> 3`))
	if strings.Contains(d.logs.String(), " [10] ") {
		t.Error("debug lines without --debug")
	}
}
