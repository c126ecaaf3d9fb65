package main_test

import (
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"liveproxyd/adapters/statefile"
	"liveproxyd/internal/testutil"
)

func TestForegroundDaemon(t *testing.T) {
	r := newRoot(t)
	r.writeConfig(r.siteConfig(2))
	var logs testutil.Buffer
	cmd := exec.Command(binary, "-g", "--root", r.dir)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killOnCleanup(t, cmd.Process.Pid)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if t.Failed() {
			t.Logf("daemon output:\n%s", logs.String())
		}
	}()

	// The file appears at bind(2), a moment before listen(2): wait until
	// it accepts, not until it exists.
	testutil.WaitFor(t, "the site socket", func() bool {
		nc, err := net.Dial("unix", r.socket())
		if err == nil {
			nc.Close()
		}
		return err == nil
	})
	if pid := readPid(t, r); pid != cmd.Process.Pid {
		t.Fatalf("pid file says %d, daemon is %d", pid, cmd.Process.Pid)
	}
	client := testutil.Dial(t, "unix", r.socket())
	if got := programStart(t, client); got != "4242" {
		t.Fatalf("program_start %q through the proxy", got)
	}

	// SIGHUP with a changed channel count: the KeepAlive client stays.
	r.writeConfig(r.siteConfig(3))
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the reload in the state file", func() bool {
		f, err := statefile.Read(r.path(statefile.Path))
		return err == nil && len(f.Sites) == 1 && f.Sites[0].Target == 3
	})
	if got := programStart(t, client); got != "4242" {
		t.Fatalf("after SIGHUP: program_start %q", got)
	}
	// A broken configuration is logged and the running one kept.
	r.writeConfig("sites.update({'rs': {'socket': \n")
	cmd.Process.Signal(syscall.SIGHUP)
	testutil.WaitFor(t, "the reload error in the log", func() bool {
		return strings.Contains(logs.String(), "configuration not reloaded")
	})
	if got := programStart(t, client); got != "4242" {
		t.Fatalf("after a bad reload: program_start %q", got)
	}

	// State file and status.
	f := readState(t, r)
	if len(f.Sites) != 1 || f.Sites[0].Name != "rs" || f.Sites[0].State != "alive" || f.PID != cmd.Process.Pid {
		t.Fatalf("state file %+v", f)
	}
	out, code := runStatus(t, r)
	if code != 0 || !strings.Contains(out, "rs") || !strings.Contains(out, "alive") {
		t.Fatalf("status exit %d:\n%s", code, out)
	}
	out, code = runStatus(t, r, "--json")
	if js := decodeJSON(t, out); code != 0 || len(js.Sites) != 1 || js.Sites[0].Target != 3 {
		t.Fatalf("status --json exit %d: %+v", code, js)
	}

	// SIGTERM: exit 0, sockets and pid file gone.
	client.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := testutil.Await(t, "exit after SIGTERM", exited); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if exists(r.socket()) || exists(r.path("tmp/run/liveproxyd.pid")) {
		t.Fatal("socket or pid file left behind")
	}
	if out, code := runStatus(t, r); code == 0 {
		t.Fatalf("status of a stopped daemon exits 0:\n%s", out)
	}
}

func TestStatusWithoutStateFile(t *testing.T) {
	r := newRoot(t)
	if out, code := runStatus(t, r); code == 0 || !strings.Contains(out, "liveproxyd.status.json") {
		t.Fatalf("status without a state file: exit %d\n%s", code, out)
	}
}

func TestHelp(t *testing.T) {
	out, err := exec.Command(binary, "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "-root") || !strings.Contains(string(out), "liveproxyd status") {
		t.Fatalf("--help: %v\n%s", err, out)
	}
	if err := exec.Command(binary, "--no-such-flag").Run(); err == nil {
		t.Fatal("an unknown flag was accepted")
	}
}
