// Package mutate is a small mutation tester for one Go package: it changes
// one operator or constant at a time in the package's source, hands the
// changed file to `go test` through an overlay (the tree is never written),
// and reports which changes no test noticed.
//
// It is ours rather than gremlins because we need exact control over three
// things gremlins gets wrong on this code: a mutant that does not compile is
// "not built", not "killed"; `case` expressions and constant declarations
// are mutated too; and every mutant has a time limit (some really hang).
package mutate

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"sort"
	"strconv"
	"strings"
)

// Operator names, as used in mutant IDs, the -ops flag and the
// equivalent list. Changing a name invalidates reviewed IDs.
const (
	OpArithmetic = "arithmetic" // + ↔ -, * ↔ /
	OpBoundary   = "boundary"   // < ↔ <=, > ↔ >=
	OpNegation   = "negation"   // == ↔ !=, < ↔ >=, > ↔ <=
	OpLogical    = "logical"    // && ↔ ||
	OpCondition  = "condition"  // if c → if !(c)
	OpIncDec     = "incdec"     // ++ ↔ --, += ↔ -=
	OpConstant   = "constant"   // 0 → 1, 1 → 0, n → n+1
	OpRemoveCall = "removecall" // f(x) as a statement → nothing
)

// AllOps lists every operator; DefaultOps leaves out call removal, which
// mostly hits log calls that no test is meant to pin down.
var (
	AllOps     = []string{OpArithmetic, OpBoundary, OpNegation, OpLogical, OpCondition, OpIncDec, OpConstant, OpRemoveCall}
	DefaultOps = AllOps[:len(AllOps)-1]
)

var swaps = map[string]map[token.Token]token.Token{
	OpArithmetic: {token.ADD: token.SUB, token.SUB: token.ADD, token.MUL: token.QUO, token.QUO: token.MUL},
	OpBoundary:   {token.LSS: token.LEQ, token.LEQ: token.LSS, token.GTR: token.GEQ, token.GEQ: token.GTR},
	OpNegation: {token.EQL: token.NEQ, token.NEQ: token.EQL, token.LSS: token.GEQ, token.GEQ: token.LSS,
		token.GTR: token.LEQ, token.LEQ: token.GTR},
	OpLogical: {token.LAND: token.LOR, token.LOR: token.LAND},
	OpIncDec: {token.INC: token.DEC, token.DEC: token.INC, token.ADD_ASSIGN: token.SUB_ASSIGN,
		token.SUB_ASSIGN: token.ADD_ASSIGN, token.MUL_ASSIGN: token.QUO_ASSIGN, token.QUO_ASSIGN: token.MUL_ASSIGN},
}

// edit replaces src[off:end] with text.
type edit struct {
	off, end int
	text     string
}

// Mutant is one small change to one file.
type Mutant struct {
	File      string // slash path relative to the module root
	Line, Col int
	Func      string // enclosing function, or "const:Name" / "var:Name"
	Op        string
	Orig      string // what was there (an operator, a literal, "if", a callee)
	Repl      string // what replaces it
	Ordinal   int    // 1-based among mutants with the same file, Func, Op, Orig and Repl
	edits     []edit
}

// ID names the mutant without line numbers, so a reviewed equivalent
// entry survives edits elsewhere in the file; only reordering identical
// mutations inside one function shifts the ordinal.
func (m Mutant) ID() string {
	return fmt.Sprintf("%s:%s:%s:%s→%s#%d", m.File, m.Func, m.Op, m.Orig, m.Repl, m.Ordinal)
}

// Pos is file:line:col, the form editors and the report use.
func (m Mutant) Pos() string { return fmt.Sprintf("%s:%d:%d", m.File, m.Line, m.Col) }

// Apply returns src with the mutation applied; src must be the file the
// mutant was generated from.
func (m Mutant) Apply(src []byte) []byte {
	edits := append([]edit(nil), m.edits...)
	sort.Slice(edits, func(i, j int) bool { return edits[i].off > edits[j].off })
	out := append([]byte(nil), src...)
	for _, e := range edits {
		out = append(out[:e.off:e.off], append([]byte(e.text), out[e.end:]...)...)
	}
	return out
}

// generator walks one file; info may be nil or partial (then string
// concatenation is recognised by its literals only).
type generator struct {
	fset    *token.FileSet
	file    string
	info    *types.Info
	ops     map[string]bool
	src     []byte
	fn      string
	out     []Mutant
	ordinal map[string]int
}

// Generate returns the mutants of one parsed file, in source order.
func Generate(fset *token.FileSet, name string, f *ast.File, src []byte, info *types.Info, ops []string) []Mutant {
	g := &generator{fset: fset, file: name, info: info, src: src, ops: map[string]bool{}, ordinal: map[string]int{}}
	for _, op := range ops {
		g.ops[op] = true
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			g.fn = funcName(d)
			if d.Body != nil {
				ast.Inspect(d.Body, g.visit)
			}
		case *ast.GenDecl:
			if d.Tok != token.CONST && d.Tok != token.VAR {
				continue // types and imports hold nothing worth mutating
			}
			for _, spec := range d.Specs {
				vs := spec.(*ast.ValueSpec)
				g.fn = d.Tok.String() + ":" + vs.Names[0].Name
				for _, v := range vs.Values {
					ast.Inspect(v, g.visit)
				}
			}
		}
	}
	return g.out
}

func funcName(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return d.Name.Name
	}
	t := d.Recv.List[0].Type
	if idx, ok := t.(*ast.IndexExpr); ok { // generic receiver T[P]
		t = idx.X
	}
	if star, ok := t.(*ast.StarExpr); ok {
		if id, ok := star.X.(*ast.Ident); ok {
			return "(*" + id.Name + ")." + d.Name.Name
		}
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + d.Name.Name
	}
	return d.Name.Name
}

func (g *generator) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.ArrayType:
		return false // array lengths: mostly "not built" or equivalent noise
	case *ast.BinaryExpr:
		for _, op := range []string{OpArithmetic, OpBoundary, OpNegation, OpLogical} {
			if to, ok := swaps[op][n.Op]; ok && !(op == OpArithmetic && g.isString(n)) {
				g.swapToken(op, n.OpPos, n.Op, to)
			}
		}
	case *ast.IncDecStmt:
		g.swapToken(OpIncDec, n.TokPos, n.Tok, swaps[OpIncDec][n.Tok])
	case *ast.AssignStmt:
		if to, ok := swaps[OpIncDec][n.Tok]; ok && !g.isString(n.Lhs[0]) {
			g.swapToken(OpIncDec, n.TokPos, n.Tok, to)
		}
	case *ast.BasicLit:
		g.constant(n)
	case *ast.IfStmt:
		g.condition(n.Cond, "if")
	case *ast.ForStmt:
		g.condition(n.Cond, "for")
	case *ast.SwitchStmt:
		if n.Tag == nil { // a tagless switch's cases are conditions
			for _, cc := range n.Body.List {
				for _, e := range cc.(*ast.CaseClause).List {
					g.condition(e, "case")
				}
			}
		}
	case *ast.ExprStmt:
		if call, ok := n.X.(*ast.CallExpr); ok {
			callee := strings.Join(strings.Fields(string(g.src[g.off(call.Fun.Pos()):g.off(call.Fun.End())])), "")
			g.add(OpRemoveCall, n.Pos(), callee, "-", edit{g.off(n.Pos()), g.off(n.End()), ""})
		}
	}
	return true
}

func (g *generator) off(p token.Pos) int { return g.fset.Position(p).Offset }

func (g *generator) swapToken(op string, pos token.Pos, from, to token.Token) {
	o := g.off(pos)
	g.add(op, pos, from.String(), to.String(), edit{o, o + len(from.String()), to.String()})
}

// condition negates a condition unless it is a comparison, whose negation
// the negation operator already produces (the same program twice).
func (g *generator) condition(e ast.Expr, kw string) {
	if e == nil {
		return
	}
	if b, ok := ast.Unparen(e).(*ast.BinaryExpr); ok && swaps[OpNegation][b.Op] != 0 {
		return
	}
	g.add(OpCondition, e.Pos(), kw, "!", edit{g.off(e.Pos()), g.off(e.Pos()), "!("}, edit{g.off(e.End()), g.off(e.End()), ")"})
}

func (g *generator) constant(lit *ast.BasicLit) {
	if lit.Kind != token.INT {
		return
	}
	v, err := strconv.ParseInt(lit.Value, 0, 64)
	if err != nil || v == 1<<63-1 {
		return
	}
	repl := v + 1
	if v == 1 {
		repl = 0
	}
	r := strconv.FormatInt(repl, 10)
	g.add(OpConstant, lit.Pos(), lit.Value, r, edit{g.off(lit.Pos()), g.off(lit.End()), r})
}

// isString reports whether e is a string, so + is concatenation; without
// type information a string literal operand is the tell.
func (g *generator) isString(e ast.Expr) bool {
	if g.info != nil {
		if tv, ok := g.info.Types[e]; ok && tv.Type != nil {
			b, ok := tv.Type.Underlying().(*types.Basic)
			return ok && b.Info()&types.IsString != 0
		}
	}
	if b, ok := e.(*ast.BinaryExpr); ok {
		return g.isString(b.X) || g.isString(b.Y)
	}
	lit, ok := ast.Unparen(e).(*ast.BasicLit)
	return ok && lit.Kind == token.STRING
}

func (g *generator) add(op string, pos token.Pos, orig, repl string, edits ...edit) {
	if !g.ops[op] {
		return
	}
	p := g.fset.Position(pos)
	m := Mutant{File: g.file, Line: p.Line, Col: p.Column, Func: g.fn, Op: op, Orig: orig, Repl: repl, edits: edits}
	key := m.ID()
	g.ordinal[key]++
	m.Ordinal = g.ordinal[key]
	g.out = append(g.out, m)
}
