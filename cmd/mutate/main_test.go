package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"liveproxyd/internal/mutate"
)

// fakeSource has one mutant of each verdict under the default operators:
// Add's + → - is killed, Double's * → / lives, Double's 2 → 3 is listed as
// equivalent, Shift's 1 → 0 is killed and its 7 → 8 does not build (1<<8
// overflows a uint8).
const fakeSource = `package p

func Add(a, b int) int { return a + b }

func Double(a int) int { return a * 2 }

func Shift() uint8 { return 1 << 7 }
`

const fakeTest = `package p

import "testing"

func TestAdd(t *testing.T) {
	if Add(2, 3) != 5 {
		t.Fatal("Add(2, 3) != 5")
	}
}

func TestShift(t *testing.T) {
	if Shift() != 128 {
		t.Fatal("Shift() != 128")
	}
}
`

// fakeModule writes the module, with its equivalent list, and moves into
// it: the command finds the module root from the working directory.
func fakeModule(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":      "module fake\n\ngo 1.26\n",
		"p/p.go":      fakeSource,
		"p/p_test.go": fakeTest,
		"equivalent.txt": "# reviewed\n" +
			"p/p.go:Double:constant:2→3#1 pretend: no test could tell\n" +
			"p/p.go:Gone:constant:2→3#1 the function was deleted\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "")
}

func fakeOptions(out, log *bytes.Buffer) options {
	return options{pkg: "./p", cmds: []string{"go test -count=1 ./p"}, jobs: 2, equiv: "equivalent.txt",
		ops: mutate.DefaultOps, factor: 3, lo: 20 * time.Second, hi: time.Minute, out: out, log: log}
}

// TestListSkipsEquivalentsAndNamesStaleEntries: -list shows what a run
// would test, and an entry that matches no mutant is reported for review.
func TestListSkipsEquivalentsAndNamesStaleEntries(t *testing.T) {
	fakeModule(t)
	var out, log bytes.Buffer
	o := fakeOptions(&out, &log)
	o.list = true
	if code, err := run(context.Background(), o); code != 0 || err != nil {
		t.Fatalf("run: code %d, err %v", code, err)
	}
	want := []string{"p/p.go:Add:arithmetic:+→-#1", "p/p.go:Double:arithmetic:*→/#1",
		"p/p.go:Shift:constant:1→0#1", "p/p.go:Shift:constant:7→8#1"}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Fields(l)
		got = append(got, f[len(f)-1])
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("listed\n%s\nwant the IDs %v", out.String(), want)
	}
	if !strings.Contains(log.String(), "stale entry, no such mutant: p/p.go:Gone:constant:2→3#1") {
		t.Errorf("stale entry not reported: %q", log.String())
	}

	out.Reset()
	o.match = `Shift`
	if code, err := run(context.Background(), o); code != 0 || err != nil {
		t.Fatalf("run -match: code %d, err %v", code, err)
	}
	if n := strings.Count(out.String(), "\n"); n != 2 || !strings.Contains(out.String(), "Shift:constant:1→0#1") {
		t.Errorf("-match Shift listed\n%s", out.String())
	}
}

func TestUnknownOperatorIsAnError(t *testing.T) {
	fakeModule(t)
	var out, log bytes.Buffer
	o := fakeOptions(&out, &log)
	o.ops = []string{"arithmetic", "swap"}
	if _, err := run(context.Background(), o); err == nil || !strings.Contains(err.Error(), `"swap"`) {
		t.Errorf("err %v, want unknown operator \"swap\"", err)
	}
}

// TestRunScoresWithoutNotBuiltAndEquivalentsAndHoldsTheFloor runs the
// fake module's mutants: 2 killed and 1 lived give 66.7 %, whatever the
// mutant that does not build and the equivalent one; a floor above the
// efficacy exits 1, a floor equal to it exits 0.
func TestRunScoresWithoutNotBuiltAndEquivalentsAndHoldsTheFloor(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests the fake module once per mutant")
	}
	fakeModule(t)
	var out, log bytes.Buffer
	o := fakeOptions(&out, &log)
	o.floor = 70
	code, err := run(context.Background(), o)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	if code != 1 || !strings.Contains(out.String(), "efficacy 66.7% is below the floor of 70.0%") {
		t.Errorf("floor 70: code %d, report\n%s", code, out.String())
	}
	summary := "killed 2, lived 1, timed out 0, not built 1, equivalent 1; efficacy 66.7%"
	if !strings.Contains(out.String(), summary) {
		t.Errorf("report\n%s\nwant the summary %q", out.String(), summary)
	}
	if !strings.Contains(out.String(), "id p/p.go:Double:arithmetic:*→/#1") || strings.Contains(out.String(), "Add:") {
		t.Errorf("report\n%s\nwant Double's survivor and no killed mutant", out.String())
	}

	out.Reset()
	o.floor = 50
	o.match = `Double|Add` // a selection leaves the equivalents out of the count
	if code, err := run(context.Background(), o); code != 0 || err != nil {
		t.Errorf("floor 50 on Add and Double (50%%): code %d, err %v\n%s", code, err, out.String())
	}
	if !strings.Contains(out.String(), "killed 1, lived 1, timed out 0, not built 0, equivalent 0; efficacy 50.0%") {
		t.Errorf("-match report\n%s", out.String())
	}
}
