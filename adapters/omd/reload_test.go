package omd

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"liveproxyd/adapters/pidfile"
	"liveproxyd/internal/testutil"
)

// WriteConfig signals the process in the pid file: a real child process
// that records each SIGHUP it receives.
func TestReloadSendsSIGHUP(t *testing.T) {
	root := newRoot(t, checkmkSites)
	pid, record := startHUPHelper(t)
	testutil.WriteFile(t, filepath.Join(root, pidfile.Path), fmt.Sprintf("%d\n", pid))
	out := writeConfig(t, root)
	if !strings.Contains(out, fmt.Sprintf("reloaded liveproxyd (pid %d)", pid)) {
		t.Errorf("output does not report the reload:\n%s", out)
	}
	testutil.WaitFor(t, "the SIGHUP to arrive", func() bool {
		b, _ := os.ReadFile(record)
		return string(b) == "HUP\n"
	})
}

// A pid file naming a process that is gone, or no pid file, is no error:
// the daemon reads the new file when it starts.
func TestReloadWithoutDaemon(t *testing.T) {
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, pidText, want string }{
		{"stale", fmt.Sprintf("%d\n", gone.Process.Pid), "stale"},
		{"garbage", "not a pid\n", "unreadable pid file"},
		{"missing", "", "is not running (no "},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := newRoot(t, checkmkSites)
			if c.pidText != "" {
				testutil.WriteFile(t, filepath.Join(root, pidfile.Path), c.pidText)
			}
			var out bytes.Buffer
			if err := WriteConfig(root, &out); err != nil {
				t.Fatalf("WriteConfig: %v", err)
			}
			if !strings.Contains(out.String(), c.want) {
				t.Errorf("output lacks %q:\n%s", c.want, out.String())
			}
			if strings.Contains(out.String(), "reloaded liveproxyd") {
				t.Errorf("claims a reload:\n%s", out.String())
			}
		})
	}
}
