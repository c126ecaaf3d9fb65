package mutate

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"strings"
	"testing"
)

// snippet holds one of each construct the operators look for, on its own
// line, so a mutant is identified by the line it changes.
const snippet = `package p

const limit = 3

func f(a, b int, s string, ok bool) int {
	if a < b && ok {
		a++
	}
	for a >= b {
		b += 2
	}
	switch {
	case ok || a == 0:
		return a * b
	}
	use(s + "x")
	return a - b
}

func use(string) {}
`

// mutate generates the snippet's mutants, with type information as Load
// would, keyed by the mutated line's text.
func mutants(t *testing.T, src string, ops []string) map[string]Mutant {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}}
	if _, err := (&types.Config{Importer: importer.Default()}).Check("p", fset, []*ast.File{f}, info); err != nil {
		t.Fatal(err)
	}
	out := map[string]Mutant{}
	for _, m := range Generate(fset, "p.go", f, []byte(src), info, ops) {
		got := m.Apply([]byte(src))
		if _, err := parser.ParseFile(token.NewFileSet(), "m.go", got, 0); err != nil {
			t.Errorf("%s does not parse: %v", m.ID(), err)
		}
		line := strings.TrimSpace(strings.Split(string(got), "\n")[m.Line-1])
		if _, dup := out[line]; dup {
			t.Errorf("two mutants give %q", line)
		}
		out[line] = m
	}
	return out
}

func TestOperatorsMutateEachConstruct(t *testing.T) {
	got := mutants(t, snippet, AllOps)
	want := []struct{ line, id string }{
		{"const limit = 4", "p.go:const:limit:constant:3→4#1"},
		{"if a <= b && ok {", "p.go:f:boundary:<→<=#1"},
		{"if a >= b && ok {", "p.go:f:negation:<→>=#1"},
		{"if a < b || ok {", "p.go:f:logical:&&→||#1"},
		{"if !(a < b && ok) {", "p.go:f:condition:if→!#1"},
		{"a--", "p.go:f:incdec:++→--#1"},
		{"for a > b {", "p.go:f:boundary:>=→>#1"},
		{"for a < b {", "p.go:f:negation:>=→<#1"},
		{"b -= 2", "p.go:f:incdec:+=→-=#1"},
		{"b += 3", "p.go:f:constant:2→3#1"},
		{"case !(ok || a == 0):", "p.go:f:condition:case→!#1"},
		{"case ok && a == 0:", "p.go:f:logical:||→&&#1"},
		{"case ok || a != 0:", "p.go:f:negation:==→!=#1"},
		{"case ok || a == 1:", "p.go:f:constant:0→1#1"},
		{"return a / b", "p.go:f:arithmetic:*→/#1"},
		{"return a + b", "p.go:f:arithmetic:-→+#1"},
		{"", "p.go:f:removecall:use→-#1"},
	}
	for _, w := range want {
		m, ok := got[w.line]
		if !ok {
			t.Errorf("no mutant gives %q", w.line)
			continue
		}
		if m.ID() != w.id {
			t.Errorf("%q: ID %s, want %s", w.line, m.ID(), w.id)
		}
		delete(got, w.line)
	}
	for line, m := range got {
		t.Errorf("unexpected mutant %s: %q", m.ID(), line)
	}
}

// TestOperatorsSkipWhatCannotDiffer: string + has no -, a comparison as
// a condition is already negated by the negation operator, and array
// lengths are left alone.
func TestOperatorsSkipWhatCannotDiffer(t *testing.T) {
	src := "package p\n\nfunc g(s string, n int) (string, [4]byte) {\n\tif n > 0 {\n\t\ts += \"a\"\n\t}\n\treturn s + s, [4]byte{}\n}\n"
	got := mutants(t, src, []string{OpArithmetic, OpIncDec, OpCondition, OpConstant})
	if len(got) != 1 {
		t.Fatalf("got %d mutants, want only the constant 0 → 1: %v", len(got), got)
	}
	if _, ok := got["if n > 1 {"]; !ok {
		t.Errorf("the one mutant is not n > 0 → n > 1: %v", got)
	}
}

func TestOrdinalCountsIdenticalMutationsInOneFunction(t *testing.T) {
	src := "package p\n\nfunc h(a int) int {\n\ta++\n\ta++\n\treturn a\n}\n"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	ms := Generate(fset, "p.go", f, []byte(src), nil, []string{OpIncDec})
	if len(ms) != 2 || ms[0].ID() != "p.go:h:incdec:++→--#1" || ms[1].ID() != "p.go:h:incdec:++→--#2" {
		t.Errorf("mutants %v, want ordinals 1 and 2", ms)
	}
}

func TestSampleIsDeterministicAndInSourceOrder(t *testing.T) {
	var ms []Mutant
	for i := range 50 {
		ms = append(ms, Mutant{Line: i})
	}
	a, b := Sample(ms, 10, 42), Sample(ms, 10, 42)
	if len(a) != 10 {
		t.Fatalf("sample of %d, want 10", len(a))
	}
	for i := range a {
		if a[i].Line != b[i].Line || (i > 0 && a[i].Line <= a[i-1].Line) {
			t.Fatalf("samples differ or are out of order: %v vs %v", a, b)
		}
	}
	if c := Sample(ms, 10, 43); equalLines(a, c) {
		t.Errorf("seeds 42 and 43 drew the same sample")
	}
}

func equalLines(a, b []Mutant) bool {
	for i := range a {
		if a[i].Line != b[i].Line {
			return false
		}
	}
	return true
}

func TestEquivalentListNeedsReasonsAndReportsStaleEntries(t *testing.T) {
	if _, err := ReadEquivalent(strings.NewReader("p.go:f:incdec:++→--#1\n")); err == nil {
		t.Error("an entry without a reason was accepted")
	}
	list, err := ReadEquivalent(strings.NewReader("# comment\n\np.go:f:incdec:++→--#1 a is never read again\np.go:gone:incdec:++→--#1 old\n"))
	if err != nil {
		t.Fatal(err)
	}
	if list["p.go:f:incdec:++→--#1"] != "a is never read again" {
		t.Errorf("reason = %q", list["p.go:f:incdec:++→--#1"])
	}
	ms := []Mutant{{File: "p.go", Func: "f", Op: OpIncDec, Orig: "++", Repl: "--", Ordinal: 1}, {File: "p.go", Func: "f", Op: OpIncDec, Orig: "++", Repl: "--", Ordinal: 2}}
	kept, excluded, stale := Exclude(ms, list)
	if len(kept) != 1 || kept[0].Ordinal != 2 || excluded != 1 || len(stale) != 1 || stale[0] != "p.go:gone:incdec:++→--#1" {
		t.Errorf("kept %v, excluded %d, stale %v", kept, excluded, stale)
	}
}

func TestEfficacyCountsTimeoutsAsKilledAndIgnoresNotBuilt(t *testing.T) {
	s := Summarize([]Result{{Status: Killed}, {Status: TimedOut}, {Status: Lived}, {Status: NotBuilt}, {Status: Lived}}, 3)
	if s != (Summary{Killed: 1, Lived: 2, TimedOut: 1, NotBuilt: 1, Equivalent: 3}) {
		t.Errorf("summary %+v", s)
	}
	if e := s.Efficacy(); e != 50 {
		t.Errorf("efficacy %.1f, want 50", e)
	}
}
