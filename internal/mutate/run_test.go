package mutate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const fakeSource = `package p

func Add(a, b int) int { return a + b }

func Double(a int) int { return a * 2 }

func Sum(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i
	}
	return s
}
`

// Double has no test, so a mutant there lives.
const fakeTest = `package p

import "testing"

func TestAdd(t *testing.T) {
	if Add(2, 3) != 5 {
		t.Fatal("Add(2, 3) != 5")
	}
}

func TestSum(t *testing.T) {
	if Sum(3) != 3 {
		t.Fatal("Sum(3) != 3")
	}
}
`

// replace builds a mutant by hand, so this test judges the runner alone,
// not the operators.
func replace(t *testing.T, old, repl string) Mutant {
	t.Helper()
	off := strings.Index(fakeSource, old)
	if off < 0 {
		t.Fatalf("%q not in the fake source", old)
	}
	return Mutant{File: "p/p.go", Func: old, Op: "test", Orig: old, Repl: repl, edits: []edit{{off, off + len(old), repl}}}
}

// TestRunClassifiesEachOutcome runs four mutants of a tiny module, two at
// a time: one a test kills, one no test notices, one that does not
// compile and one that loops forever.
func TestRunClassifiesEachOutcome(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a module four times")
	}
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module fake\n\ngo 1.26\n")
	write("p/p.go", fakeSource)
	write("p/p_test.go", fakeTest)
	cfg := Config{Dir: dir, Commands: [][]string{{"go", "test", "-count=1", "./p"}}, Env: []string{"GOWORK=off", "GOFLAGS="}, Jobs: 2}
	// The limit adapts to the machine: 3 × a clean build-and-test, so a
	// loaded CI box does not turn slow builds into false timeouts.
	limits, err := Baseline(context.Background(), cfg, 3, 5*time.Second, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	mutants := []Mutant{
		replace(t, "a + b", "a - b"),
		replace(t, "a * 2", "a / 2"),
		replace(t, "a + b", `a + "b"`),
		replace(t, "i++", "i--"),
	}
	sources := map[string]Source{"p/p.go": {Abs: filepath.Join(dir, "p/p.go"), Src: []byte(fakeSource)}}
	start := time.Now()
	results, err := Run(context.Background(), cfg, limits, mutants, sources)
	if err != nil {
		t.Fatal(err)
	}
	want := []Status{Killed, Lived, NotBuilt, TimedOut}
	for i, r := range results {
		if r.Status != want[i] {
			t.Errorf("%s → %s: %s, want %s", r.Orig, r.Repl, r.Status, want[i])
		}
	}
	if d := time.Since(start); d > 2*limits[0]+30*time.Second {
		t.Errorf("run took %s: the hanging mutant was not stopped at its limit %s", d, limits[0])
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "p/p.go")); string(got) != fakeSource {
		t.Errorf("the real file was changed:\n%s", got)
	}
}

func TestWithOverlayOnlyTouchesGoBuildCommands(t *testing.T) {
	got := strings.Join(withOverlay([]string{"go", "test", "-count=1", "./sim", "-seeds=30"}, "/o.json"), " ")
	if got != "go test -overlay=/o.json -count=1 ./sim -seeds=30" {
		t.Errorf("go test: %s", got)
	}
	if got := strings.Join(withOverlay([]string{"make", "test"}, "/o.json"), " "); got != "make test" {
		t.Errorf("make: %s", got)
	}
}

// TestLoadNamesFilesFromTheModuleRootAndHonoursBuildTags: IDs must not
// depend on where the tool runs, and a file the build leaves out must not
// yield mutants (they could only ever "live").
func TestLoadNamesFilesFromTheModuleRootAndHonoursBuildTags(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":        "module fake\n\ngo 1.26\n",
		"p/p.go":        fakeSource,
		"p/other.go":    "//go:build ignore\n\npackage p\n\nfunc Other() int { return 1 + 1 }\n",
		"p/p_test.go":   fakeTest,
		"p/x/nested.go": "package x\n\nconst N = 1\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ms, sources, err := Load(dir, filepath.Join(dir, "p"), DefaultOps)
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) != 1 || sources["p/p.go"].Abs != filepath.Join(dir, "p/p.go") {
		t.Errorf("sources %v, want only p/p.go", sources)
	}
	funcs := map[string]bool{}
	for _, m := range ms {
		if m.File != "p/p.go" {
			t.Errorf("mutant of %s", m.File)
		}
		funcs[m.Func] = true
	}
	if !funcs["Add"] || !funcs["Double"] || !funcs["Sum"] || len(funcs) != 3 {
		t.Errorf("mutated functions %v, want Add, Double, Sum", funcs)
	}
}
