package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"liveproxyd/internal/testutil"
)

// startDaemon runs liveproxyd without -g; the parent returns once the
// daemon reported its start.
func startDaemon(t *testing.T, r *siteRoot) (string, error) {
	t.Helper()
	out, err := exec.Command(binary, "--root", r.dir).CombinedOutput()
	return string(out), err
}

func stopDaemon(t *testing.T, r *siteRoot, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the daemon to exit", func() bool { return gone(pid) })
	if exists(r.socket()) || exists(r.path("tmp/run/liveproxyd.pid")) {
		t.Fatal("socket or pid file left behind")
	}
}

// checkmkStarted is the start line in the format of Checkmk's
// liveproxyd.log: time with milliseconds after a comma, the numeric Python
// level, the logger name.
var checkmkStarted = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[20\] \[cmk\.liveproxyd\] liveproxyd started `)

func TestDaemonize(t *testing.T) {
	r := newRoot(t)
	r.writeConfig(r.siteConfig(2))
	// A stale pid file (its process is gone) must not stop the start.
	done := exec.Command(binary, "--help")
	if err := done.Run(); err != nil {
		t.Fatal(err)
	}
	pidPath := r.path("tmp/run/liveproxyd.pid")
	os.MkdirAll(r.path("tmp/run"), 0o755)
	if err := os.WriteFile(pidPath, []byte(fmt.Sprintf("%d\n", done.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}

	if out, err := startDaemon(t, r); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	pid := readPid(t, r)
	killOnCleanup(t, pid)
	if pid == done.Process.Pid || gone(pid) {
		t.Fatalf("pid file names %d, which is not a running daemon", pid)
	}
	if got := programStart(t, testutil.Dial(t, "unix", r.socket())); got != "4242" {
		t.Fatalf("program_start %q through the daemon", got)
	}
	// The log file is in Checkmk's line format, as its log viewers and
	// integration tests read var/log/liveproxyd.log.
	log, err := os.ReadFile(r.path("var/log/liveproxyd.log"))
	if err != nil || !checkmkStarted.Match(log) {
		t.Fatalf("log file lacks a line matching %s: %v\n%s", checkmkStarted, err, log)
	}

	// A second daemon refuses to start while the first runs.
	out, err := startDaemon(t, r)
	if err == nil || !strings.Contains(out, "already running") {
		t.Fatalf("second start: %v\n%s", err, out)
	}
	if readPid(t, r) != pid {
		t.Fatal("the second start replaced the pid file")
	}
	stopDaemon(t, r, pid)
}

func TestDaemonizeReportsABadConfig(t *testing.T) {
	r := newRoot(t)
	r.writeConfig("sites.update({'rs': {'socket': '/x', 'channels': 'many'}})\n")
	out, err := startDaemon(t, r)
	if err == nil || !strings.Contains(out, "liveproxyd.mk") || !strings.Contains(out, "channels") {
		t.Fatalf("bad config: %v\n%s", err, out)
	}
	if exists(r.path("tmp/run/liveproxyd.pid")) {
		t.Fatal("a daemon that failed to start left its pid file")
	}
}
