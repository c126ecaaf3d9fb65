package supervisor_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"liveproxyd/adapters/config"
	"liveproxyd/core"
	"liveproxyd/internal/testutil"
)

func TestSnapshotsForMetrics(t *testing.T) {
	root := testutil.ShortDir(t)
	site := startSite(t, 4444)
	var logs testutil.Buffer
	sup := newSupervisor(t, root, slog.New(slog.NewTextHandler(&logs, nil)))
	long := strings.Repeat("y", 120) // its socket path cannot exist
	if err := sup.Apply(&config.Config{Sites: []config.Site{siteConfig("ok", site, 2), siteConfig(long, site, 2)}}); err == nil {
		t.Fatal("Apply accepted a site whose socket cannot exist")
	}
	waitAlive(t, sup, "ok")
	ctx, cancel := context.WithTimeout(context.Background(), testutil.HangGuard)
	defer cancel()
	snaps := sup.Snapshots(ctx)
	if len(snaps) != 2 || snaps[0].Name != "ok" || snaps[1].Name != long {
		t.Fatalf("snapshots %+v, want ok and the long name, sorted", snaps)
	}
	if s := snaps[0]; s.State != core.SiteAlive || s.Stats.Heartbeats == 0 || s.ProgramStart != 4444 {
		t.Errorf("live site: %+v", s)
	}
	// Not running: shown as stopped, with the reason, so it reads as down.
	if s := snaps[1]; s.State != core.SiteStopped || !strings.Contains(s.LastError, "107") {
		t.Errorf("unstartable site: %+v", s)
	}
	out := logs.String()
	if !strings.Contains(out, "msg=\"serving site\" site=ok") || !strings.Contains(out, "upstream=unix:"+site.Addr()) {
		t.Errorf("no start line naming the site and its upstream:\n%s", out)
	}
}

// blockAlive holds up the first site loop that logs "is alive" until
// release is closed, standing in for a loop stuck in a long step.
type blockAlive struct {
	slog.Handler
	release chan struct{}
	blocked chan struct{}
	once    *sync.Once
}

func (h blockAlive) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "is alive") {
		first := false
		h.once.Do(func() { first = true; close(h.blocked) })
		if first {
			<-h.release
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h blockAlive) WithAttrs(as []slog.Attr) slog.Handler {
	return blockAlive{Handler: h.Handler.WithAttrs(as), release: h.release, blocked: h.blocked, once: h.once}
}

func TestSnapshotsLeaveOutAStuckLoop(t *testing.T) {
	root := testutil.ShortDir(t)
	stuck, fine := startSite(t, 1), startSite(t, 2)
	var logs testutil.Buffer
	h := blockAlive{
		Handler: slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}),
		release: make(chan struct{}), blocked: make(chan struct{}), once: &sync.Once{},
	}
	sup := newSupervisor(t, root, slog.New(h))
	t.Cleanup(func() { close(h.release) }) // runs before the supervisor's shutdown
	// Only the first site to come alive blocks; start it alone.
	if err := sup.Apply(&config.Config{Sites: []config.Site{siteConfig("stuck", stuck, 1)}}); err != nil {
		t.Fatal(err)
	}
	testutil.Await(t, "site coming alive", h.blocked)
	if err := sup.Apply(&config.Config{Sites: []config.Site{siteConfig("stuck", stuck, 1), siteConfig("fine", fine, 1)}}); err != nil {
		t.Fatal(err)
	}
	waitAlive(t, sup, "fine") // its loop answers; the stuck one shows as unavailable
	ctx, cancel := context.WithTimeout(context.Background(), testutil.HangGuard)
	defer cancel()
	done := make(chan []core.Snapshot, 1)
	go func() { done <- sup.Snapshots(ctx) }()
	// Without an answer Snapshots waits for ever on the stuck loop.
	snaps := testutil.Await(t, "answer from Snapshots", done)
	if len(snaps) != 1 || snaps[0].Name != "fine" {
		t.Fatalf("snapshots %+v, want only the site whose loop answers", snaps)
	}
	// The state file shows it rather than dropping it.
	if st := stateOf(t, sup, "stuck"); st.State != "unavailable" {
		t.Errorf("stuck loop in the state file: %+v", st)
	}
	if out := logs.String(); !strings.Contains(out, "left out of the metrics") || !strings.Contains(out, "site=stuck") {
		t.Fatalf("no debug line about the stuck loop:\n%s", out)
	}
}

func TestReloadLogNamesWhatChanged(t *testing.T) {
	root := testutil.ShortDir(t)
	siteA, siteB := startSite(t, 1), startSite(t, 2)
	var logs testutil.Buffer
	sup := newSupervisor(t, root, slog.New(slog.NewTextHandler(&logs, nil)))
	apply := func(s config.Site) {
		t.Helper()
		if err := sup.Apply(&config.Config{Sites: []config.Site{s}}); err != nil {
			t.Fatal(err)
		}
	}
	apply(siteConfig("s1", siteA, 2))
	apply(siteConfig("s1", siteA, 3))
	apply(siteConfig("s1", siteB, 3))
	out := logs.String()
	for _, want := range []string{
		`msg="site reconfigured" site=s1 changed=[Channels]`,
		`msg="site changed, restarting it" site=s1 changed=[socket]`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
