// Command mutate runs mutation testing over one package (default ./core;
// `make mutate` runs it for ./livestatus too): every survivor is a change
// to the code that no test noticed.
//
//	go run ./cmd/mutate [-j 1] [-sample N -seed S] [-match RE] [-floor PCT] [-list]
//
// Exit status: 0 done, 1 efficacy below -floor, 2 usage or setup error.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"liveproxyd/internal/mutate"
)

// defaultCommands: the core's own tests first (fast, and they kill most
// mutants); the simulator and the fuzz seeds only for what survives them.
var defaultCommands = []string{
	"go test -count=1 ./core ./livestatus",
	"go test -count=1 ./sim -run TestSim$ -seeds=30",
	"go test -count=1 ./fuzz",
}

type commandsFlag []string

func (c *commandsFlag) String() string { return strings.Join(*c, "; ") }
func (c *commandsFlag) Set(s string) error {
	*c = append(*c, s)
	return nil
}

func main() {
	var cmds commandsFlag
	pkg := flag.String("pkg", "./core", "package directory to mutate")
	flag.Var(&cmds, "cmd", "test command, repeatable, run in order until one fails (default: core, sim -seeds=30, fuzz seeds)")
	jobs := flag.Int("j", 1, "mutants tested in parallel")
	sample := flag.Int("sample", 0, "test only a deterministic sample of N mutants (0: all)")
	seed := flag.Uint64("seed", 1, "seed of -sample")
	floor := flag.Float64("floor", 0, "exit 1 when efficacy (percent) is below this")
	equiv := flag.String("equivalent", "testdata/mutate/equivalent.txt", "reviewed list of equivalent mutants (\"\": none)")
	ops := flag.String("ops", strings.Join(mutate.DefaultOps, ","), "operators, comma-separated, from: "+strings.Join(mutate.AllOps, ","))
	list := flag.Bool("list", false, "print the mutants with their IDs and exit")
	match := flag.String("match", "", "test only the mutants whose ID matches this regular expression (to re-test survivors after a new test)")
	factor := flag.Float64("timeout-factor", 10, "per-command limit = factor × clean run time …")
	lo := flag.Duration("timeout-min", 60*time.Second, "… but at least this (a mutant rebuilds, the clean run did not) …")
	hi := flag.Duration("timeout-max", 5*time.Minute, "… and at most this")
	flag.Parse()
	if len(cmds) == 0 {
		cmds = defaultCommands
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, options{pkg: *pkg, cmds: cmds, jobs: *jobs, sample: *sample, seed: *seed, floor: *floor,
		equiv: *equiv, ops: strings.Split(*ops, ","), list: *list, match: *match, factor: *factor, lo: *lo, hi: *hi,
		out: os.Stdout, log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

type options struct {
	pkg          string
	cmds         []string
	jobs, sample int
	seed         uint64
	floor        float64
	equiv        string
	ops          []string
	list         bool
	match        string
	factor       float64
	lo, hi       time.Duration
	out, log     io.Writer // the report and -list; progress and warnings
}

func run(ctx context.Context, o options) (int, error) {
	root, err := mutate.FindModuleRoot(".")
	if err != nil {
		return 0, fmt.Errorf("no go.mod above the current directory")
	}
	for _, op := range o.ops {
		if !slices.Contains(mutate.AllOps, op) {
			return 0, fmt.Errorf("unknown operator %q", op)
		}
	}
	mutants, sources, err := mutate.Load(root, o.pkg, o.ops)
	if err != nil {
		return 0, err
	}
	equivalent := map[string]string{}
	if o.equiv != "" {
		f, err := os.Open(o.equiv)
		if err != nil {
			return 0, err
		}
		equivalent, err = mutate.ReadEquivalent(f)
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("%s: %v", o.equiv, err)
		}
	}
	kept, excluded, stale := mutate.Exclude(mutants, equivalent)
	for _, id := range stale {
		if !strings.HasPrefix(id, path.Clean(o.pkg)+"/") {
			continue // an entry of the other package in the one list
		}
		fmt.Fprintf(o.log, "mutate: %s: stale entry, no such mutant: %s\n", o.equiv, id)
	}
	if o.match != "" {
		re, err := regexp.Compile(o.match)
		if err != nil {
			return 0, fmt.Errorf("-match: %v", err)
		}
		kept = slices.DeleteFunc(kept, func(m mutate.Mutant) bool { return !re.MatchString(m.ID()) })
		excluded = 0 // like a sample, a selection says nothing about the equivalents
	}
	if o.list {
		for _, m := range kept {
			fmt.Fprintf(o.out, "%-28s %s\n", m.Pos(), m.ID())
		}
		return 0, nil
	}
	kept = mutate.Sample(kept, o.sample, o.seed)
	if o.sample > 0 {
		excluded = 0 // a sample says nothing about how many equivalents it would have hit
	}
	cfg := mutate.Config{Dir: root, Env: []string{"RAPID_NOFAILFILE=1"}, Jobs: o.jobs, Log: o.log}
	for _, c := range o.cmds {
		cfg.Commands = append(cfg.Commands, strings.Fields(c))
	}
	fmt.Fprintf(o.log, "mutate: %d mutants (%d equivalent excluded) in %s; clean run first\n", len(kept), excluded, o.pkg)
	limits, err := mutate.Baseline(ctx, cfg, o.factor, o.lo, o.hi)
	if err != nil {
		return 0, err
	}
	for i, c := range o.cmds {
		fmt.Fprintf(o.log, "mutate: limit %s for %s\n", limits[i].Round(time.Second), c)
	}
	results, err := mutate.Run(ctx, cfg, limits, kept, sources)
	if err != nil {
		return 0, err
	}
	s := mutate.Summarize(results, excluded)
	mutate.Report(o.out, results, s)
	if s.Efficacy() < o.floor {
		fmt.Fprintf(o.out, "efficacy %.1f%% is below the floor of %.1f%%\n", s.Efficacy(), o.floor)
		return 1, nil
	}
	return 0, nil
}
