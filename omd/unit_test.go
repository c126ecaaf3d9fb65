package omd_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// parseUnit reads a systemd unit: section -> key -> values in order.
func parseUnit(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", path, n, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// The unit runs the daemon in the foreground under the root it sets,
// reloads with SIGHUP and may write only that root.
func TestSystemdUnit(t *testing.T) {
	path := repoFile(t, "liveproxyd.service")
	u := parseUnit(t, path)
	svc := u["Service"]
	one := func(key string) string {
		if len(svc[key]) != 1 {
			t.Fatalf("[Service] %s: want one value, got %q", key, svc[key])
		}
		return svc[key][0]
	}
	if one("Type") != "simple" {
		t.Error("Type must be simple: the daemon runs with -g")
	}
	const root = "/var/lib/liveproxyd"
	if !slices.Contains(svc["Environment"], "OMD_ROOT="+root) {
		t.Errorf("Environment lacks OMD_ROOT=%s: %q", root, svc["Environment"])
	}
	start := strings.Fields(one("ExecStart"))
	if !filepath.IsAbs(start[0]) || filepath.Base(start[0]) != "liveproxyd" || !slices.Contains(start, "-g") {
		t.Errorf("ExecStart: %q", start)
	}
	if i := slices.Index(start, "--root"); i < 0 || i+1 >= len(start) ||
		(start[i+1] != root && start[i+1] != "${OMD_ROOT}") {
		t.Errorf("ExecStart must pass --root %s: %q", root, start)
	}
	if r := strings.Fields(one("ExecReload")); len(r) != 3 || filepath.Base(r[0]) != "kill" || r[1] != "-HUP" || r[2] != "$MAINPID" {
		t.Errorf("ExecReload: %q", r)
	}
	if one("StateDirectory") != filepath.Base(root) || !slices.Contains(strings.Fields(one("ReadWritePaths")), root) {
		t.Errorf("the root %s must be the state directory and writable", root)
	}
	if len(u["Install"]["WantedBy"]) == 0 {
		t.Error("no [Install] WantedBy: systemctl enable would do nothing")
	}
	// Where systemd is installed, let it check the unit too, with the
	// binary pointed at a real build.
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		return
	}
	text, _ := os.ReadFile(path)
	unit := filepath.Join(t.TempDir(), "liveproxyd.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(text), start[0], buildDaemon(t))), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", unit).CombinedOutput(); err != nil || len(out) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
