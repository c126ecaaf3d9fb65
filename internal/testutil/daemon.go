package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// BuildDaemon compiles the liveproxyd command into dir and returns the
// binary's path, for tests that run the daemon as a process (signals,
// daemonizing, the OMD scripts, end to end). It takes no testing.TB
// because a TestMain builds once for all tests of a package.
func BuildDaemon(dir string) (string, error) {
	// `go test` puts its own go first on PATH or sets GOROOT.
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	bin := filepath.Join(dir, "liveproxyd")
	// The import path, not a relative one: it resolves from any package
	// directory of the module.
	out, err := exec.Command(goBin, "build", "-o", bin, "liveproxyd/cmd/liveproxyd").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build liveproxyd/cmd/liveproxyd: %v\n%s", err, out)
	}
	return bin, nil
}
