package supervisor_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"liveproxyd/adapters/config"
	"liveproxyd/adapters/statefile"
	"liveproxyd/adapters/supervisor"
	"liveproxyd/core"
	"liveproxyd/internal/fakesite"
	"liveproxyd/internal/lsclient"
	"liveproxyd/internal/testutil"
)

func startSite(t *testing.T, programStart int64) *fakesite.Server {
	t.Helper()
	s, err := fakesite.Listen("unix", filepath.Join(testutil.ShortDir(t), "live"), fakesite.Options{ProgramStart: programStart})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func siteConfig(name string, s *fakesite.Server, channels int) config.Site {
	return config.Site{
		Name:   name,
		Socket: config.Socket{Network: "unix", Address: s.Addr()},
		Core: core.Config{
			Name:                name,
			Channels:            channels,
			ConnectRetry:        200 * time.Millisecond,
			HeartbeatInterval:   200 * time.Millisecond,
			HeartbeatTimeoutMin: time.Second,
		}.WithDefaults(),
		Cache: true,
	}
}

func newSupervisor(t *testing.T, root string, log *slog.Logger) *supervisor.Supervisor {
	t.Helper()
	sup := supervisor.New(supervisor.Options{Root: root, Logger: log, StateInterval: 100 * time.Millisecond, RestartDelay: 50 * time.Millisecond})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		sup.Shutdown(ctx)
	})
	return sup
}

// programStart asks the proxied site for its program_start, which tells
// the fake sites apart.
func programStart(t *testing.T, nc net.Conn) string {
	t.Helper()
	nc.SetDeadline(time.Now().Add(testutil.HangGuard))
	ps, err := lsclient.ProgramStart(nc)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func dial(t *testing.T, path string) net.Conn {
	t.Helper()
	var nc net.Conn
	testutil.Eventually(t, testutil.HangGuard, func() (err error) {
		nc, err = net.Dial("unix", path)
		return err
	})
	t.Cleanup(func() { nc.Close() })
	return nc
}

func stateOf(t *testing.T, sup *supervisor.Supervisor, name string) statefile.Site {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.HangGuard)
	defer cancel()
	for _, s := range sup.Snapshot(ctx) {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("site %s not in the snapshot", name)
	return statefile.Site{}
}

func waitAlive(t *testing.T, sup *supervisor.Supervisor, name string) {
	t.Helper()
	testutil.Eventually(t, testutil.HangGuard, func() error {
		if st := stateOf(t, sup, name); st.State != "alive" {
			return fmt.Errorf("site %s not alive: %+v", name, st)
		}
		return nil
	})
}

func TestApplyKeepsReconfiguresRestartsAndRemoves(t *testing.T) {
	root := testutil.ShortDir(t)
	siteA, siteB := startSite(t, 1111), startSite(t, 2222)
	sup := newSupervisor(t, root, slog.New(slog.NewTextHandler(io.Discard, nil)))
	path := supervisor.SocketPath(root, "s1")

	if err := sup.Apply(&config.Config{Sites: []config.Site{siteConfig("s1", siteA, 2)}}); err != nil {
		t.Fatal(err)
	}
	client := dial(t, path)
	if got := programStart(t, client); got != "1111" {
		t.Fatalf("program_start %s, want 1111", got)
	}
	// Unchanged, then only the channel count changed: same loop, the
	// KeepAlive client keeps its connection.
	if err := sup.Apply(&config.Config{Sites: []config.Site{siteConfig("s1", siteA, 2)}}); err != nil {
		t.Fatal(err)
	}
	if err := sup.Apply(&config.Config{Sites: []config.Site{siteConfig("s1", siteA, 4)}}); err != nil {
		t.Fatal(err)
	}
	if got := programStart(t, client); got != "1111" {
		t.Fatalf("after reconfigure: program_start %s", got)
	}
	if st := stateOf(t, sup, "s1"); st.Target != 4 {
		t.Errorf("target channels %d after reconfigure, want 4", st.Target)
	}
	// The socket changed: the site is restarted and its clients closed.
	if err := sup.Apply(&config.Config{Sites: []config.Site{siteConfig("s1", siteB, 4)}}); err != nil {
		t.Fatal(err)
	}
	client.SetDeadline(time.Now().Add(testutil.HangGuard))
	if n, err := client.Read(make([]byte, 1)); err == nil {
		t.Fatalf("old client still open after a restart (read %d bytes)", n)
	}
	if got := programStart(t, dial(t, path)); got != "2222" {
		t.Fatalf("after restart: program_start %s, want 2222", got)
	}
	// Removed: the socket goes away.
	if err := sup.Apply(&config.Config{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("socket of a removed site still there: %v", err)
	}
}

func TestStateFileAndUnavailableSite(t *testing.T) {
	root := testutil.ShortDir(t)
	site := startSite(t, 0)
	sup := newSupervisor(t, root, slog.New(slog.NewTextHandler(io.Discard, nil)))
	long := strings.Repeat("x", 120) // its socket path cannot exist
	err := sup.Apply(&config.Config{Sites: []config.Site{siteConfig("ok", site, 2), siteConfig(long, site, 2)}})
	if err == nil || !strings.Contains(err.Error(), "107") {
		t.Fatalf("Apply error %v, want the socket path limit", err)
	}
	waitAlive(t, sup, "ok")
	if err := sup.WriteState(); err != nil {
		t.Fatal(err)
	}
	f, err := statefile.Read(filepath.Join(root, statefile.Path))
	if err != nil {
		t.Fatal(err)
	}
	if f.PID != os.Getpid() || len(f.Sites) != 2 {
		t.Fatalf("state file %+v", f)
	}
	byName := map[string]statefile.Site{}
	for _, s := range f.Sites {
		byName[s.Name] = s
	}
	if s := byName["ok"]; s.State != "alive" || len(s.Channels) == 0 || s.HeartbeatsReceived == 0 {
		t.Errorf("site ok in the state file: %+v", s)
	}
	if s := byName[long]; s.State != statefile.StateUnavailable || !strings.Contains(s.LastError, "107") {
		t.Errorf("unstartable site in the state file: %+v", s)
	}
}

// panicOnce makes the first "is alive" log line of a site loop panic.
type panicOnce struct {
	slog.Handler
	once *sync.Once
}

func (h panicOnce) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "is alive") {
		h.once.Do(func() { panic("injected") })
	}
	return h.Handler.Handle(ctx, r)
}

func (h panicOnce) WithAttrs(as []slog.Attr) slog.Handler {
	return panicOnce{Handler: h.Handler.WithAttrs(as), once: h.once}
}

func TestCrashedSiteIsRestarted(t *testing.T) {
	root := testutil.ShortDir(t)
	site := startSite(t, 3333)
	log := slog.New(panicOnce{Handler: slog.NewTextHandler(io.Discard, nil), once: &sync.Once{}})
	sup := newSupervisor(t, root, log)
	if err := sup.Apply(&config.Config{Sites: []config.Site{siteConfig("s1", site, 2)}}); err != nil {
		t.Fatal(err)
	}
	// The first loop panics as the site comes alive; the restarted one
	// serves.
	testutil.WaitFor(t, "the site to serve after its crash", func() bool {
		nc, err := net.Dial("unix", supervisor.SocketPath(root, "s1"))
		if err != nil {
			return false
		}
		defer nc.Close()
		return tryProgramStart(nc) == "3333"
	})
	if st := stateOf(t, sup, "s1"); st.State != "alive" {
		t.Errorf("state %s after restart", st.State)
	}
}

// tryProgramStart is programStart without failing the test: the first
// loop may close the connection when it crashes.
func tryProgramStart(nc net.Conn) string {
	nc.SetDeadline(time.Now().Add(testutil.HangGuard))
	if _, err := io.WriteString(nc, "GET status\nColumns: program_start\n\n"); err != nil {
		return ""
	}
	b, _ := io.ReadAll(nc)
	return strings.TrimSpace(string(b))
}
