package statefile

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"liveproxyd/core"
)

// checkmkReady is the string Checkmk's integration tests count in
// var/log/liveproxyd.state to know how many sites are ready
// (wait_until_liveproxyd_ready); spelt out here, not built from keyWidth,
// so a change of the padding fails this test.
const checkmkReady = "State:                   ready"

func twoSites(at time.Time) File {
	alive := FromSnapshot(core.Snapshot{
		Name: "berlin", State: core.SiteAlive, Since: at.Add(-time.Minute), Target: 2,
		Channels: []core.ChannelInfo{
			{ID: 1, State: core.ChanFree, Since: at.Add(-30 * time.Second)},
			{ID: 2, State: core.ChanBusy, Since: at.Add(-time.Second), Client: 7},
		},
		ClientsReading: 1, ClientsInFlight: 1, TypicalRTT: 1500 * time.Microsecond,
		HeartbeatTimeout: 2 * time.Second, ProgramStart: 1700000000, CacheEntries: 3,
		Stats: core.Stats{Heartbeats: 9, CacheHits: 11, CacheMisses: 4},
	})
	dead := FromSnapshot(core.Snapshot{
		Name: "paris", State: core.SiteDead, Since: at.Add(-2 * time.Second), Target: 2,
		LastError: "cannot connect:\nconnection refused", LastErrorAt: at.Add(-2 * time.Second),
	})
	alive.TCP = &TCPListener{Address: ":6560", TLS: true}
	dead.TCP = &TCPListener{Address: ":6561",
		Error: "cannot listen on TCP port 6561: listen tcp :6561: bind:\naddress already in use"}
	return File{Written: at, PID: 42, Sites: []Site{alive, dead}}
}

func TestSaveWritesCheckmksStateFile(t *testing.T) {
	root := t.TempDir()
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	in := twoSites(at)
	if err := Save(root, in); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "var/log/liveproxyd.state"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if n := strings.Count(text, checkmkReady); n != 1 {
		t.Errorf("%q occurs %d times, want once (berlin only):\n%s", checkmkReady, n, text)
	}
	blocks := strings.Split(strings.TrimSpace(text), "\n\n")
	if len(blocks) != 2 || !strings.HasPrefix(blocks[0], "[berlin]\n") || !strings.HasPrefix(blocks[1], "[paris]\n") {
		t.Fatalf("want one block per site, [berlin] then [paris]:\n%s", text)
	}
	for _, want := range []string{
		"  State:                   dead\n",
		"  Since:                   2026-03-04 05:06:05 (2 sec ago)\n",
		"  Last error:              2026-03-04 05:06:05 (2 sec ago): cannot connect: connection refused\n",
		"  TCP listener:            :6561 not served: cannot listen on TCP port 6561: listen tcp :6561: bind: address already in use\n",
	} {
		if !strings.Contains(blocks[1], want) {
			t.Errorf("paris lacks %q:\n%s", want, blocks[1])
		}
	}
	for _, want := range []string{
		"  TCP listener:            :6560 (tls)\n",
		"  Channels:                2 of 2\n",
		"  1 - ready          - client: none  - since: 2026-03-04 05:05:37 (30 sec ago)\n",
		"  2 - busy           - client: 7     - since: 2026-03-04 05:06:06 (1 sec ago)\n",
		"  Clients:                 2\n",
		"     waiting for response: 1\n",
		"     received:             9\n",
		"     response time:        1.500 ms\n",
		"  Heartbeat:\n",
		"     hits:                 11\n",
		"     entries:              3\n",
	} {
		if !strings.Contains(blocks[0], want) {
			t.Errorf("berlin lacks %q:\n%s", want, blocks[0])
		}
	}
	// The JSON that `liveproxyd status` reads is a separate file.
	out, err := Read(filepath.Join(root, Path))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Sites) != 2 || out.Sites[0].CacheEntries != 3 || out.PID != 42 {
		t.Errorf("JSON dump read back as %+v", out)
	}
	for i, site := range out.Sites {
		if site.TCP == nil || *site.TCP != *in.Sites[i].TCP {
			t.Errorf("%s: TCP listener read back as %+v, want %+v", site.Name, site.TCP, in.Sites[i].TCP)
		}
	}
	// A site without a `tcp` key has no such line.
	if text := string(Text(File{Written: at, Sites: []Site{{Name: "plain"}}})); strings.Contains(text, "TCP") {
		t.Errorf("a site without a TCP listener shows one:\n%s", text)
	}
	// Rewriting leaves no temporary files next to either file.
	if err := Save(root, in); err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string][]string{"var/log": {"liveproxyd.state"}, "tmp/run": {"liveproxyd.status.json"}} {
		if got := names(t, filepath.Join(root, dir)); !slices.Equal(got, want) {
			t.Errorf("%s holds %v, want %v", dir, got, want)
		}
	}
}

// TestReplaceFileUsesCheckmksTempName: the temporary file is
// .liveproxyd.state.new*, which Checkmk's site backup leaves out. A
// directory in the way makes the rename fail, so the temporary file's name
// shows in the error.
func TestReplaceFileUsesCheckmksTempName(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "liveproxyd.state")
	if err := os.MkdirAll(filepath.Join(path, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := replaceFile(path, []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "/.liveproxyd.state.new") {
		t.Fatalf("error %v, want the rename of .liveproxyd.state.new* to fail", err)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"liveproxyd.state"}) {
		t.Errorf("left behind: %v", got)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}
