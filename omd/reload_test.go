package omd_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"liveproxyd/adapters/config"
	omdconfig "liveproxyd/adapters/omd"
	"liveproxyd/internal/fakesite"
	"liveproxyd/internal/testutil"
	"liveproxyd/livestatus"
)

// reloadWait bounds the wait for a reload to show in `liveproxyd status`.
// The daemon dumps its state at once after a reload and every 2 s
// besides, so this only runs out when the reload never takes effect.
const reloadWait = 10 * time.Second

// programStart is the answer to statusQuery from the fake remote.
var programStart = strconv.Itoa(fakesite.DefaultProgramStart) + "\n"

// keepAlive is one client connection to a proxy socket that stays open
// across queries (KeepAlive: on), as the GUI's Livestatus client keeps it.
type keepAlive struct {
	c net.Conn
	r *bufio.Reader
}

func dialKeepAlive(t *testing.T, sock string) *keepAlive {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &keepAlive{c: c, r: bufio.NewReader(c)}
}

// ask sends one query with a fixed16 header and KeepAlive on and reads
// exactly its answer, leaving the connection open for the next one.
func (k *keepAlive) ask(request string) (int, string, error) {
	_ = k.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(k.c, request+"ResponseHeader: fixed16\nKeepAlive: on\n\n"); err != nil {
		return 0, "", fmt.Errorf("write on the KeepAlive connection: %w", err)
	}
	h, body, err := livestatus.ReadAnswer(k.r)
	if err != nil {
		return 0, "", fmt.Errorf("read the answer on the KeepAlive connection: %w", err)
	}
	return h.Code, string(body), nil
}

// expectProgramStart asks statusQuery on the open connection and wants
// the fake remote's program_start back.
func (k *keepAlive) expectProgramStart(t *testing.T, when string) {
	t.Helper()
	code, body, err := k.ask(statusQuery)
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	if code != 200 || body != programStart {
		t.Fatalf("%s: KeepAlive query answered %d %q, want 200 %q", when, code, body, programStart)
	}
}

// siteStatus is the part of a site in `liveproxyd status --json`
// (adapters/statefile.Site) that these tests look at.
type siteStatus struct {
	State    string `json:"state"`
	Target   int    `json:"target_channels"`
	Channels []struct {
		State string `json:"state"`
	} `json:"channels"`
}

func (s siteStatus) String() string {
	states := make([]string, len(s.Channels))
	for i, c := range s.Channels {
		states[i] = c.State
	}
	return fmt.Sprintf("%s, target %d, channels %v", s.State, s.Target, states)
}

// status runs `liveproxyd status --json` and returns the daemon's pid and
// its sites by name. It exits 1 while a site is not serving; the JSON is
// printed anyway, so only a missing or unreadable state file is an error.
func (s *site) status(t *testing.T) (int, map[string]siteStatus, error) {
	t.Helper()
	r := run(t, s.env, buildDaemon(t), "status", "--json", "--root", s.root)
	var f struct {
		PID   int `json:"pid"`
		Sites []struct {
			Name string `json:"name"`
			siteStatus
		} `json:"sites"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &f); err != nil {
		return 0, nil, fmt.Errorf("liveproxyd status --json: %v (%v)", err, r)
	}
	sites := map[string]siteStatus{}
	for _, st := range f.Sites {
		sites[st.Name] = st.siteStatus
	}
	return f.PID, sites, nil
}

// waitChannels waits until `liveproxyd status` shows the daemon pid with
// n channels for the site: n as the target and n channels open.
func (s *site) waitChannels(t *testing.T, pid int, name string, n int) {
	t.Helper()
	testutil.Eventually(t, reloadWait, func() error {
		gotPid, sites, err := s.status(t)
		st, ok := sites[name]
		switch {
		case err != nil:
			return err
		case gotPid != pid:
			t.Fatalf("state file written by pid %d, want %d", gotPid, pid)
		case !ok:
			return fmt.Errorf("no site %s in %v", name, sites)
		case st.Target != n || len(st.Channels) != n:
			return fmt.Errorf("site %s not at %d channels: %s", name, n, st)
		}
		return nil
	})
}

// mustRun is the daemon alive under its old pid, still named by the pid file.
func (s *site) mustRun(t *testing.T, pid int, when string) {
	t.Helper()
	if got := readPid(s.root); got != pid || gone(pid) {
		t.Fatalf("%s: daemon pid %d (gone %v), pid file says %d", when, pid, gone(pid), got)
	}
}

// reloadLines counts the daemon's log lines about SIGHUP reloads, taken or
// refused.
func (s *site) reloadLines(t *testing.T) (taken, refused int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.root, "var/log/liveproxyd.log"))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte(`] configuration reloaded `)),
		bytes.Count(b, []byte(`] configuration not reloaded`))
}

// A reload picks up a changed channel count without dropping a KeepAlive
// client: once through `liveproxyd write-config` (SIGHUP from it, sites
// growing), once through the start script's reload (sites shrinking).
func TestReloadChannelsKeepsKeepAliveClient(t *testing.T) {
	s := newSite(t)
	s.setSitesParams(t, "{'channels': 2, 'heartbeat': (1, 1.0)}", "remote1")
	expect(t, run(t, s.env, s.script, "start"), 0, "Starting liveproxyd...OK\n")
	pid := readPid(s.root)
	s.mustRun(t, pid, "after start")
	waitAnswer(t, s.sock("remote1"), statusQuery)
	s.waitChannels(t, pid, "remote1", 2)

	ka := dialKeepAlive(t, s.sock("remote1"))
	ka.expectProgramStart(t, "before any reload")

	// The GUI changes the channel count; write-config writes liveproxyd.mk
	// and sends SIGHUP.
	s.writeSites(t, "{'channels': 5, 'heartbeat': (1, 1.0)}", "remote1")
	r := run(t, s.env, buildDaemon(t), "write-config", "--root", s.root)
	expect(t, r, 0, fmt.Sprintf("reloaded liveproxyd (pid %d)", pid))
	s.waitChannels(t, pid, "remote1", 5)
	ka.expectProgramStart(t, "after write-config raised channels 2 -> 5")
	ka.expectProgramStart(t, "a second query after write-config")
	s.mustRun(t, pid, "after write-config")

	// The start script's reload after an edit of liveproxyd.mk itself.
	mk := filepath.Join(s.root, config.MainFile)
	b, err := os.ReadFile(mk)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("'channels': 5,")); n != 1 {
		t.Fatalf("want one 'channels': 5 in the written liveproxyd.mk, found %d:\n%s", n, b)
	}
	testutil.WriteFile(t, mk, strings.Replace(string(b), "'channels': 5,", "'channels': 1,", 1))
	expect(t, run(t, s.env, s.script, "reload"), 0, "Reloading liveproxyd...OK\n")
	s.waitChannels(t, pid, "remote1", 1)
	ka.expectProgramStart(t, "after the script's reload lowered channels 5 -> 1")
	s.mustRun(t, pid, "after the script's reload")
	if taken, refused := s.reloadLines(t); taken != 2 || refused != 0 {
		t.Errorf("log shows %d reloads taken and %d refused, want 2 and 0", taken, refused)
	}

	expect(t, run(t, s.env, s.script, "stop"), 0, fmt.Sprintf("killing %d...OK\n", pid))
}

// A malformed sites.mk names file and line, writes nothing, and leaves the
// running daemon untouched: same pid, same channels, its sockets answer
// (an open KeepAlive client too), and it takes the next good configuration.
func TestWriteConfigMalformedSitesKeepsDaemon(t *testing.T) {
	s := newSite(t)
	s.setSitesParams(t, "{'channels': 3, 'heartbeat': (1, 1.0)}", "remote1")
	expect(t, run(t, s.env, s.script, "start"), 0, "Starting liveproxyd...OK\n")
	pid := readPid(s.root)
	s.mustRun(t, pid, "after start")
	waitAnswer(t, s.sock("remote1"), statusQuery)
	s.waitChannels(t, pid, "remote1", 3)
	ka := dialKeepAlive(t, s.sock("remote1"))
	ka.expectProgramStart(t, "before write-config")

	mk := filepath.Join(s.root, config.MainFile)
	good, err := os.ReadFile(mk)
	if err != nil {
		t.Fatal(err)
	}
	sitesMK := filepath.Join(s.root, omdconfig.SitesFile)
	// Every bad value sits on line 5, the second line of remote2's entry;
	// remote1 on line 3 asks for 6 channels, so a partial write or reload
	// would show.
	for _, c := range []struct{ name, params string }{
		{"syntax error", "{'channels': 6,, }"},
		{"undefined name", "{'channels': undefined_name}"},
		{"error while evaluating", "{'channels': 1 // 0}"},
		{"value the daemon refuses", "{'channels': 0}"},
	} {
		text := "sites.update({\n" +
			" 'local': {'socket': ('local', None), 'proxy': None},\n" +
			fmt.Sprintf(" 'remote1': {'socket': 'unix:%s', 'proxy': {'params': {'channels': 6}}},\n", s.remote) +
			fmt.Sprintf(" 'remote2': {'socket': 'unix:%s',\n", s.remote) +
			fmt.Sprintf("             'proxy': {'params': %s}},\n", c.params) +
			"})\n"
		testutil.WriteFile(t, sitesMK, text)
		etc := snapshot(t, filepath.Join(s.root, "etc"))

		r := run(t, s.env, buildDaemon(t), "write-config", "--root", s.root)
		if r.code != 1 || !strings.Contains(r.stderr, sitesMK+":5: ") {
			t.Errorf("%s: want exit 1 and %q in stderr; got %v", c.name, sitesMK+":5: ", r)
		}
		if strings.Contains(r.stdout, "reloaded") || strings.Contains(r.stdout, "wrote") {
			t.Errorf("%s: write-config claims to have written or reloaded: %v", c.name, r)
		}
		if b, err := os.ReadFile(mk); err != nil || !bytes.Equal(b, good) {
			t.Errorf("%s: liveproxyd.mk changed (err %v):\n%s\nwas:\n%s", c.name, err, b, good)
		}
		if after := snapshot(t, filepath.Join(s.root, "etc")); !maps.Equal(after, etc) {
			t.Errorf("%s: write-config changed etc/:\nbefore %v\nafter  %v", c.name, etc, after)
		}

		s.mustRun(t, pid, c.name)
		if code, body, err := query(s.sock("remote1"), statusQuery); err != nil || code != 200 || body != programStart {
			t.Errorf("%s: a new client got %d %q, %v", c.name, code, body, err)
		}
		ka.expectProgramStart(t, c.name)
		if _, sites, err := s.status(t); err != nil || sites["remote1"].Target != 3 {
			t.Errorf("%s: status after the refused write-config: %v %v", c.name, sites, err)
		}
	}
	if _, err := os.Stat(s.sock("remote2")); !os.IsNotExist(err) {
		t.Errorf("remote2 of the refused files is served: %v", err)
	}

	// The daemon still takes a good configuration, and reloads exactly
	// once for it: a stray SIGHUP from the refused runs would have been
	// handled (and logged) before this one.
	s.writeSites(t, "{'channels': 6, 'heartbeat': (1, 1.0)}", "remote1")
	expect(t, run(t, s.env, buildDaemon(t), "write-config", "--root", s.root), 0,
		fmt.Sprintf("reloaded liveproxyd (pid %d)", pid))
	s.waitChannels(t, pid, "remote1", 6)
	testutil.WaitFor(t, "the reload's log line", func() bool { taken, _ := s.reloadLines(t); return taken > 0 })
	if taken, refused := s.reloadLines(t); taken != 1 || refused != 0 {
		t.Errorf("log shows %d reloads taken and %d refused, want 1 and 0", taken, refused)
	}
	ka.expectProgramStart(t, "after the good write-config")
	s.mustRun(t, pid, "after the good write-config")

	expect(t, run(t, s.env, s.script, "stop"), 0, fmt.Sprintf("killing %d...OK\n", pid))
}
