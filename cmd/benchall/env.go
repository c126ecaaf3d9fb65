package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"liveproxyd/bench/loadgen"
)

// env is what every scenario shares: the built binaries and a temp dir.
type env struct {
	bin  string // directory with liveproxyd, fakesite, wanrelay
	dir  string // scratch space, removed at the end
	repo string // module root, for `go test` and `go run`
	log  func(format string, args ...any)
	// procs started by scenarios; stopped when a scenario ends.
	procs []*proc
}

// build compiles the three binaries the benchmark runs.
func build(ctx context.Context, repo, dir string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+"/", "./cmd/liveproxyd", "./cmd/fakesite", "./cmd/wanrelay")
	cmd.Dir = repo
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}

// stopAll ends every process a scenario started, newest first.
func (e *env) stopAll() {
	for i := len(e.procs) - 1; i >= 0; i-- {
		e.procs[i].stop()
	}
	e.procs = nil
}

// start runs one of the built binaries, or a program given by its
// absolute path (the reference hops, HAProxy and socat).
func (e *env) start(name, bin string, args []string, ready string) (*proc, string, error) {
	if !filepath.IsAbs(bin) {
		bin = filepath.Join(e.bin, bin)
	}
	p, rest, err := startProc(name, bin, args, ready, 60*time.Second)
	if err != nil {
		return nil, "", err
	}
	e.procs = append(e.procs, p)
	return p, rest, nil
}

// fakesite starts a fake site; listen is unix:/path or tcp:host:port.
func (e *env) fakesite(listen string, extra ...string) (*proc, string, error) {
	p, addr, err := e.start("fakesite", "fakesite", append([]string{"-listen", listen}, extra...), "fakesite listening on ")
	if err != nil {
		return nil, "", err
	}
	_, addr, _ = strings.Cut(addr, ":") // drop the network
	return p, addr, nil
}

// relay starts a WAN relay in front of upstream and returns its address.
func (e *env) relay(upstream string, delay time.Duration) (string, error) {
	_, addr, err := e.start("wanrelay", "wanrelay",
		[]string{"-upstream", upstream, "-delay", delay.String()}, "wanrelay listening on ")
	return addr, err
}

// proxy is one running liveproxyd.
type proxy struct {
	*proc
	root string
}

func (p *proxy) socket(site string) string {
	return filepath.Join(p.root, "tmp", "run", "liveproxy", site)
}

func (p *proxy) target(site string) loadgen.Target {
	return loadgen.Target{Network: "unix", Addr: p.socket(site)}
}

// proxy writes config into a fresh root, starts `liveproxyd -g` and waits
// until the sockets of the named sites accept.
func (e *env) proxy(config string, sites []string) (*proxy, error) {
	root, err := os.MkdirTemp(e.dir, "lp")
	if err != nil {
		return nil, err
	}
	etc := filepath.Join(root, "etc", "check_mk")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(etc, "liveproxyd.mk"), []byte(config), 0o644); err != nil {
		return nil, err
	}
	p, _, err := e.start("liveproxyd", "liveproxyd", []string{"-g", "--root", root}, "")
	if err != nil {
		return nil, err
	}
	px := &proxy{proc: p, root: root}
	deadline := time.Now().Add(90 * time.Second)
	for _, site := range sites {
		for {
			c, err := net.DialTimeout("unix", px.socket(site), time.Second)
			if err == nil {
				c.Close()
				break
			}
			if !p.running() {
				return nil, fmt.Errorf("liveproxyd exited: %s", p.output())
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("socket of site %s not ready: %v; %s", site, err, p.output())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return px, nil
}

// ask sends one query and returns its status code and latency.
func ask(t loadgen.Target, query string, timeout time.Duration) (int, time.Duration, error) {
	r, err := loadgen.Run(context.Background(), loadgen.Options{Target: t, Clients: 1, Queries: []string{query},
		Count: 1, Timeout: timeout})
	if err != nil {
		return 0, 0, err
	}
	if r.Queries != 1 {
		return 0, 0, fmt.Errorf("no answer: %v", r.Errors)
	}
	for code := range r.Codes {
		return code, r.Latency.Max, nil
	}
	return 0, 0, fmt.Errorf("no answer: %v", r.Errors)
}

// waitCode polls with single queries until one is answered with code.
func waitCode(t loadgen.Target, code int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		got, _, err := ask(t, loadgen.Presets["status"], 5*time.Second)
		if err == nil && got == code {
			return nil
		}
		last = fmt.Sprintf("code %d, err %v", got, err)
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s: no %d answer within %v (last: %s)", t, code, timeout, last)
}

// load runs the load generator; a run with failures is an error, so no
// scenario reports figures of a broken run.
func load(ctx context.Context, o loadgen.Options) (*loadgen.Result, error) {
	if len(o.Queries) == 0 {
		o.Queries = []string{loadgen.Presets["status"]}
	}
	r, err := loadgen.Run(ctx, o)
	if err != nil {
		return nil, err
	}
	if r.Failures > 0 || r.Queries == 0 {
		return r, fmt.Errorf("%s: %d answers, %d failures: %v", o.Target, r.Queries, r.Failures, r.Errors)
	}
	return r, nil
}
