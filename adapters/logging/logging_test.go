package logging

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReopenAfterRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "liveproxyd.log")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	log := New(f, false)
	log.Info("before rotation")
	log.Debug("hidden at info level")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := f.Reopen(); err != nil {
		t.Fatal(err)
	}
	log.Info("after rotation")
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	if !bytes.Contains(old, []byte("before rotation")) || bytes.Contains(old, []byte("after rotation")) {
		t.Errorf("rotated file:\n%s", old)
	}
	if !bytes.Contains(cur, []byte("after rotation")) || bytes.Contains(cur, []byte("before")) {
		t.Errorf("new file:\n%s", cur)
	}
	if strings.Contains(string(old)+string(cur), "hidden") {
		t.Error("a debug line was logged at info level")
	}
}

func TestDebugLevel(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, true).Debug("shown", "site", "s1")
	if !strings.Contains(buf.String(), "[10] [cmk.liveproxyd.s1] shown") {
		t.Errorf("debug logger wrote %q", buf.String())
	}
}
