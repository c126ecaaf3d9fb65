package listen

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"liveproxyd/internal/testutil"
)

func TestUnixReplacesStaleSocket(t *testing.T) {
	path := filepath.Join(testutil.ShortDir(t), "run", "liveproxy", "site")
	// A stale socket: bound by an earlier run that did not clean up.
	os.MkdirAll(filepath.Dir(path), 0o755)
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close()

	l, err := Unix(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != Mode || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket file %v, %v", fi, err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial the new socket: %v", err)
	}
	c.Close()
	l.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("close left the socket file: %v", err)
	}
}

func TestUnixRefuses(t *testing.T) {
	dir := testutil.ShortDir(t)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("keep me"), 0o644)
	if _, err := Unix(file); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Error("the regular file was touched")
	}
	long := filepath.Join(dir, strings.Repeat("x", MaxPath))
	if _, err := Unix(long); err == nil || !strings.Contains(err.Error(), "107") {
		t.Errorf("long path: %v", err)
	}
}
