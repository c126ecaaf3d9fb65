package omd_test

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"liveproxyd/adapters/config"
	"liveproxyd/internal/testutil"
)

// snapshot describes every file and link under root: path -> mode and
// contents or link target. Two equal snapshots mean the same site tree.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			m[rel] = "link -> " + target
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			m[rel] = info.Mode().String() + " " + string(b)
		default:
			m[rel] = info.Mode().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestHookProtocol(t *testing.T) {
	hook := repoFile(t, "config-hooks/LIVEPROXYD")
	env := []string{"OMD_ROOT=" + t.TempDir()}
	expect(t, run(t, env, hook, "default"), 0, "off\n")
	if r := run(t, env, hook, "choices"); r.code != 0 || r.stdout != "on: enable\noff: disable\n" {
		t.Errorf("choices: %v", r)
	}
	if r := run(t, env, hook, "set", "maybe"); r.code == 0 {
		t.Errorf("set maybe accepted: %v", r)
	}
	if r := run(t, nil, hook, "set", "on"); r.code == 0 {
		t.Errorf("set on without OMD_ROOT accepted: %v", r)
	}
	// OMD reads these header lines to show the setting.
	text, _ := os.ReadFile(hook)
	for _, h := range []string{"\n# Alias: ", "\n# Menu: ", "\n# Description:\n"} {
		if !strings.Contains(string(text), h) {
			t.Errorf("hook header lacks %q", h)
		}
	}
}

func TestHookOnOff(t *testing.T) {
	hook := repoFile(t, "config-hooks/LIVEPROXYD")
	root := t.TempDir()
	env := []string{"OMD_ROOT=" + root}
	empty := snapshot(t, root)

	expect(t, run(t, env, hook, "set", "on"), 0, "")
	on := snapshot(t, root)
	gui := filepath.Join(root, "etc/check_mk/multisite.d/liveproxy.mk")
	if g := evalMk(t, gui); g["liveproxy"] != starlark.True {
		t.Errorf("%s sets %v", gui, g)
	}
	// Checkmk's own switch, the file a Checkmk GUI reads.
	checkmk := filepath.Join(root, "etc/check_mk/multisite.d/liveproxyd.mk")
	if g := evalMk(t, checkmk); g["liveproxyd_enabled"] != starlark.True {
		t.Errorf("on: %s sets %v, want liveproxyd_enabled = True", checkmk, g)
	}
	link := filepath.Join(root, "etc/rc.d/20-liveproxyd")
	if target, err := os.Readlink(link); err != nil || target != "../init.d/liveproxyd" {
		t.Errorf("rc.d link: %q %v", target, err)
	}
	installed, err := os.ReadFile(link) // through the link
	if err != nil {
		t.Fatal(err)
	}
	if shipped, _ := os.ReadFile(repoFile(t, "init.d/liveproxyd")); string(installed) != string(shipped) {
		t.Error("installed start script differs from init.d/liveproxyd")
	}
	if st, err := os.Stat(link); err != nil || st.Mode().Perm()&0o111 == 0 {
		t.Errorf("start script not executable: %v", err)
	}
	// The daemon can start before the first write-config.
	if cfg, err := config.Load(root, ""); err != nil || len(cfg.Sites) != 0 {
		t.Errorf("initial liveproxyd.mk: %v %v", cfg, err)
	}

	expect(t, run(t, env, hook, "set", "on"), 0, "")
	if again := snapshot(t, root); !maps.Equal(on, again) {
		t.Errorf("set on twice changed the tree:\n%v\n%v", on, again)
	}

	expect(t, run(t, env, hook, "set", "off"), 0, "")
	off := snapshot(t, root)
	for _, p := range []string{"etc/check_mk/multisite.d/liveproxy.mk", "etc/rc.d/20-liveproxyd"} {
		if _, ok := off[p]; ok {
			t.Errorf("set off left %s", p)
		}
	}
	if g := evalMk(t, checkmk); g["liveproxyd_enabled"] != starlark.False {
		t.Errorf("off: %s sets %v, want liveproxyd_enabled = False", checkmk, g)
	}
	// The start script and the proxy's configuration stay for the next on.
	for _, p := range []string{"etc/init.d/liveproxyd", "etc/check_mk/liveproxyd.mk"} {
		if off[p] != on[p] {
			t.Errorf("set off changed %s", p)
		}
	}
	expect(t, run(t, env, hook, "set", "off"), 0, "")
	if again := snapshot(t, root); !maps.Equal(off, again) {
		t.Error("set off twice changed the tree")
	}
	if len(empty) != 1 {
		t.Fatalf("fixture not empty: %v", empty)
	}
}

// The start script comes from LIVEPROXYD_SHARE when given, and a site's
// own (possibly edited) script and configuration are never overwritten.
func TestHookInstallSources(t *testing.T) {
	hook := repoFile(t, "config-hooks/LIVEPROXYD")
	share := t.TempDir()
	testutil.WriteExecutable(t, filepath.Join(share, "init.d/liveproxyd"), "#!/bin/sh\necho shared\n")
	root := t.TempDir()
	expect(t, run(t, []string{"OMD_ROOT=" + root, "LIVEPROXYD_SHARE=" + share}, hook, "set", "on"), 0, "")
	if b, _ := os.ReadFile(filepath.Join(root, "etc/init.d/liveproxyd")); string(b) != "#!/bin/sh\necho shared\n" {
		t.Errorf("not copied from LIVEPROXYD_SHARE: %q", b)
	}

	root2 := t.TempDir()
	testutil.WriteExecutable(t, filepath.Join(root2, "etc/init.d/liveproxyd"), "#!/bin/sh\necho mine\n")
	testutil.WriteFile(t, filepath.Join(root2, "etc/check_mk/liveproxyd.mk"), "sites.update({'x': {'socket': '/x'}})\n")
	expect(t, run(t, []string{"OMD_ROOT=" + root2}, hook, "set", "on"), 0, "")
	if b, _ := os.ReadFile(filepath.Join(root2, "etc/init.d/liveproxyd")); string(b) != "#!/bin/sh\necho mine\n" {
		t.Errorf("site's start script overwritten: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(root2, "etc/check_mk/liveproxyd.mk")); !strings.Contains(string(b), "'x'") {
		t.Errorf("site's proxy configuration overwritten: %q", b)
	}

	// Installed into an OMD version: lib/omd/hooks/ and skel/etc/init.d/.
	version := t.TempDir()
	hookText, _ := os.ReadFile(hook)
	testutil.WriteExecutable(t, filepath.Join(version, "lib/omd/hooks/LIVEPROXYD"), string(hookText))
	testutil.WriteExecutable(t, filepath.Join(version, "skel/etc/init.d/liveproxyd"), "#!/bin/sh\necho skel\n")
	root3 := t.TempDir()
	expect(t, run(t, []string{"OMD_ROOT=" + root3}, filepath.Join(version, "lib/omd/hooks/LIVEPROXYD"), "set", "on"), 0, "")
	if b, _ := os.ReadFile(filepath.Join(root3, "etc/init.d/liveproxyd")); string(b) != "#!/bin/sh\necho skel\n" {
		t.Errorf("not copied from the OMD version's skel: %q", b)
	}

	missing := t.TempDir()
	if r := run(t, []string{"OMD_ROOT=" + t.TempDir(), "LIVEPROXYD_SHARE=" + missing}, hook, "set", "on"); r.code == 0 ||
		!strings.Contains(r.stderr, "not found") {
		t.Errorf("missing start script not reported: %v", r)
	}
}

func evalMk(t *testing.T, path string) starlark.StringDict {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := starlark.ExecFileOptions(&syntax.FileOptions{}, &starlark.Thread{}, path, src, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return g
}
