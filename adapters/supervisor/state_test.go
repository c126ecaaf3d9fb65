package supervisor_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"liveproxyd/adapters/statefile"
	"liveproxyd/adapters/supervisor"
	"liveproxyd/internal/testutil"
)

// checkmkStateAge is the oldest var/log/liveproxyd.state may get: Checkmk
// rewrites its state file every 5 s, and its tooling reads it as current.
const checkmkStateAge = 5 * time.Second

// TestStateFilesAreRewrittenWithinCheckmksInterval: with the default
// interval (the daemon sets none), the supervisor rewrites both state files
// again and again within checkmkStateAge of its clock, with no reload and
// no one calling WriteState.
func TestStateFilesAreRewrittenWithinCheckmksInterval(t *testing.T) {
	root := testutil.ShortDir(t)
	mock := clock.NewMock()
	sup := supervisor.New(supervisor.Options{Root: root, Clock: mock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		sup.Shutdown(ctx)
	})
	// The mock clock moves in steps; after each the writer gets some real
	// time to write, so a slow write costs at most one step of the bound.
	const step, settle = 250 * time.Millisecond, 200 * time.Millisecond
	paths := []string{filepath.Join(root, statefile.CheckmkPath), filepath.Join(root, statefile.Path)}
	for round := 1; round <= 2; round++ {
		for _, p := range paths {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
		var moved time.Duration
		for !allExist(paths, settle) {
			if moved >= checkmkStateAge {
				t.Fatalf("round %d: %v not all rewritten after %s of the supervisor's clock", round, paths, moved)
			}
			mock.Add(step)
			moved += step
		}
	}
}

// allExist waits up to wait (real time) for every file in paths.
func allExist(paths []string, wait time.Duration) bool {
	for end := time.Now().Add(wait); ; time.Sleep(10 * time.Millisecond) {
		missing := false
		for _, p := range paths {
			if _, err := os.Stat(p); err != nil {
				missing = true
			}
		}
		if !missing {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}
