// Package omd_test drives the OMD start script and config hook in this
// directory against site trees made in temporary directories.
package omd_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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
	"liveproxyd/internal/testutil"
	"liveproxyd/livestatus"
)

// result is one script run.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
}

// run executes a script with a clean environment: the caller's, less any
// OMD or liveproxyd variables, plus env.
func run(t *testing.T, env []string, path string, args ...string) result {
	t.Helper()
	cmd := exec.Command(path, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OMD_") && !strings.HasPrefix(kv, "LIVEPROXYD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(testutil.HangGuard):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s %v hung; stdout %q stderr %q", path, args, out.String(), errOut.String())
	}
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

// expect checks a run's exit code and that stdout contains want.
func expect(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stdout, want) {
		t.Fatalf("want exit %d and %q in stdout; got %v", code, want, r)
	}
}

// repoFile is a file of this directory (the tests run in it).
func repoFile(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// buildDaemon builds cmd/liveproxyd once per test binary; TestMain
// removes the build.
var built struct {
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

func buildDaemon(t *testing.T) string {
	t.Helper()
	if built.path == "" && built.err == nil {
		dir, err := os.MkdirTemp("", "omd-test-bin-")
		if err != nil {
			t.Fatal(err)
		}
		built.dir = dir
		built.path, built.err = testutil.BuildDaemon(dir)
	}
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// readPid returns the pid in the site's pid file, or 0.
func readPid(root string) int {
	b, err := os.ReadFile(filepath.Join(root, "tmp/run/liveproxyd.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// gone reports whether pid has exited (a zombie counts: the daemonized
// process is re-parented to PID 1, which may never reap it).
func gone(pid int) bool { return !pidfile.Alive(pid) }

// killDaemon is the cleanup for a failed test: the daemon must not outlive it.
func killDaemon(root string) {
	if pid := readPid(root); pid > 0 && !gone(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// query sends one fixed16 request to a UNIX socket and returns the
// status code and body.
func query(path, request string) (int, string, error) {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request+"ResponseHeader: fixed16\n\n"); err != nil {
		return 0, "", err
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return 0, "", err
	}
	if len(b) < livestatus.HeaderLen {
		return 0, "", fmt.Errorf("short answer %q", b)
	}
	h, err := livestatus.ParseHeader(b[:livestatus.HeaderLen])
	if err != nil || int64(len(b)) != livestatus.HeaderLen+h.Length {
		return 0, "", fmt.Errorf("bad fixed16 answer %q", b)
	}
	return h.Code, string(b[livestatus.HeaderLen:]), nil
}

// waitAnswer retries a query until the proxy answers it with 200: right
// after a start or reload the site may still be connecting.
func waitAnswer(t *testing.T, sock, request string) string {
	t.Helper()
	var body string
	testutil.Eventually(t, testutil.HangGuard, func() error {
		code, b, err := query(sock, request)
		if err == nil && code != 200 {
			err = fmt.Errorf("code %d: %s", code, b)
		}
		body = b
		return err
	})
	return body
}
