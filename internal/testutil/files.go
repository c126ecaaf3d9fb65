package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// ShortDir makes a temporary directory removed when the test ends. Unlike
// t.TempDir its path does not hold the test's name: a UNIX socket path
// must fit in 108 bytes, and a site root's sockets lie three levels down
// (tmp/run/liveproxy/SITE).
func ShortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// WriteFile writes text to path as a 0644 file, making its directories.
func WriteFile(t testing.TB, path, text string) {
	t.Helper()
	write(t, path, text, 0o644)
}

// WriteExecutable writes text to path as a 0755 file (a script), making
// its directories.
func WriteExecutable(t testing.TB, path, text string) {
	t.Helper()
	write(t, path, text, 0o755)
}

func write(t testing.TB, path, text string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), perm); err != nil {
		t.Fatal(err)
	}
}

// SiteRoot makes a temporary OMD site root (a ShortDir, so that its
// sockets fit) holding etc/check_mk and files, keyed by path relative to
// the root, each 0644.
func SiteRoot(t testing.TB, files map[string]string) string {
	t.Helper()
	root := ShortDir(t)
	if err := os.MkdirAll(filepath.Join(root, "etc", "check_mk"), 0o755); err != nil {
		t.Fatal(err)
	}
	for rel, text := range files {
		WriteFile(t, filepath.Join(root, rel), text)
	}
	return root
}
