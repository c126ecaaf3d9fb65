package omd

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"liveproxyd/adapters/config"
	"liveproxyd/internal/testutil"
)

// hupRecordEnv makes the test binary act as a stand-in daemon that appends
// one line per SIGHUP to the named file (see hupHelper).
const hupRecordEnv = "OMD_TEST_HUP_RECORD"

func TestMain(m *testing.M) {
	if record := os.Getenv(hupRecordEnv); record != "" {
		hupHelper(record)
		return
	}
	os.Exit(m.Run())
}

// hupHelper records SIGHUPs until SIGTERM, or exits on its own after a
// minute so a failed test cannot leave it behind.
func hupHelper(record string) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM)
	if err := os.WriteFile(record+".ready", []byte("ready\n"), 0o644); err != nil {
		os.Exit(2)
	}
	deadline := time.After(time.Minute)
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGTERM {
				os.Exit(0)
			}
			f, err := os.OpenFile(record, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				os.Exit(2)
			}
			f.WriteString("HUP\n")
			f.Close()
		case <-deadline:
			os.Exit(3)
		}
	}
}

// startHUPHelper starts the stand-in daemon and waits until it handles
// signals. It returns its pid and the record file.
func startHUPHelper(t *testing.T) (int, string) {
	t.Helper()
	record := filepath.Join(t.TempDir(), "hups")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), hupRecordEnv+"="+record)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	testutil.WaitFor(t, "the helper to be ready", func() bool {
		_, err := os.Stat(record + ".ready")
		return err == nil
	})
	return cmd.Process.Pid, record
}

// newRoot makes a site root with etc/check_mk and, if sites is not "",
// the GUI's sites.mk holding it.
func newRoot(t *testing.T, sites string) string {
	t.Helper()
	if sites == "" {
		return testutil.SiteRoot(t, nil)
	}
	return testutil.SiteRoot(t, map[string]string{SitesFile: sites})
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeConfig runs WriteConfig and fails the test on an error.
func writeConfig(t *testing.T, root string) string {
	t.Helper()
	var out bytes.Buffer
	if err := WriteConfig(root, &out); err != nil {
		t.Fatalf("WriteConfig: %v\noutput:\n%s", err, out.String())
	}
	return out.String()
}

// load reads the written file with the daemon's loader.
func load(t *testing.T, root string) map[string]config.Site {
	t.Helper()
	cfg, err := config.Load(root, "")
	if err != nil {
		t.Fatalf("config.Load of the written file: %v\n%s", err, readFile(t, filepath.Join(root, config.MainFile)))
	}
	m := map[string]config.Site{}
	for _, s := range cfg.Sites {
		m[s.Name] = s
	}
	return m
}

// lineOfText is the 1-based line of the first line of src containing s.
func lineOfText(t *testing.T, src, s string) int {
	t.Helper()
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%q not in the fixture", s)
	return 0
}

// configError unwraps err into a *config.Error or fails.
func configError(t *testing.T, err error) *config.Error {
	t.Helper()
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("want a *config.Error, got %T: %v", err, err)
	}
	return ce
}

// dirEntries lists the names in dir, to catch temporary files left behind.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}
