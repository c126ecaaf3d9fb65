// Command benchall runs every liveproxyd benchmark scenario in one go and
// writes a markdown table of figures and ratios, all measured in the same
// run, to BENCHMARKS.md (`make bench`).
//
//	go run ./cmd/benchall [-out BENCHMARKS.md] [-only loopback,wan]
//
// The whole run is bounded (-timeout, 10 minutes); every scenario has its
// own budget within it, and a scenario that fails or cannot run leaves an
// error row and the others go on.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

type scenario struct {
	name   string
	budget time.Duration
	run    func(context.Context, *env) ([]Row, error)
}

// scenarios in the order they run: cheap and quiet ones first, the
// scale run (which leaves thousands of sockets behind) last.
var scenarios = []scenario{
	{"micro", 2 * time.Minute, scenarioMicro},
	{"sim", time.Minute, scenarioSim},
	{"loopback", time.Minute, scenarioLoopback},
	{"tcplisten", time.Minute, scenarioTCPListen},
	{"wan", 2 * time.Minute, scenarioWAN},
	{"hops", 3 * time.Minute, scenarioHops},
	{"icinga", 2 * time.Minute, scenarioIcinga},
	{"dead", time.Minute, scenarioDead},
	{"hung", time.Minute, scenarioHung},
	{"big", 3 * time.Minute, scenarioBig},
	{"scale", 5 * time.Minute, scenarioScale},
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchall:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "BENCHMARKS.md", "write the report here (relative to the module root; empty: stdout only)")
	only := flag.String("only", "", "comma-separated scenarios to run (default all: "+names()+")")
	timeout := flag.Duration("timeout", 10*time.Minute, "bound of the whole run")
	flag.Parse()
	selected, err := pick(*only)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	repo, err := moduleRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "lpbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	bin := filepath.Join(dir, "bin")
	logf("building binaries")
	if err := build(ctx, repo, bin); err != nil {
		return err
	}
	e := &env{bin: bin, dir: dir, repo: repo, log: logf}
	info := machine()
	var rows []Row
	for _, s := range selected {
		logf("scenario %s (budget %v)", s.name, s.budget)
		sctx, scancel := context.WithTimeout(ctx, s.budget)
		r, err := s.run(sctx, e)
		scancel()
		e.stopAll()
		rows = append(rows, r...)
		if err != nil && !errors.Is(err, errSkipped) {
			logf("scenario %s failed: %v", s.name, err)
			rows = append(rows, errRow(s.name, err))
		}
	}
	info.loadEnd = loadavg()
	info.took = time.Since(start)
	report := render(info, rows, *only)
	fmt.Print(report)
	if *out == "" {
		return nil
	}
	path := *out
	if !filepath.IsAbs(path) {
		path = filepath.Join(repo, path)
	}
	logf("writing %s", path)
	return os.WriteFile(path, []byte(report), 0o644)
}

func names() string {
	var n []string
	for _, s := range scenarios {
		n = append(n, s.name)
	}
	return strings.Join(n, ",")
}

func pick(only string) ([]scenario, error) {
	if only == "" {
		return scenarios, nil
	}
	var sel []scenario
	for _, name := range strings.Split(only, ",") {
		found := false
		for _, s := range scenarios {
			if s.name == strings.TrimSpace(name) {
				sel = append(sel, s)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown scenario %q (known: %s)", name, names())
		}
	}
	return sel, nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run benchall inside the liveproxyd module")
	}
	return filepath.Dir(mod), nil
}
