package main_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"liveproxyd/adapters/statefile"
	"liveproxyd/internal/testutil"
)

// fgDaemon is liveproxyd running with -g, its log collected.
type fgDaemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	logs   *testutil.Buffer
	exited chan error
}

// startForeground runs the daemon in the foreground on r with extra
// arguments. It is stopped (SIGTERM, then SIGKILL) when the test ends, and
// its log is printed if the test failed.
func startForeground(t *testing.T, r *siteRoot, args ...string) *fgDaemon {
	t.Helper()
	d := &fgDaemon{t: t, logs: &testutil.Buffer{}, exited: make(chan error, 1)}
	d.cmd = exec.Command(binary, append([]string{"-g", "--root", r.dir}, args...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killOnCleanup(t, d.cmd.Process.Pid)
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("daemon output:\n%s", d.logs.String())
		}
	})
	return d
}

func (d *fgDaemon) signal(sig syscall.Signal) {
	d.t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatal(err)
	}
}

// stop sends SIGTERM and waits (bounded) for the exit; safe to repeat.
func (d *fgDaemon) stop() {
	if d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(testutil.HangGuard):
		d.t.Error("daemon did not exit after SIGTERM")
	}
}

// waitLog waits until a log line matches re and returns its submatches.
func (d *fgDaemon) waitLog(what string, re *regexp.Regexp) []string {
	d.t.Helper()
	var m []string
	testutil.WaitFor(d.t, what, func() bool {
		m = re.FindStringSubmatch(d.logs.String())
		return m != nil
	})
	return m
}

// siteLine is the config of a site with fast heartbeats and retries.
func siteLine(name, socket string, channels int) string {
	return fmt.Sprintf("sites.update({%q: {'socket': %q, 'channels': %d, 'heartbeat': (0.2, 1.0), 'connect_retry': 0.2}})\n",
		name, socket, channels)
}

// deadSocket is a socket path in r where nothing listens.
func (r *siteRoot) deadSocket() string { return r.path("nothing-listens-here") }

// query sends one request on a new connection to site's proxy socket,
// shuts the write side (a COMMAND's connection stays open otherwise) and
// returns the whole answer.
func query(t *testing.T, r *siteRoot, site, request string) string {
	t.Helper()
	nc := testutil.Dial(t, "unix", r.path("tmp/run/liveproxy/"+site))
	defer nc.Close()
	if _, err := io.WriteString(nc, request); err != nil {
		t.Fatal(err)
	}
	if err := nc.(*net.UnixConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", request, err)
	}
	return string(b)
}

// waitSiteState waits until the state file shows site in state.
func waitSiteState(t *testing.T, r *siteRoot, site, state string) {
	t.Helper()
	testutil.WaitFor(t, "site "+site+" "+state+" in the state file", func() bool {
		f, err := os.ReadFile(r.path(statefile.Path))
		if err != nil {
			return false
		}
		js := decodeJSON(t, string(f))
		for _, s := range js.Sites {
			if s.Name == site {
				return s.State == state
			}
		}
		return false
	})
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t)))
}

func refused(addr string) bool {
	nc, err := net.DialTimeout("tcp", addr, testutil.HangGuard)
	if err == nil {
		nc.Close()
		return false
	}
	return true
}

func writeGlobal(t *testing.T, r *siteRoot, name, text string) {
	t.Helper()
	testutil.WriteFile(t, filepath.Join(r.dir, "etc/check_mk/liveproxyd.d", name), text)
}
