package testutil

import (
	"os/exec"
	"strings"
	"testing"
)

func TestBuildDaemonMakesARunnableBinary(t *testing.T) {
	bin, err := BuildDaemon(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(bin, "--help").CombinedOutput()
	if !strings.Contains(string(out), "liveproxyd status") {
		t.Fatalf("%s --help:\n%s", bin, out)
	}
}
