package omd_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	omdconfig "liveproxyd/adapters/omd"
	"liveproxyd/internal/fakesite"
	"liveproxyd/internal/testutil"
)

const statusQuery = "GET status\nColumns: program_start\n"

// site is an OMD site tree with the proxy switched on by the hook, as an
// admin would do it, and a fake remote Livestatus to proxy.
type site struct {
	root, script string
	env          []string
	remote       string // the fake remote site's socket
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{root: testutil.ShortDir(t)}
	s.env = []string{"OMD_ROOT=" + s.root, "LIVEPROXYD_BIN=" + buildDaemon(t)}
	t.Cleanup(func() { killDaemon(s.root) })
	expect(t, run(t, s.env, repoFile(t, "config-hooks/LIVEPROXYD"), "set", "on"), 0, "")
	s.script = filepath.Join(s.root, "etc/rc.d/20-liveproxyd")
	s.remote = filepath.Join(t.TempDir(), "live")
	srv, err := fakesite.Listen("unix", s.remote, fakesite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return s
}

// setSites writes the GUI's sites.mk with these proxied sites (all served
// by the fake remote) and runs write-config; it returns its output.
func (s *site) setSites(t *testing.T, names ...string) string {
	t.Helper()
	return s.setSitesParams(t, "{'heartbeat': (1, 1.0)}", names...)
}

// setSitesParams is setSites with params, a Python dict literal, as every
// site's proxy parameters ('proxy': {'params': PARAMS}).
func (s *site) setSitesParams(t *testing.T, params string, names ...string) string {
	t.Helper()
	s.writeSites(t, params, names...)
	var out bytes.Buffer
	if err := omdconfig.WriteConfig(s.root, &out); err != nil {
		t.Fatalf("write-config: %v\n%s", err, out.String())
	}
	return out.String()
}

// writeSites writes the GUI's sites.mk (and nothing else) with these
// proxied sites, all served by the fake remote with params as their
// proxy parameters.
func (s *site) writeSites(t *testing.T, params string, names ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("sites.update({'local': {'socket': ('local', None), 'proxy': None},\n")
	for _, n := range names {
		fmt.Fprintf(&b, " %q: {'socket': 'unix:%s', 'proxy': {'params': %s}},\n", n, s.remote, params)
	}
	b.WriteString("})\n")
	testutil.WriteFile(t, filepath.Join(s.root, omdconfig.SitesFile), b.String())
}

func (s *site) sock(name string) string { return filepath.Join(s.root, "tmp/run/liveproxy", name) }

// The whole life of the daemon under the start script, with the real
// cmd/liveproxyd proxying a fake remote site.
func TestInitScriptLifecycle(t *testing.T) {
	s := newSite(t)
	s.setSites(t, "remote1")
	expect(t, run(t, s.env, s.script, "status"), 3, "liveproxyd: stopped\n")

	expect(t, run(t, s.env, s.script, "start"), 0, "Starting liveproxyd...OK\n")
	pid := readPid(s.root)
	if pid == 0 || gone(pid) {
		t.Fatalf("no running daemon in the pid file (pid %d)", pid)
	}
	expect(t, run(t, s.env, s.script, "status"), 0, fmt.Sprintf("liveproxyd: running (PID %d)\n", pid))
	// Without OMD_ROOT the script finds the site from its own path.
	noRoot := []string{"LIVEPROXYD_BIN=" + buildDaemon(t)}
	expect(t, run(t, noRoot, filepath.Join(s.root, "etc/init.d/liveproxyd"), "status"), 0, "running")
	if body := waitAnswer(t, s.sock("remote1"), statusQuery); body != strconv.Itoa(fakesite.DefaultProgramStart)+"\n" {
		t.Errorf("program_start through the proxy: %q", body)
	}
	expect(t, run(t, s.env, s.script, "start"), 0, "already running")
	if readPid(s.root) != pid {
		t.Fatal("a second start replaced the daemon")
	}

	// write-config reloads the running daemon itself; the new site appears.
	out := s.setSites(t, "remote1", "remote2")
	if !strings.Contains(out, fmt.Sprintf("reloaded liveproxyd (pid %d)", pid)) {
		t.Errorf("write-config did not reload: %s", out)
	}
	waitAnswer(t, s.sock("remote2"), statusQuery)
	// And the script's reload (SIGHUP) keeps the daemon and its sites.
	s.setSites(t, "remote2", "remote3")
	expect(t, run(t, s.env, s.script, "reload"), 0, "Reloading liveproxyd...OK\n")
	waitAnswer(t, s.sock("remote3"), statusQuery)
	if readPid(s.root) != pid || gone(pid) {
		t.Fatal("reload replaced the daemon")
	}
	expect(t, run(t, s.env, s.script, "status"), 0, "running")

	expect(t, run(t, s.env, s.script, "stop"), 0, fmt.Sprintf("Stopping liveproxyd...killing %d...OK\n", pid))
	if !gone(pid) {
		t.Errorf("pid %d still running after stop", pid)
	}
	if _, err := os.Stat(filepath.Join(s.root, "tmp/run/liveproxyd.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file left after stop: %v", err)
	}
	expect(t, run(t, s.env, s.script, "status"), 3, "liveproxyd: stopped\n")
	expect(t, run(t, s.env, s.script, "stop"), 0, "not running")
	expect(t, run(t, s.env, s.script, "reload"), 7, "not running")

	expect(t, run(t, s.env, s.script, "restart"), 0, "Starting liveproxyd...OK\n")
	pid2 := readPid(s.root)
	if pid2 == 0 || pid2 == pid || gone(pid2) {
		t.Fatalf("restart from stopped: pid %d (before %d)", pid2, pid)
	}
	r := run(t, s.env, s.script, "restart")
	expect(t, r, 0, fmt.Sprintf("killing %d...OK\nStarting liveproxyd...OK\n", pid2))
	if pid3 := readPid(s.root); pid3 == pid2 || !gone(pid2) || gone(pid3) {
		t.Errorf("restart kept the old daemon: %d -> %d", pid2, pid3)
	}
	expect(t, run(t, s.env, s.script, "stop"), 0, "OK\n")
}

// A pid file whose process is gone: status says dead (1), stop cleans up.
func TestInitScriptStalePidFile(t *testing.T) {
	root := t.TempDir()
	script := repoFile(t, "init.d/liveproxyd")
	env := []string{"OMD_ROOT=" + root, "LIVEPROXYD_BIN=/nonexistent/liveproxyd"}
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(root, "tmp/run/liveproxyd.pid")
	for _, text := range []string{fmt.Sprintf("%d\n", p.Pid), "garbage\n"} {
		testutil.WriteFile(t, pidFile, text)
		expect(t, run(t, env, script, "status"), 1, "liveproxyd: dead")
		expect(t, run(t, env, script, "reload"), 7, "not running")
		expect(t, run(t, env, script, "stop"), 0, "removed stale pid file")
		if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
			t.Errorf("stale pid file kept: %v", err)
		}
		expect(t, run(t, env, script, "status"), 3, "stopped")
	}
}

// A start that fails says so and exits non-zero with the daemon's reason.
func TestInitScriptStartFailure(t *testing.T) {
	s := newSite(t)
	testutil.WriteFile(t, filepath.Join(s.root, "etc/check_mk/liveproxyd.mk"), "sites.update({'a': {'channels': 0}})\n")
	r := run(t, s.env, s.script, "start")
	if r.code == 0 || !strings.Contains(r.stdout, "Starting liveproxyd...failed") || !strings.Contains(r.stderr, "liveproxyd.mk") {
		t.Errorf("broken configuration: %v", r)
	}
	expect(t, run(t, s.env, s.script, "status"), 3, "stopped")
	r = run(t, []string{"OMD_ROOT=" + s.root, "LIVEPROXYD_BIN=/nonexistent/liveproxyd"}, s.script, "start")
	if r.code == 0 || !strings.Contains(r.stdout, "failed") {
		t.Errorf("missing binary: %v", r)
	}
}

// OMD's site.conf switches the service off: start, restart and reload
// exit 5 (OMD skips the service); status and stop still work.
func TestInitScriptDisabledInSite(t *testing.T) {
	root := t.TempDir()
	script := repoFile(t, "init.d/liveproxyd")
	env := []string{"OMD_ROOT=" + root, "LIVEPROXYD_BIN=/nonexistent/liveproxyd"}
	testutil.WriteFile(t, filepath.Join(root, "etc/omd/site.conf"), "CONFIG_CORE='nagios'\nCONFIG_LIVEPROXYD='off'\n")
	for _, action := range []string{"start", "restart", "reload"} {
		if r := run(t, env, script, action); r.code != 5 || r.stdout != "" {
			t.Errorf("%s with LIVEPROXYD off: %v", action, r)
		}
	}
	expect(t, run(t, env, script, "status"), 3, "stopped")
	expect(t, run(t, env, script, "stop"), 0, "not running")
	testutil.WriteFile(t, filepath.Join(root, "etc/omd/site.conf"), "CONFIG_LIVEPROXYD='on'\n")
	if r := run(t, env, script, "start"); r.code != 1 {
		t.Errorf("start with LIVEPROXYD on should try (and fail on the missing binary): %v", r)
	}
	if r := run(t, env, script, "bogus"); r.code != 2 || !strings.Contains(r.stderr, "Usage") {
		t.Errorf("bogus action: %v", r)
	}
	if r := run(t, nil, script, "status"); r.code != 4 {
		t.Errorf("status without OMD_ROOT outside a site: %v", r)
	}
}

// A daemon that ignores SIGTERM is killed after the stop timeout.
func TestInitScriptStopKillsStuckDaemon(t *testing.T) {
	root := t.TempDir()
	script := repoFile(t, "init.d/liveproxyd")
	// A shell that ignores TERM stands in for a hung daemon.
	p, err := os.StartProcess("/bin/sh", []string{"sh", "-c", "trap '' TERM; while :; do sleep 1; done"},
		&os.ProcAttr{Sys: &syscall.SysProcAttr{Setpgid: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-p.Pid, syscall.SIGKILL); p.Wait() })
	testutil.WriteFile(t, filepath.Join(root, "tmp/run/liveproxyd.pid"), fmt.Sprintf("%d\n", p.Pid))
	// Reap it as soon as it dies so the script does not see a zombie of ours.
	done := make(chan struct{})
	go func() { p.Wait(); close(done) }()
	r := run(t, []string{"OMD_ROOT=" + root, "LIVEPROXYD_STOP_WAIT=1"}, script, "stop")
	expect(t, r, 0, fmt.Sprintf("Stopping liveproxyd...killing %d...still running after 1s, sending SIGKILL...OK\n", p.Pid))
	<-done
}
