package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"liveproxyd/adapters/pidfile"
	"liveproxyd/adapters/statefile"
	"liveproxyd/internal/fakesite"
	"liveproxyd/internal/lsclient"
	"liveproxyd/internal/testutil"
)

// binary is the daemon built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lpdbin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary, err = testutil.BuildDaemon(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// siteRoot is a temporary OMD site root with a fake remote site.
type siteRoot struct {
	t    *testing.T
	dir  string
	site *fakesite.Server
}

func newRoot(t *testing.T) *siteRoot {
	t.Helper()
	dir := testutil.SiteRoot(t, nil)
	site, err := fakesite.Listen("unix", filepath.Join(dir, "remote-live"), fakesite.Options{ProgramStart: 4242})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { site.Close() })
	return &siteRoot{t: t, dir: dir, site: site}
}

func (r *siteRoot) writeConfig(text string) {
	r.t.Helper()
	testutil.WriteFile(r.t, filepath.Join(r.dir, "etc/check_mk/liveproxyd.mk"), text)
}

func (r *siteRoot) siteConfig(channels int) string {
	return fmt.Sprintf("sites.update({'rs': {'socket': %q, 'channels': %d, 'heartbeat': (0.2, 1.0), 'connect_retry': 0.2}})\n",
		r.site.Addr(), channels)
}

func (r *siteRoot) path(rel string) string { return filepath.Join(r.dir, rel) }

func (r *siteRoot) socket() string { return r.path("tmp/run/liveproxy/rs") }

// killOnCleanup makes sure a daemon started by a test never outlives it.
func killOnCleanup(t *testing.T, pid int) {
	t.Cleanup(func() {
		if syscall.Kill(pid, 0) == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// programStart asks through the proxy on a KeepAlive connection.
func programStart(t *testing.T, nc net.Conn) string {
	t.Helper()
	nc.SetDeadline(time.Now().Add(testutil.HangGuard))
	ps, err := lsclient.ProgramStart(nc)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func readState(t *testing.T, r *siteRoot) *statefile.File {
	t.Helper()
	f, err := statefile.Read(r.path(statefile.Path))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// runStatus runs `liveproxyd status` and returns its output and exit code.
func runStatus(t *testing.T, r *siteRoot, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"status", "--root", r.dir}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}

func readPid(t *testing.T, r *siteRoot) int {
	t.Helper()
	data, err := os.ReadFile(r.path("tmp/run/liveproxyd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// gone reports whether pid has exited (a zombie counts).
func gone(pid int) bool { return !pidfile.Alive(pid) }

func decodeJSON(t *testing.T, s string) statefile.File {
	t.Helper()
	var f statefile.File
	if err := json.Unmarshal([]byte(s), &f); err != nil {
		t.Fatalf("status --json output is not the state file: %v\n%s", err, s)
	}
	return f
}
