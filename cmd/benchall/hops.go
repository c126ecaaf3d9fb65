package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"liveproxyd/bench/loadgen"
	"liveproxyd/livestatus"
)

// hopRun is about how long each hop is measured per cell, after a
// warm-up of hopWarmup that is thrown away and gives the rate; 6 cells ×
// 4 ways keep the scenario near two minutes. hopRunMax cuts a run whose
// warm-up misjudged the rate, and every client makes at least
// hopMinPerClient queries.
const (
	hopRun          = 3 * time.Second
	hopWarmup       = time.Second
	hopRunMax       = 3 * hopRun
	hopMinPerClient = 2
)

// hopSite is the fake site's size: 100 hosts × 40 services give the three
// answer sizes of the comparison, ~15 B, ~3.8 KB and ~730 KB in JSON.
var hopSite = []string{"-hosts", "100", "-services", "40"}

// hopQueries are the three cells' queries, as a GUI sends them
// (`OutputFormat: json`).
var hopQueries = []struct{ name, query string }{
	{"`GET status`", "GET status\nColumns: program_start\nOutputFormat: json"},
	{"`GET hosts`", "GET hosts\nColumns: name state plugin_output\nOutputFormat: json"},
	{"`GET services`", "GET services\nOutputFormat: json"},
}

// hopClients are the client counts of each cell.
var hopClients = []int{1, 16}

// hop is one way from the clients to the site: straight to its TCP port,
// or through a process listening on a UNIX socket in front of it.
type hop struct {
	name   string
	target loadgen.Target
	// cpu is the hop's CPU time so far; nil for the direct way.
	cpu func() (time.Duration, error)
}

// hopFigures are one hop's figures in one cell, CPU per answered query.
type hopFigures struct {
	qps              float64
	hopCPU, siteCPU  time.Duration
	answerBytes      int64 // per query, body only
	hopCPUMeasurable bool  // false when the hop burned no tick at all
}

// scenarioHops measures, in one run and cell by cell, a query straight to
// a fake site over TCP and through three hops on a UNIX socket in front of
// the same site: liveproxyd, HAProxy in `mode tcp` and socat. Every client
// opens a new connection per query, as Checkmk's GUI does on liveproxyd's
// socket (see notes).
func scenarioHops(ctx context.Context, e *env) ([]Row, error) {
	haproxyBin, socatBin, err := referenceHops()
	if err != nil {
		return nil, err
	}
	site, addr, err := e.fakesite("tcp:127.0.0.1:0", hopSite...)
	if err != nil {
		return nil, err
	}
	hops, err := startHops(e, addr, haproxyBin, socatBin)
	if err != nil {
		return nil, err
	}
	for _, h := range hops {
		if err := waitCode(h.target, 200, 15*time.Second); err != nil {
			return nil, fmt.Errorf("%s: %w", h.name, err)
		}
	}
	var rows []Row
	for _, q := range hopQueries {
		for _, clients := range hopClients {
			figs := make([]hopFigures, len(hops))
			for i, h := range hops {
				f, err := measureHop(ctx, h, site.pid(), q.query, clients)
				if err != nil {
					return rows, fmt.Errorf("%s, %s, %d clients: %w", h.name, q.name, clients, err)
				}
				figs[i] = f
				e.log("hops %s %d clients %s: %.0f q/s, hop CPU %v/query, site CPU %v/query",
					q.name, clients, h.name, f.qps, f.hopCPU, f.siteCPU)
			}
			rows = append(rows, hopRows(q.name, clients, hops, figs)...)
		}
	}
	return rows, nil
}

// referenceHops finds HAProxy and socat; Debian puts haproxy in /usr/sbin,
// which is not in every user's PATH.
func referenceHops() (haproxy, socat string, err error) {
	find := func(name, sbin string) (string, error) {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		if p, err := exec.LookPath(sbin); err == nil {
			return p, nil
		}
		return "", fmt.Errorf("%s is not installed: the hops scenario needs HAProxy and socat as reference hops; "+
			"`make setup` (scripts/setup.sh) installs the Debian packages haproxy and socat", name)
	}
	haproxy, err1 := find("haproxy", "/usr/sbin/haproxy")
	socat, err2 := find("socat", "/usr/bin/socat")
	return haproxy, socat, errors.Join(err1, err2)
}

// startHops starts liveproxyd, HAProxy and socat in front of the site at
// addr and returns the four ways to it, in the order of hopDirect,
// hopLiveproxyd, hopHAProxy and hopSocat.
func startHops(e *env, addr, haproxyBin, socatBin string) ([]hop, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, err
	}
	// Checkmk's defaults (10 channels, heartbeat every 3 s): the daemon as
	// users run it.
	cfg := fmt.Sprintf("sites.update({'hops': {'socket': ('tcp', {'address': (%q, %d), 'tls': ('plain_text', {})})}})\n", host, port)
	px, err := e.proxy(cfg, []string{"hops"})
	if err != nil {
		return nil, err
	}
	haproxySock := filepath.Join(e.dir, "haproxy.sock")
	haproxyCfg := filepath.Join(e.dir, "haproxy.cfg")
	if err := writeHAProxyConfig(haproxyCfg, haproxySock, addr); err != nil {
		return nil, err
	}
	// -db: stay in the foreground, one process (its threads), no master.
	ha, _, err := e.start("haproxy", haproxyBin, []string{"-db", "-f", haproxyCfg}, "")
	if err != nil {
		return nil, err
	}
	// socat's listen backlog is 5 by default: 16 clients overflow it and
	// get EAGAIN; HAProxy, liveproxyd and the site listen with the
	// kernel's maximum, so socat gets the same.
	socatSock := filepath.Join(e.dir, "socat.sock")
	so, _, err := e.start("socat", socatBin, []string{"UNIX-LISTEN:" + socatSock + ",fork,unlink-early,backlog=4096", "TCP:" + addr}, "")
	if err != nil {
		return nil, err
	}
	unix := func(path string) loadgen.Target { return loadgen.Target{Network: "unix", Addr: path} }
	return []hop{
		{name: "direct to the site (TCP)", target: loadgen.Target{Network: "tcp", Addr: addr}},
		{name: "through liveproxyd", target: px.target("hops"), cpu: func() (time.Duration, error) { return cpuTime(px.pid()) }},
		{name: "through HAProxy (mode tcp)", target: unix(haproxySock), cpu: func() (time.Duration, error) { return cpuTime(ha.pid()) }},
		// socat forks a child per connection: its CPU is in the parent's
		// reaped-children times once the child has exited.
		{name: "through socat (fork)", target: unix(socatSock), cpu: func() (time.Duration, error) { return cpuTimeWithChildren(so.pid()) }},
	}, nil
}

// measureHop warms up, then runs clients against h for about hopRun and
// reads the CPU the hop and the site spent in the measured part only.
// The run is bounded by a count of queries, sized from the warm-up's
// rate, rather than by time: a run cut off by time leaves up to one query
// per client unfinished, whose CPU counts but whose answer does not, and
// with 730 KB answers that is a sizeable share. Every answer must be a
// 200: an error reply is cheap and would flatter a hop.
func measureHop(ctx context.Context, h hop, sitePID int, query string, clients int) (hopFigures, error) {
	// A slow hop may answer no 730 KB query within the warm-up: that is
	// no error, so the load generator is called directly here.
	o := loadgen.Options{Target: h.target, Clients: clients, Queries: []string{query}, Duration: hopWarmup}
	warm, err := loadgen.Run(ctx, o)
	if err != nil {
		return hopFigures{}, err
	}
	if warm.Failures > 0 {
		return hopFigures{}, fmt.Errorf("warm-up: %d failures: %v", warm.Failures, warm.Errors)
	}
	o.Count = max(hopMinPerClient*clients, int(warm.QPS*hopRun.Seconds()))
	o.Duration = hopRunMax
	hopCPU := func() (time.Duration, error) {
		if h.cpu == nil {
			return 0, nil
		}
		return h.cpu()
	}
	hop0, err1 := hopCPU()
	site0, err2 := cpuTime(sitePID)
	r, err := load(ctx, o)
	hop1, err3 := hopCPU()
	site1, err4 := cpuTime(sitePID)
	if err := errors.Join(err, err1, err2, err3, err4); err != nil {
		return hopFigures{}, err
	}
	if r.OK() != r.Queries {
		return hopFigures{}, fmt.Errorf("answers other than 200: %v", r.Codes)
	}
	n := time.Duration(r.Queries)
	return hopFigures{
		qps:              r.QPS,
		hopCPU:           (hop1 - hop0) / n,
		siteCPU:          (site1 - site0) / n,
		answerBytes:      r.Bytes/r.Queries - livestatus.HeaderLen,
		hopCPUMeasurable: hop1 > hop0,
	}, nil
}

// writeHAProxyConfig writes the smallest HAProxy configuration of a TCP
// hop: no log lines (nothing goes to syslog), one listener on a UNIX
// socket, one server. Timeouts are set because HAProxy warns without
// them; they are far above any query here.
func writeHAProxyConfig(path, socket, upstream string) error {
	cfg := fmt.Sprintf(`# benchall: HAProxy as a plain TCP hop in front of the fake site.
global
	maxconn 4096

defaults
	mode tcp
	timeout connect 5s
	timeout client 60s
	timeout server 60s

listen livestatus
	bind %s
	server site %s
`, socket, upstream)
	return os.WriteFile(path, []byte(cfg), 0o644)
}
