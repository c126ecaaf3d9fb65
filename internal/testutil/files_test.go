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

func TestWriteFileMakesDirectoriesAndSetsTheMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "hook")
	WriteFile(t, path, "#!/bin/sh\n", 0o755)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Fatalf("mode %v, want 0755", fi.Mode().Perm())
	}
}
