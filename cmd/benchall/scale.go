package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"liveproxyd/adapters/statefile"
	"liveproxyd/bench/loadgen"
	"liveproxyd/e2e"
)

// The scale scenario: many sites on a few fake-site processes (many sites
// share each socket), idle clients, and the daemon's cost over a window
// of nothing but heartbeats.
const (
	scaleSites     = 1000
	scaleChannels  = 10
	scaleFakesites = 4
	scaleIdleWant  = 10000
	scaleWindow    = 60 * time.Second
	scaleUpTimeout = 3 * time.Minute
	// fdSpare: the daemon's own files (listeners are counted apart),
	// kept free of the idle clients.
	fdSpare = 300
)

// scaleParams are the design notes' defaults (docs/design.md §21): heartbeat every 3 s.
func scaleParams() e2e.SiteParams {
	return e2e.SiteParams{Channels: scaleChannels, Heartbeat: [2]float64{3, 2.0},
		ChannelTimeout: 5, QueryTimeout: 120, ConnectRetry: 4}
}

// idleBudget is how many idle clients fit under the open-files limit next
// to the daemon's channels and, per site, its listener and its poller's
// epoll set (the daemon, being a Go program, raises its soft limit to the
// hard one).
func idleBudget() (int, uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, err
	}
	lim.Cur = lim.Max // raise ours too: we hold the idle clients' ends
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, err
	}
	free := int(lim.Max) - scaleSites*scaleChannels - 2*scaleSites - fdSpare
	return max(0, min(scaleIdleWant, free)), lim.Max, nil
}

func scenarioScale(ctx context.Context, e *env) ([]Row, error) {
	idle, hard, err := idleBudget()
	if err != nil {
		return nil, err
	}
	socks := make([]string, scaleFakesites)
	for i := range socks {
		socks[i] = filepath.Join(e.dir, fmt.Sprintf("scale%d.sock", i))
		if _, _, err := e.fakesite("unix:" + socks[i]); err != nil {
			return nil, err
		}
	}
	var cfg strings.Builder
	names := make([]string, scaleSites)
	for i := range names {
		names[i] = fmt.Sprintf("s%04d", i)
		cfg.WriteString(e2e.UnixSiteConfig(names[i], socks[i%len(socks)], scaleParams()))
	}
	t0 := time.Now()
	px, err := e.proxy(cfg.String(), names)
	if err != nil {
		return nil, err
	}
	if err := waitAllUp(ctx, px, scaleUpTimeout); err != nil {
		return nil, err
	}
	upIn := time.Since(t0)
	e.log("scale: %d sites × %d channels up in %v; opening %d idle clients", scaleSites, scaleChannels, upIn, idle)
	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < idle; i++ {
		c, err := px.target(names[i%len(names)]).Dial(10 * time.Second)
		if err != nil {
			return nil, fmt.Errorf("idle client %d: %w", i, err)
		}
		conns = append(conns, c)
	}
	time.Sleep(3 * time.Second) // let the accepts settle
	cpu0, err := cpuTime(px.pid())
	if err != nil {
		return nil, err
	}
	w0 := time.Now()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(scaleWindow):
	}
	cpu1, err := cpuTime(px.pid())
	if err != nil {
		return nil, err
	}
	wall := time.Since(w0)
	rss, err1 := memKB(px.pid(), "VmRSS")
	hwm, err2 := memKB(px.pid(), "VmHWM")
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("rss: %v %v", err1, err2)
	}
	// Still serving after the window: every site alive, a query answered.
	if err := waitAllUp(ctx, px, 10*time.Second); err != nil {
		return nil, fmt.Errorf("after the idle window: %w", err)
	}
	if code, _, err := ask(px.target(names[len(names)-1]), loadgen.Presets["status"], 10*time.Second); err != nil || code != 200 {
		return nil, fmt.Errorf("query after the idle window: code %d, %v", code, err)
	}
	cpuPct := 100 * float64(cpu1-cpu0) / float64(wall)
	e.log("scale: CPU %v over %v (%.2f%%), RSS %d kB, HWM %d kB", cpu1-cpu0, wall, cpuPct, rss, hwm)
	p := scaleParams()
	name := fmt.Sprintf("scale: %d sites × %d channels on %d fake-site processes, %d idle clients, heartbeat every %.0f s",
		scaleSites, scaleChannels, scaleFakesites, idle, p.Heartbeat[0])
	rows := []Row{
		{Scenario: name, Measure: "all channels up after start", Figure: dur(upIn.Round(time.Millisecond))},
		{Scenario: name, Measure: "liveproxyd RSS (peak)", Figure: fmt.Sprintf("%s (%s)", mb(rss<<10), mb(hwm<<10)),
			Target: "≤ 1 GB", Met: met(hwm<<10 <= 1<<30)},
		{Scenario: name, Measure: fmt.Sprintf("liveproxyd CPU over %v of heartbeats", wall.Round(time.Second)),
			Figure: fmt.Sprintf("%.2f %% of a core", cpuPct), Target: "≤ 5 % of a core", Met: met(cpuPct <= 5)},
	}
	if idle < scaleIdleWant {
		rows = append(rows, Row{Scenario: name, Measure: "idle clients",
			Figure: fmt.Sprintf("%d, not %d: the open-files hard limit is %d here and cannot be raised", idle, scaleIdleWant, hard)})
	}
	return rows, nil
}

// waitAllUp polls the state file until every site is alive with all its
// channels proven.
func waitAllUp(ctx context.Context, px *proxy, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := "no state file yet"
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if f, err := statefile.Read(filepath.Join(px.root, statefile.Path)); err == nil {
			up, full := 0, 0
			for _, s := range f.Sites {
				if s.State == "alive" {
					up++
				}
				if proven(s.Channels) == scaleChannels {
					full++
				}
			}
			if up == scaleSites && full == scaleSites && len(f.Sites) == scaleSites {
				return nil
			}
			last = fmt.Sprintf("%d of %d sites alive, %d with all channels", up, len(f.Sites), full)
		}
		if !px.running() {
			return fmt.Errorf("liveproxyd exited: %s", px.output())
		}
		time.Sleep(time.Second)
	}
	return fmt.Errorf("not all up within %v: %s", timeout, last)
}

// proven counts channels past their first heartbeat.
func proven(chs []statefile.Channel) int {
	n := 0
	for _, c := range chs {
		if c.State == "free" || c.State == "busy" || c.State == "heartbeat" {
			n++
		}
	}
	return n
}
