package driver_test

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"liveproxyd/adapters/driver"
	"liveproxyd/adapters/listen"
	"liveproxyd/adapters/upstream"
	"liveproxyd/core"
	"liveproxyd/internal/fakesite"
	"liveproxyd/internal/testutil"
	"liveproxyd/livestatus"
)

// hangGuard bounds every blocking step of these tests. It only guards
// against hangs; no test asserts how fast anything is.
// hangGuard bounds every wait of these tests; it fires only on a hang.
const hangGuard = testutil.HangGuard

// testConfig has short timers so that death and recovery happen quickly.
func testConfig(name string) core.Config {
	return core.Config{
		Name:                name,
		Channels:            3,
		ChannelTimeout:      3 * time.Second,
		QueryTimeout:        10 * time.Second,
		ConnectTimeout:      2 * time.Second,
		ConnectRetry:        300 * time.Millisecond,
		HeartbeatInterval:   200 * time.Millisecond,
		HeartbeatTimeoutMin: 400 * time.Millisecond,
	}
}

// shortDir is a temp dir with a short path: UNIX socket paths are limited
// to 107 bytes and t.TempDir() embeds the test name.
func shortDir(t *testing.T) string { return testutil.ShortDir(t) }

func startSite(t *testing.T, network string, opts fakesite.Options) *fakesite.Server {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(shortDir(t), "live")
	}
	s, err := fakesite.Listen(network, addr, opts)
	if err != nil {
		t.Fatalf("fakesite.Listen: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// proxy is a running site loop and the path of its client socket.
type proxy struct {
	loop *driver.Loop
	path string
}

func startProxy(t *testing.T, cfg core.Config, target upstream.Target) *proxy {
	t.Helper()
	return startProxyDial(t, cfg, driver.Dialer(upstream.New(shortDir(t), target)))
}

func startProxyDial(t *testing.T, cfg core.Config, dial driver.Dialer) *proxy {
	t.Helper()
	path := filepath.Join(shortDir(t), cfg.Name)
	l, err := listen.Unix(path)
	if err != nil {
		t.Fatal(err)
	}
	loop := driver.Start(driver.Options{Config: cfg, Dial: dial, Listener: l})
	p := &proxy{loop: loop, path: path}
	t.Cleanup(func() { stopNow(p) })
	return p
}

func siteTarget(s *fakesite.Server, network string) upstream.Target {
	return upstream.Target{Network: network, Address: s.Addr()}
}

// waitState polls the loop's snapshot until the site is in state want.
func (p *proxy) waitState(t *testing.T, want core.SiteState) core.Snapshot {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		snap, ok := p.loop.Snapshot(ctx)
		cancel()
		if !ok {
			t.Fatal("site loop ended")
		}
		if snap.State == want {
			return snap
		}
		if time.Now().After(deadline) {
			t.Fatalf("site state %v, want %v", snap.State, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *proxy) snapshot(t *testing.T) core.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	snap, ok := p.loop.Snapshot(ctx)
	if !ok {
		t.Fatal("site loop ended")
	}
	return snap
}

func (p *proxy) dial(t *testing.T) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("unix", p.path, hangGuard)
	if err != nil {
		t.Fatalf("dial proxy: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(hangGuard))
	return nc
}

// ask sends req on a fresh connection and reads until the proxy closes it.
func (p *proxy) ask(t *testing.T, req string) []byte {
	t.Helper()
	nc := p.dial(t)
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatalf("write: %v", err)
	}
	out, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("read: %v (after %d bytes)", err, len(out))
	}
	return out
}

// askDirect sends req straight to the fake site, for comparison.
func askDirect(t *testing.T, s *fakesite.Server, network, req string) []byte {
	t.Helper()
	nc, err := net.DialTimeout(network, s.Addr(), hangGuard)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(hangGuard))
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(nc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readFixed16 reads one fixed16 answer from r.
func readFixed16(t *testing.T, r io.Reader) (int, []byte) {
	t.Helper()
	h, body, err := livestatus.ReadAnswer(r)
	if err != nil {
		t.Fatal(err)
	}
	return h.Code, body
}

// splitFixed16 parses a whole answer that must be exactly one fixed16
// header and its body.
func splitFixed16(t *testing.T, b []byte) (int, []byte) {
	t.Helper()
	if len(b) < livestatus.HeaderLen {
		t.Fatalf("answer %q shorter than a fixed16 header", b)
	}
	h, err := livestatus.ParseHeader(b[:livestatus.HeaderLen])
	if err != nil {
		t.Fatal(err)
	}
	body := b[livestatus.HeaderLen:]
	if int64(len(body)) != h.Length {
		t.Fatalf("body is %d bytes, header says %d", len(body), h.Length)
	}
	return h.Code, body
}

// askUntil repeats a fixed16 query on fresh connections until its status
// is want; it returns the last body.
func (p *proxy) askUntil(t *testing.T, req string, want int) []byte {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		code, body := splitFixed16(t, p.ask(t, req))
		if code == want {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %d (%q), want %d", code, body, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hostsQuery(extra ...string) string {
	return "GET hosts\nColumns: name address\n" + strings.Join(extra, "") + "\n"
}

const fixed16 = "ResponseHeader: fixed16\n"
const keepAlive = "KeepAlive: on\n"

// refusedDialer never connects: a dead site.
func refusedDialer(path string) driver.Dialer {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
}

func stopNow(p *proxy) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p.loop.Stop(ctx)
}
