package mutate

import (
	"bytes"
	"strings"
	"testing"
)

// TestEquivalentListErrorsNameTheLine: a reviewer fixing the list needs
// the line, not just "bad entry".
func TestEquivalentListErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct{ name, list, want string }{
		{"no reason", "# c\n\np.go:f:incdec:++→--#1 fine\np.go:f:incdec:++→--#2\n", "line 4: p.go:f:incdec:++→--#2: no reason given"},
		{"only spaces after the ID", "p.go:f:incdec:++→--#1    \n", "line 1: p.go:f:incdec:++→--#1: no reason given"},
		{"listed twice", "p.go:f:incdec:++→--#1 a\n# c\np.go:f:incdec:++→--#1 b\n", "line 3: p.go:f:incdec:++→--#1 listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, err := ReadEquivalent(strings.NewReader(tc.list))
			if err == nil || err.Error() != tc.want {
				t.Errorf("err %v (list %v), want %q", err, list, tc.want)
			}
		})
	}
}

// TestIDsSurviveEditsElsewhereInTheFile: a reviewed ID must still name the
// same mutant after lines are added above it or another function changes.
func TestIDsSurviveEditsElsewhereInTheFile(t *testing.T) {
	edited := strings.Replace(snippet, "const limit = 3\n", "const limit = 3\n\n// g is new.\nfunc g(x int) int {\n\tif x > 1 {\n\t\treturn x - 1\n\t}\n\treturn x\n}\n", 1)
	ids := func(src string) map[string]int {
		out := map[string]int{}
		for _, m := range mutants(t, src, AllOps) {
			if m.Func == "f" {
				out[m.ID()] = m.Line
			}
		}
		return out
	}
	before, after := ids(snippet), ids(edited)
	if len(before) == 0 || len(before) != len(after) {
		t.Fatalf("%d mutants of f before the edit, %d after", len(before), len(after))
	}
	for id, line := range before {
		if l, ok := after[id]; !ok || l != line+8 {
			t.Errorf("%s: line %d before, %d after (ok %v), want the same ID 8 lines lower", id, line, l, ok)
		}
	}
}

// TestReportListsSurvivorsAndTimeoutsWithTheirIDs: the report is the
// to-do list, so it names every survivor and timeout by position and ID,
// and no mutant that was killed or not built.
func TestReportListsSurvivorsAndTimeoutsWithTheirIDs(t *testing.T) {
	m := func(line int, fn string) Mutant {
		return Mutant{File: "p.go", Line: line, Col: 2, Func: fn, Op: OpIncDec, Orig: "++", Repl: "--", Ordinal: 1}
	}
	rs := []Result{
		{Mutant: m(3, "killed"), Status: Killed},
		{Mutant: m(4, "lived"), Status: Lived},
		{Mutant: m(5, "hung"), Status: TimedOut},
		{Mutant: m(6, "broken"), Status: NotBuilt},
	}
	var b bytes.Buffer
	s := Summarize(rs, 2)
	Report(&b, rs, s)
	got := b.String()
	for _, want := range []string{"lived:\n  p.go:4:2", "id p.go:lived:incdec:++→--#1", "timed out:\n  p.go:5:2",
		"id p.go:hung:incdec:++→--#1", "killed 1, lived 1, timed out 1, not built 1, equivalent 2; efficacy 66.7%"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "p.go:killed") || strings.Contains(got, "p.go:broken") {
		t.Errorf("report names a killed or unbuilt mutant:\n%s", got)
	}
}
