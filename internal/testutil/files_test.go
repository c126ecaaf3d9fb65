package testutil

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestSiteRootHoldsItsFilesAndTakesASocket(t *testing.T) {
	var root string
	t.Run("make", func(t *testing.T) {
		root = SiteRoot(t, map[string]string{"etc/check_mk/liveproxyd.mk": "sites = {}\n"})
		if fi, err := os.Stat(filepath.Join(root, "etc", "check_mk")); err != nil || !fi.IsDir() {
			t.Fatalf("etc/check_mk: %v", err)
		}
		b, err := os.ReadFile(filepath.Join(root, "etc", "check_mk", "liveproxyd.mk"))
		if err != nil || string(b) != "sites = {}\n" {
			t.Fatalf("liveproxyd.mk: %q, %v", b, err)
		}
		// The socket path of a site with a long name must still bind.
		sock := filepath.Join(root, "tmp", "run", "liveproxy", "a-site-with-a-rather-long-name")
		if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatalf("a socket in the site root: %v", err)
		}
		l.Close()
	})
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Fatalf("the root outlived its test: %v", err)
	}
}

func TestWriteFileAndWriteExecutableMakeDirectoriesAndSetTheMode(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		write func(testing.TB, string, string)
		path  string
		mode  os.FileMode
	}{
		{WriteFile, filepath.Join(dir, "a", "b", "x.mk"), 0o644},
		{WriteExecutable, filepath.Join(dir, "c", "d", "hook"), 0o755},
	} {
		tc.write(t, tc.path, "text\n")
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(tc.path); string(b) != "text\n" || fi.Mode().Perm() != tc.mode {
			t.Fatalf("%s: %q mode %v, want %q mode %v", tc.path, b, fi.Mode().Perm(), "text\n", tc.mode)
		}
	}
}
