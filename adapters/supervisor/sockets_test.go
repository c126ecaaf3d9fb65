package supervisor_test

import (
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"liveproxyd/adapters/config"
	"liveproxyd/adapters/statefile"
	"liveproxyd/adapters/supervisor"
	"liveproxyd/internal/testutil"
)

// TestSocketThatCannotBeCreatedIsRetried: a site whose socket path is
// taken (here by a directory) is retried with a back-off, so once the
// path is free the site is served without another reload.
func TestSocketThatCannotBeCreatedIsRetried(t *testing.T) {
	root := testutil.ShortDir(t)
	site := startSite(t, 4242)
	sup := newSupervisor(t, root, slog.New(slog.NewTextHandler(io.Discard, nil)))
	path := supervisor.SocketPath(root, "s1")
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := sup.Apply(&config.Config{Sites: []config.Site{siteConfig("s1", site, 2)}}); err == nil {
		t.Fatal("Apply with the socket path taken by a directory succeeded")
	}
	if st := stateOf(t, sup, "s1"); st.State != statefile.StateUnavailable {
		t.Fatalf("site with no socket is %q", st.State)
	}
	// The operator fixes the path; no reload follows.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	// dial waits (bounded by testutil.HangGuard) until the socket accepts.
	if got := programStart(t, dial(t, path)); got != "4242" {
		t.Fatalf("program_start %q through the retried socket", got)
	}
}

// leaveSocket creates a socket file at path that nothing serves, as a
// daemon killed with -9 leaves it.
func leaveSocket(t *testing.T, path string) {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
}

// TestStaleSocketsOfUnconfiguredSitesAreRemoved: at start and on every
// reload, sockets of sites that are not configured go; other files stay.
func TestStaleSocketsOfUnconfiguredSitesAreRemoved(t *testing.T) {
	root := testutil.ShortDir(t)
	site := startSite(t, 4242)
	dir := filepath.Join(root, supervisor.SocketDir)
	if err := os.MkdirAll(dir, 0o770); err != nil {
		t.Fatal(err)
	}
	leaveSocket(t, filepath.Join(dir, "killed"))
	notes := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notes, []byte("not a socket"), 0o644); err != nil {
		t.Fatal(err)
	}
	sup := newSupervisor(t, root, slog.New(slog.NewTextHandler(io.Discard, nil)))
	cfg := &config.Config{Sites: []config.Site{siteConfig("s1", site, 2)}}
	if err := sup.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "killed")); !os.IsNotExist(err) {
		t.Fatalf("the stale socket is still there at start: %v", err)
	}
	if _, err := os.Stat(notes); err != nil {
		t.Fatalf("a file that is not a socket was removed: %v", err)
	}
	// A reload with the same sites removes what appeared since.
	leaveSocket(t, filepath.Join(dir, "later"))
	if err := sup.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "later")); !os.IsNotExist(err) {
		t.Fatalf("the stale socket is still there after a reload: %v", err)
	}
	if got := programStart(t, dial(t, supervisor.SocketPath(root, "s1"))); got != "4242" {
		t.Fatalf("program_start %q: the configured site's socket suffered", got)
	}
}
