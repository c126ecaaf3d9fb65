package driver_test

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"liveproxyd/adapters/driver"
	"liveproxyd/adapters/listen"
	"liveproxyd/adapters/upstream"
	"liveproxyd/core"
	"liveproxyd/internal/fakesite"
	"liveproxyd/internal/testutil"
	"liveproxyd/livestatus"
)

// startBudgetProxy runs a site loop that shares budget with others.
func startBudgetProxy(t *testing.T, name string, site *fakesite.Server, budget *driver.Budget) *proxy {
	t.Helper()
	path := filepath.Join(shortDir(t), name)
	l, err := listen.Unix(path)
	if err != nil {
		t.Fatal(err)
	}
	dial := driver.Dialer(upstream.New(shortDir(t), siteTarget(site, "unix")))
	loop := driver.Start(driver.Options{Config: testConfig(name), Dial: dial, Listener: l, Budget: budget})
	p := &proxy{loop: loop, path: path}
	t.Cleanup(func() { stopNow(p) })
	p.waitState(t, core.SiteAlive)
	return p
}

// TestSitesShareTheQueryBudget: an unfinished query held by one site's
// client leaves no room for another site's client, which gets a clear 503
// when its query ends, framed by the ResponseHeader it sends last (as
// Checkmk's GUI does); once the first client leaves, the room is back.
func TestSitesShareTheQueryBudget(t *testing.T) {
	site := startSite(t, "unix", fakesite.Options{})
	budget := driver.NewBudget(1<<30, 300)
	s1 := startBudgetProxy(t, "s1", site, budget)
	s2 := startBudgetProxy(t, "s2", site, budget)

	hog := s1.dial(t)
	part := "GET hosts\n" + fixed16 + "Columns: name\n" + strings.Repeat("Filter: name = x\n", 13)
	if _, err := io.WriteString(hog, part); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "s1's unfinished query to be counted", func() bool { return budget.Used().QueryBytes == int64(len(part)) })

	late := s2.dial(t)
	if _, err := io.WriteString(late, "GET hosts\n"+strings.Repeat("Columns: name\n", 5)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "s2 to refuse the query", func() bool { return s2.snapshot(t).Stats.QueriesBusy == 1 })
	if _, err := io.WriteString(late, fixed16+"\n"); err != nil {
		t.Fatal(err)
	}
	code, body := readFixed16(t, late)
	if code != livestatus.CodeBusy || !strings.Contains(string(body), "query buffer is full") {
		t.Fatalf("s2 client over the budget got %d %q", code, body)
	}

	hog.Close()
	testutil.WaitFor(t, "the room to come back", func() bool { return budget.Used().QueryBytes == 0 })
	if code, _ := splitFixed16(t, s2.ask(t, hostsQuery(fixed16))); code != 200 {
		t.Fatalf("s2 after the room came back: %d", code)
	}
}

// TestHeldAnswerComesWholeAndGivesItsRoomBack: a multi-megabyte answer
// under the hold limit arrives intact and leaves nothing counted.
func TestHeldAnswerComesWholeAndGivesItsRoomBack(t *testing.T) {
	site := startSite(t, "unix", bigSite)
	budget := driver.NewBudget(256<<20, 64<<20)
	p := startBudgetProxy(t, "s1", site, budget)
	want := askDirect(t, site, "unix", servicesQuery)
	if len(want) < 1<<20 {
		t.Fatalf("test answer only %d bytes", len(want))
	}
	if got := p.ask(t, servicesQuery); !bytes.Equal(got, want) {
		t.Fatalf("answer of %d bytes differs from the site's %d", len(got), len(want))
	}
	testutil.WaitFor(t, "the answer's room to come back", func() bool { return budget.Used() == core.MemoryUse{} })
}
