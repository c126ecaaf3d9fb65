package main_test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"liveproxyd/internal/testutil"
)

var pprofAddrRE = regexp.MustCompile(`\] pprof endpoint listening addr=(\S+)`)

func TestPprofServesProfilesWhenAsked(t *testing.T) {
	r := newRoot(t)
	r.writeConfig(siteLine("rs", r.site.Addr(), 1))
	d := startForeground(t, r, "--pprof-listen", "127.0.0.1:0")
	addr := d.waitLog("the pprof endpoint", pprofAddrRE)[1]

	index := httpGet(t, "http://"+addr+"/debug/pprof/")
	if !strings.Contains(index, "goroutine") || !strings.Contains(index, "heap") {
		t.Errorf("the pprof index lists no goroutine or heap profile:\n%s", index)
	}
	// A named profile of the daemon itself, not of some other process.
	if stacks := httpGet(t, "http://"+addr+"/debug/pprof/goroutine?debug=1"); !strings.Contains(stacks, "main.serve") {
		t.Errorf("the goroutine profile lacks the daemon's main.serve:\n%.2000s", stacks)
	}
	if got := listeningTCP(t, d.cmd.Process.Pid); len(got) != 1 || got[0] != addr {
		t.Errorf("TCP listeners of the daemon %v, want the pprof endpoint %s alone", got, addr)
	}
}

func TestPprofIsOffByDefault(t *testing.T) {
	r := newRoot(t)
	r.writeConfig(siteLine("rs", r.site.Addr(), 1))
	d := startForeground(t, r)
	d.waitLog("the start", regexp.MustCompile(`\] liveproxyd started `))
	waitSiteState(t, r, "rs", "alive")
	if strings.Contains(d.logs.String(), "pprof") {
		t.Errorf("pprof mentioned without --pprof-listen:\n%s", d.logs.String())
	}
	// A UNIX site, no metrics key, no tcp key: nothing of the daemon's
	// may listen on TCP at all.
	if got := listeningTCP(t, d.cmd.Process.Pid); len(got) != 0 {
		t.Errorf("the daemon listens on TCP %v without --pprof-listen", got)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := http.Client{Timeout: testutil.HangGuard}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
	return string(body)
}

// listeningTCP lists the local addresses of the TCP sockets in LISTEN
// state that process pid holds open, from /proc (IPv4 as host:port).
func listeningTCP(t *testing.T, pid int) []string {
	t.Helper()
	fds, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "fd", fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	var out []string
	for _, table := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "net", table))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			// sl local rem st tx:rx tr:when retrnsmt uid timeout inode
			const listen = "0A"
			if len(f) > 9 && f[3] == listen && inodes[f[9]] {
				out = append(out, procNetAddr(f[1]))
			}
		}
	}
	return out
}

// procNetAddr turns /proc/net/tcp's "0100007F:1F90" into "127.0.0.1:8080";
// an IPv6 address stays in hex, which is enough to show it.
func procNetAddr(hexAddr string) string {
	ip, port, _ := strings.Cut(hexAddr, ":")
	p, _ := strconv.ParseUint(port, 16, 16)
	if len(ip) != 8 {
		return "[" + ip + "]:" + strconv.FormatUint(p, 10)
	}
	v, _ := strconv.ParseUint(ip, 16, 32)
	// The kernel prints the address in host byte order: little-endian here.
	return strconv.FormatUint(v&0xff, 10) + "." + strconv.FormatUint(v>>8&0xff, 10) + "." +
		strconv.FormatUint(v>>16&0xff, 10) + "." + strconv.FormatUint(v>>24, 10) + ":" + strconv.FormatUint(p, 10)
}

// The daemonized child is started anew from the parent's options: the
// flag must reach it.
func TestDaemonizedChildServesPprof(t *testing.T) {
	r := newRoot(t)
	r.writeConfig(r.siteConfig(1))
	if out, err := exec.Command(binary, "--root", r.dir, "--pprof-listen", "127.0.0.1:0").CombinedOutput(); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	pid := readPid(t, r)
	killOnCleanup(t, pid)
	var addr []string
	testutil.WaitFor(t, "the pprof endpoint in the daemon's log", func() bool {
		log, _ := os.ReadFile(r.path("var/log/liveproxyd.log"))
		addr = pprofAddrRE.FindStringSubmatch(string(log))
		return addr != nil
	})
	if index := httpGet(t, "http://"+addr[1]+"/debug/pprof/"); !strings.Contains(index, "goroutine") {
		t.Errorf("the daemon's pprof index:\n%s", index)
	}
	stopDaemon(t, r, pid)
}
