package driver_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"liveproxyd/adapters/driver"
	"liveproxyd/adapters/listen"
	"liveproxyd/adapters/upstream"
	"liveproxyd/core"
	"liveproxyd/internal/fakesite"
	"liveproxyd/internal/testutil"
	"liveproxyd/livestatus"
)

func startProxyOpts(t *testing.T, o driver.Options) *proxy {
	t.Helper()
	path := filepath.Join(shortDir(t), o.Config.Name)
	l, err := listen.Unix(path)
	if err != nil {
		t.Fatal(err)
	}
	o.Listener = l
	p := &proxy{loop: driver.Start(o), path: path}
	t.Cleanup(func() { stopNow(p) })
	return p
}

// The core's timers run on the injected clock: a hung site is not given
// up while the mock clock stands still, and is as soon as it moves.
func TestInjectedClockDrivesTimers(t *testing.T) {
	mock := clock.NewMock()
	mock.Set(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	site := startSite(t, "unix", fakesite.Options{})
	cfg := testConfig("s1")
	p := startProxyOpts(t, driver.Options{
		Config: cfg,
		Dial:   driver.Dialer(upstream.New("", siteTarget(site, "unix"))),
		Clock:  mock,
	})
	snap := p.waitState(t, core.SiteAlive)
	if !snap.Since.Equal(mock.Now()) {
		t.Errorf("alive since %v, want the mock time %v", snap.Since, mock.Now())
	}
	site.Hang(true)
	nc := p.dial(t)
	if _, err := io.WriteString(nc, hostsQuery(fixed16)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the query to be in flight", func() bool { return p.snapshot(t).ClientsInFlight == 1 })
	time.Sleep(3 * cfg.HeartbeatTimeoutMin) // real time passes, mock time does not
	if snap := p.snapshot(t); snap.State != core.SiteAlive || snap.ClientsInFlight != 1 {
		t.Fatalf("without mock time passing: state %v, in flight %d", snap.State, snap.ClientsInFlight)
	}
	mock.Add(cfg.QueryTimeout + cfg.HeartbeatInterval + cfg.HeartbeatTimeoutMin)
	out, err := io.ReadAll(nc)
	if err != nil {
		t.Fatal(err)
	}
	code, body := splitFixed16(t, out)
	if code != livestatus.CodeBadGateway && code != livestatus.CodeTimeout {
		t.Fatalf("after the mock clock moved: %d %q", code, body)
	}
	site.Hang(false)
}

// panicOn is a slog handler that panics on the first record containing a
// word: a way to make the site loop itself panic.
type panicOn struct {
	slog.Handler
	word string
	done bool
}

func (h *panicOn) Handle(ctx context.Context, r slog.Record) error {
	if !h.done && strings.Contains(r.Message, h.word) {
		h.done = true
		panic("test panic on " + h.word)
	}
	return h.Handler.Handle(ctx, r)
}

func (h *panicOn) WithAttrs(as []slog.Attr) slog.Handler {
	// The loop adds site=NAME once; keep the panicking wrapper around it.
	return &panicOn{Handler: h.Handler.WithAttrs(as), word: h.word}
}

func TestRecoveredPanicEndsTheLoop(t *testing.T) {
	site := startSite(t, "unix", fakesite.Options{})
	h := &panicOn{Handler: slog.NewTextHandler(io.Discard, nil), word: "is alive"}
	p := startProxyOpts(t, driver.Options{
		Config:  testConfig("s1"),
		Dial:    driver.Dialer(upstream.New("", siteTarget(site, "unix"))),
		Logger:  slog.New(h),
		Recover: true,
	})
	select {
	case <-p.loop.Done():
	case <-time.After(hangGuard):
		t.Fatal("the loop did not end after its panic")
	}
	if got, _ := p.loop.Panic().(string); got != "test panic on is alive" {
		t.Fatalf("Panic() = %v", p.loop.Panic())
	}
	if _, err := os.Stat(p.path); !os.IsNotExist(err) {
		t.Errorf("socket left behind after the crash: %v", err)
	}
}
