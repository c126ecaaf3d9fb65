package driver_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"liveproxyd/core"
	"liveproxyd/internal/fakesite"
	"liveproxyd/livestatus"
)

// networks: the proxy must behave the same over both upstream transports.
var networks = []string{"unix", "tcp"}

func TestQueriesMatchTheSite(t *testing.T) {
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			site := startSite(t, network, fakesite.Options{})
			p := startProxy(t, testConfig("s1"), siteTarget(site, network))
			p.waitState(t, core.SiteAlive)

			want := askDirect(t, site, network, hostsQuery(fixed16))
			wantCode, wantBody := splitFixed16(t, want)
			if wantCode != 200 || len(wantBody) == 0 {
				t.Fatalf("fake site answered %d %q", wantCode, wantBody)
			}
			if got := p.ask(t, hostsQuery(fixed16)); !bytes.Equal(got, want) {
				t.Errorf("fixed16: got %q, want %q", got, want)
			}
			// Without fixed16 the client gets the body alone, then EOF.
			if got := p.ask(t, hostsQuery()); !bytes.Equal(got, wantBody) {
				t.Errorf("plain: got %q, want %q", got, wantBody)
			}
			// KeepAlive: several queries on one connection, one of them a
			// pipelined pair in a single write.
			nc := p.dial(t)
			for i := 0; i < 3; i++ {
				if _, err := io.WriteString(nc, hostsQuery(fixed16, keepAlive)); err != nil {
					t.Fatal(err)
				}
				code, body := readFixed16(t, nc)
				if code != 200 || !bytes.Equal(body, wantBody) {
					t.Fatalf("keepalive query %d: %d %q", i, code, body)
				}
			}
			if _, err := io.WriteString(nc, hostsQuery(fixed16, keepAlive)+hostsQuery(fixed16, keepAlive)); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				if code, body := readFixed16(t, nc); code != 200 || !bytes.Equal(body, wantBody) {
					t.Fatalf("pipelined query %d: %d %q", i, code, body)
				}
			}
			if snap := p.snapshot(t); snap.Stats.QueriesOK < 6 {
				t.Errorf("QueriesOK = %d, want at least 6", snap.Stats.QueriesOK)
			}
		})
	}
}

func TestSiteErrorCodesPassThrough(t *testing.T) {
	site := startSite(t, "unix", fakesite.Options{})
	p := startProxy(t, testConfig("s1"), siteTarget(site, "unix"))
	p.waitState(t, core.SiteAlive)
	req := "GET nosuchtable\n" + fixed16 + "\n"
	want := askDirect(t, site, "unix", req)
	got := p.ask(t, req)
	if !bytes.Equal(got, want) {
		t.Fatalf("got %q, want the site's own answer %q", got, want)
	}
	if code, _ := splitFixed16(t, got); code == 200 {
		t.Fatalf("a query for a missing table answered 200")
	}
}

func TestDeadSiteAnswers502(t *testing.T) {
	missing := filepath.Join(shortDir(t), "nothing-listens-here")
	p := startProxyDial(t, testConfig("gone"), refusedDialer(missing))
	body := p.askUntil(t, hostsQuery(fixed16), livestatus.CodeBadGateway)
	if !strings.HasPrefix(string(body), "site gone: ") {
		t.Errorf("error text %q does not name the site", body)
	}
	// Without fixed16 the client gets the text alone.
	if got := string(p.ask(t, hostsQuery())); !strings.HasPrefix(got, "site gone: ") {
		t.Errorf("plain error %q", got)
	}
	if snap := p.snapshot(t); snap.State != core.SiteDead || snap.LastError == "" || snap.Stats.ConnectFailures == 0 {
		t.Errorf("snapshot %+v: want dead with a connect error", snap)
	}
}

func TestHungSiteDiesAndRecovers(t *testing.T) {
	site := startSite(t, "unix", fakesite.Options{})
	p := startProxy(t, testConfig("s1"), siteTarget(site, "unix"))
	p.waitState(t, core.SiteAlive)
	site.Hang(true)
	body := p.askUntil(t, hostsQuery(fixed16), livestatus.CodeBadGateway)
	if !strings.HasPrefix(string(body), "site s1: ") {
		t.Errorf("error text %q does not name the site", body)
	}
	site.Hang(false)
	p.askUntil(t, hostsQuery(fixed16), 200)
	if snap := p.snapshot(t); snap.Stats.HeartbeatsLost == 0 {
		t.Errorf("no lost heartbeat counted: %+v", snap.Stats)
	}
}

func TestHalfQueryThenEOF(t *testing.T) {
	site := startSite(t, "unix", fakesite.Options{})
	p := startProxy(t, testConfig("s1"), siteTarget(site, "unix"))
	p.waitState(t, core.SiteAlive)
	nc := p.dial(t)
	if _, err := io.WriteString(nc, "GET hosts\n"+fixed16+"Colum"); err != nil {
		t.Fatal(err)
	}
	if err := nc.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(nc)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := splitFixed16(t, out); code != livestatus.CodeIncomplete {
		t.Fatalf("got %d %q, want %d", code, body, livestatus.CodeIncomplete)
	}
	// A complete query ended by EOF instead of an empty line is answered.
	nc = p.dial(t)
	if _, err := io.WriteString(nc, "GET hosts\n"+fixed16); err != nil {
		t.Fatal(err)
	}
	nc.(interface{ CloseWrite() error }).CloseWrite()
	out, err = io.ReadAll(nc)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := splitFixed16(t, out); code != 200 {
		t.Fatalf("query ended by EOF: status %d", code)
	}
}

func TestGarbageIsRefused(t *testing.T) {
	site := startSite(t, "unix", fakesite.Options{})
	p := startProxy(t, testConfig("s1"), siteTarget(site, "unix"))
	p.waitState(t, core.SiteAlive)
	out := string(p.ask(t, "\x00\x01\xfe garbage \xff\nmore: junk\n\n"))
	if !strings.HasPrefix(out, "site s1: ") || !strings.Contains(out, "invalid request method") {
		t.Errorf("garbage answered %q", out)
	}
	// Binary noise without any line end, then EOF: an incomplete request.
	nc := p.dial(t)
	noise := make([]byte, 4096)
	for i := range noise {
		noise[i] = byte(i*7 + 3)
		if noise[i] == '\n' {
			noise[i] = 'x'
		}
	}
	nc.Write(noise)
	nc.(interface{ CloseWrite() error }).CloseWrite()
	if out, err := io.ReadAll(nc); err != nil || !strings.Contains(string(out), "incomplete request") {
		t.Errorf("noise answered %q, %v", out, err)
	}
	// The site keeps serving everyone else.
	if code, _ := splitFixed16(t, p.ask(t, hostsQuery(fixed16))); code != 200 {
		t.Errorf("after garbage: status %d", code)
	}
}

func TestSocketFileRemovedOnStop(t *testing.T) {
	site := startSite(t, "unix", fakesite.Options{})
	p := startProxy(t, testConfig("s1"), siteTarget(site, "unix"))
	if fi, err := os.Stat(p.path); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket %v, %v: want mode 0660", fi, err)
	}
	stopNow(p)
	if _, err := os.Stat(p.path); !os.IsNotExist(err) {
		t.Fatalf("socket still there after Stop: %v", err)
	}
	select {
	case <-p.loop.Done():
	default:
		t.Fatal("Stop returned before the loop ended")
	}
}
