package mutate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Status is what the tests made of one mutant.
type Status int

const (
	Killed   Status = iota // a test failed
	Lived                  // every command passed
	TimedOut               // a command ran past its limit: counts as killed
	NotBuilt               // the mutant does not compile: excluded from the score
)

func (s Status) String() string {
	return [...]string{"killed", "lived", "timed out", "not built"}[s]
}

// Config says where and how to test mutants.
type Config struct {
	Dir      string     // module root; commands run here
	Commands [][]string // run in order; the next one runs only if all before passed
	Env      []string   // added to the environment of every command
	Jobs     int        // mutants tested at once
	Log      io.Writer  // one line per finished mutant; nil for none
}

// Timeouts holds the limit of each command for one mutant.
type Timeouts []time.Duration

// Baseline runs every command on the unmutated tree: all must pass (or no
// verdict means anything), and their times set each command's limit as
// factor × clean time, kept within [min, max]. The clean run had its
// build cached, a mutant does not, hence a generous minimum.
func Baseline(ctx context.Context, cfg Config, factor float64, lo, hi time.Duration) (Timeouts, error) {
	var limits Timeouts
	for _, argv := range cfg.Commands {
		start := time.Now()
		out, err := run(ctx, cfg, argv, hi)
		if err != nil {
			return nil, fmt.Errorf("clean run of %q failed (%v):\n%s", strings.Join(argv, " "), err, tail(out, 40))
		}
		d := time.Duration(factor * float64(time.Since(start)))
		limits = append(limits, max(lo, min(d, hi)))
	}
	return limits, nil
}

// Result is the verdict on one mutant.
type Result struct {
	Mutant
	Status  Status
	Command int // index of the command that decided (-1: none ran)
	Elapsed time.Duration
}

// Run tests every mutant, cfg.Jobs at a time, and returns the results in
// the mutants' order. sources maps a mutant's File to its original file.
func Run(ctx context.Context, cfg Config, limits Timeouts, mutants []Mutant, sources map[string]Source) ([]Result, error) {
	tmp, err := os.MkdirTemp("", "mutate-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	results := make([]Result, len(mutants))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for w := 0; w < max(cfg.Jobs, 1); w++ {
		wg.Go(func() {
			for i := range next {
				r := testMutant(ctx, cfg, limits, mutants[i], sources[mutants[i].File], filepath.Join(tmp, fmt.Sprint(i)))
				results[i] = r
				mu.Lock()
				done++
				if cfg.Log != nil {
					fmt.Fprintf(cfg.Log, "[%4d/%d] %-9s %s %s %s %s → %s (%.1fs)\n", done, len(mutants), r.Status,
						r.Pos(), r.Func, r.Op, r.Orig, r.Repl, r.Elapsed.Seconds())
				}
				mu.Unlock()
			}
		})
	}
	for i := range mutants {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return results, ctx.Err()
}

// testMutant writes the mutated file under dir and points `go` at it with
// an overlay, so the real tree stays untouched and mutants can run in
// parallel.
func testMutant(ctx context.Context, cfg Config, limits Timeouts, m Mutant, src Source, dir string) (r Result) {
	start := time.Now()
	r = Result{Mutant: m, Status: NotBuilt, Command: -1}
	defer func() { r.Elapsed = time.Since(start) }()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return r
	}
	defer os.RemoveAll(dir)
	mutated := filepath.Join(dir, filepath.Base(src.Abs))
	overlay := filepath.Join(dir, "overlay.json")
	body, _ := json.Marshal(map[string]map[string]string{"Replace": {src.Abs: mutated}})
	if os.WriteFile(mutated, m.Apply(src.Src), 0o644) != nil || os.WriteFile(overlay, body, 0o644) != nil {
		return r
	}
	for i, argv := range cfg.Commands {
		r.Command = i
		out, err := run(ctx, cfg, withOverlay(argv, overlay), limits[i])
		switch {
		case err == nil:
			continue
		case errors.Is(err, context.DeadlineExceeded):
			r.Status = TimedOut
		case buildFailed(out):
			r.Status = NotBuilt
		default:
			r.Status = Killed
		}
		return r
	}
	r.Status = Lived
	return r
}

// buildFailed tells a compile error from a failing test: since Go 1.24
// both make `go test` exit 1, so only the output says which it was.
func buildFailed(out []byte) bool {
	return bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]"))
}

// withOverlay inserts -overlay after `go test|build|vet`; other commands
// cannot see the mutant and are run as given.
func withOverlay(argv []string, overlay string) []string {
	if len(argv) < 2 || filepath.Base(argv[0]) != "go" {
		return argv
	}
	switch argv[1] {
	case "test", "build", "vet", "run":
		return append([]string{argv[0], argv[1], "-overlay=" + overlay}, argv[2:]...)
	}
	return argv
}

// run executes argv in its own process group so a timeout kills the test
// binary that `go test` started, not just `go`.
func run(ctx context.Context, cfg Config, argv []string, limit time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = cfg.Dir
	cmd.Env = append(os.Environ(), cfg.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second // output pipes held by a stray child
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return out.Bytes(), context.DeadlineExceeded
	}
	return out.Bytes(), err
}

func tail(out []byte, lines int) string {
	l := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}
