package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"liveproxyd/internal/testutil"
)

// startRounds bounds TestTwoDaemonsStartedAtOnce. The old pid file lost
// the race in about 3 of 30 tries of this test's shell start, so 30 rounds
// miss it with a chance of about 4 %; with the lock it must never happen.
const startRounds = 30

// startTwice starts two daemons on r from one shell, so both forks happen
// within microseconds (Go's own exec serializes forks, which spreads them
// too far apart to race). It returns each start's output, ending in
// "exit=CODE".
func startTwice(t *testing.T, r *siteRoot) [2]string {
	t.Helper()
	dir := t.TempDir()
	script := `("$0" --root "$1" >"$2/a" 2>&1; echo "exit=$?" >>"$2/a") &
("$0" --root "$1" >"$2/b" 2>&1; echo "exit=$?" >>"$2/b") &
wait`
	if out, err := exec.Command("sh", "-c", script, binary, r.dir, dir).CombinedOutput(); err != nil {
		t.Fatalf("start script: %v\n%s", err, out)
	}
	var outs [2]string
	for i, name := range []string{"a", "b"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = string(data)
	}
	return outs
}

var startedPidRE = regexp.MustCompile(`liveproxyd started.* pid=(\d+)`)

// TestTwoDaemonsStartedAtOnce starts two daemons on one root at the same
// instant, again and again: exactly one may run, and the loser must leave
// the winner's socket and pid file alone.
func TestTwoDaemonsStartedAtOnce(t *testing.T) {
	r := newRoot(t)
	r.writeConfig(r.siteConfig(2))
	// When both win, the pid file names only one: every daemon that
	// started says its pid in the log, and none may outlive the test.
	t.Cleanup(func() {
		log, _ := os.ReadFile(r.path("var/log/liveproxyd.log"))
		for _, m := range startedPidRE.FindAllStringSubmatch(string(log), -1) {
			if pid, err := strconv.Atoi(m[1]); err == nil && !gone(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	for round := 0; round < startRounds; round++ {
		var won, lost int
		for _, out := range startTwice(t, r) {
			switch {
			case strings.HasSuffix(out, "exit=0\n"):
				won++
			case strings.Contains(out, "already running"):
				lost++
			default:
				t.Fatalf("round %d: start failed for another reason:\n%s", round, out)
			}
		}
		if won != 1 || lost != 1 {
			t.Fatalf("round %d: %d daemons started, %d refused; want 1 and 1", round, won, lost)
		}
		// Both starters have exited: the loser's exit must not have taken
		// the winner's socket or pid file.
		pid := readPid(t, r)
		killOnCleanup(t, pid)
		if gone(pid) {
			t.Fatalf("round %d: the pid file names %d, which does not run", round, pid)
		}
		if got := programStart(t, testutil.Dial(t, "unix", r.socket())); got != "4242" {
			t.Fatalf("round %d: program_start %q through the winner", round, got)
		}
		stopDaemon(t, r, pid)
	}
}

// TestStalePidOfAnotherProgramDoesNotBlockTheStart: after a reboot the pid
// in a stale file may belong to any live process; only a liveproxyd may
// block the start.
func TestStalePidOfAnotherProgramDoesNotBlockTheStart(t *testing.T) {
	r := newRoot(t)
	r.writeConfig(r.siteConfig(2))
	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() }()
	os.MkdirAll(r.path("tmp/run"), 0o755)
	if err := os.WriteFile(r.path("tmp/run/liveproxyd.pid"), []byte(fmt.Sprintf("%d\n", sleeper.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := startDaemon(t, r); err != nil {
		t.Fatalf("start over a stale pid of a live sleep: %v\n%s", err, out)
	}
	pid := readPid(t, r)
	killOnCleanup(t, pid)
	if pid == sleeper.Process.Pid {
		t.Fatal("the pid file still names the sleep")
	}
	stopDaemon(t, r, pid)
}

// TestStartAfterKill9 is the daemon killed with -9: its pid file and
// sockets stay behind. The next start takes the pid file over and removes
// the socket of a site that is no longer configured, so a GUI gets "no
// such file" instead of "connection refused".
func TestStartAfterKill9(t *testing.T) {
	r := newRoot(t)
	r.writeConfig(r.siteConfig(2) + siteLine("old", r.deadSocket(), 1))
	first := startForeground(t, r)
	waitSiteState(t, r, "rs", "alive")
	first.signal(syscall.SIGKILL)
	<-first.exited
	old := r.path("tmp/run/liveproxy/old")
	if !exists(old) || !exists(r.path("tmp/run/liveproxyd.pid")) {
		t.Fatal("kill -9 left no socket or pid file; the test proves nothing")
	}

	r.writeConfig(r.siteConfig(2))
	second := startForeground(t, r)
	second.waitLog("the start", regexp.MustCompile(`\] liveproxyd started `))
	if _, err := os.Lstat(old); !os.IsNotExist(err) {
		t.Fatalf("the socket of the removed site is still there: %v", err)
	}
	if got := programStart(t, testutil.Dial(t, "unix", r.socket())); got != "4242" {
		t.Fatalf("program_start %q after the restart", got)
	}
}
