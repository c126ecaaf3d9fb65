package main_test

import (
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"liveproxyd/adapters/logging"
	"liveproxyd/internal/testutil"
)

// TestLogLevelsFromCheckmkAppliedOnSIGUSR1: liveproxyd_log_levels (as the
// GUI writes it) sets the level; SIGUSR1, which Checkmk 1.6 GUIs send,
// reloads like SIGHUP and applies a changed level.
func TestLogLevelsFromCheckmkAppliedOnSIGUSR1(t *testing.T) {
	r := newRoot(t)
	r.writeConfig(r.siteConfig(2) + siteLine("down", r.deadSocket(), 2))
	writeGlobal(t, r, "wato/global.mk", "liveproxyd_log_levels = {'cmk.liveproxyd': 30}\n")
	d := startForeground(t, r)
	waitSiteState(t, r, "rs", "alive")
	if strings.Contains(d.logs.String(), " [20] ") {
		t.Fatalf("INFO lines at level 30:\n%s", d.logs.String())
	}

	writeGlobal(t, r, "wato/global.mk", "liveproxyd_log_levels = {'cmk.liveproxyd': 10}\n")
	d.signal(syscall.SIGUSR1)
	d.waitLog("the reload, logged at the new level", regexp.MustCompile(`\[20\] \[cmk\.liveproxyd\] configuration reloaded sites=2`))
	// Debug lines show up too: the dead site's retries.
	d.waitLog("a debug line", regexp.MustCompile(` \[10\] \[cmk\.liveproxyd\.down\] site down still dead`))
}

// floodCommands bounds TestCommandFloodToADeadSiteLogsFewLines.
const floodCommands = 20000

// TestCommandFloodToADeadSiteLogsFewLines: every COMMAND to a dead site is
// dropped with a log line; 20,000 of them pipelined on one connection
// must not write 20,000 lines.
func TestCommandFloodToADeadSiteLogsFewLines(t *testing.T) {
	r := newRoot(t)
	r.writeConfig(siteLine("down", r.deadSocket(), 2))
	d := startForeground(t, r)
	waitSiteState(t, r, "down", "dead")

	nc := testutil.Dial(t, "unix", r.path("tmp/run/liveproxy/down"))
	go func() {
		var b strings.Builder
		for i := range floodCommands {
			fmt.Fprintf(&b, "COMMAND [%d] SCHEDULE_FORCED_HOST_CHECK;host%d;%d\n\n", i, i, i)
		}
		io.WriteString(nc, b.String())
		nc.(*net.UnixConn).CloseWrite()
	}()
	// The proxy closes the connection once it has taken every COMMAND.
	if _, err := io.Copy(io.Discard, nc); err != nil {
		t.Fatal(err)
	}
	// The lines already written, and the summary at the window's end.
	d.waitLog("the summary line", regexp.MustCompile(`COMMAND dropped.* \(\d+ similar lines suppressed\)`))
	n := strings.Count(d.logs.String(), "COMMAND dropped")
	t.Logf("%d COMMANDs to a dead site wrote %d COMMAND lines", floodCommands, n)
	if n > logging.DefaultBurst+1 {
		t.Fatalf("%d COMMAND lines for %d COMMANDs, want at most %d", n, floodCommands, logging.DefaultBurst+1)
	}
}
