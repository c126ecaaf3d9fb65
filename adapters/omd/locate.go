package omd

import "go.starlark.net/syntax"

// lineOf finds the line in sites.mk that set sites[site][path[0]]...:
// Starlark values carry no positions, so this follows dict literals in the
// AST from every `'site': {...}` entry and `sites['site'] = {...}`. The
// deepest match wins, the last one among equals (it is the one evaluation
// kept). 0 means not found; the error then names the file alone.
func lineOf(f *syntax.File, site string, path []string) int {
	if f == nil || site == "" {
		return 0
	}
	best, bestDepth := 0, -1
	var follow func(e syntax.Expr, at syntax.Node, depth int)
	follow = func(e syntax.Expr, at syntax.Node, depth int) {
		if depth >= bestDepth {
			start, _ := at.Span()
			best, bestDepth = int(start.Line), depth
		}
		d, ok := unparen(e).(*syntax.DictExpr)
		if !ok || depth >= len(path) {
			return
		}
		for _, item := range d.List {
			if en, ok := item.(*syntax.DictEntry); ok && strLit(en.Key) == path[depth] {
				follow(en.Value, en.Key, depth+1)
			}
		}
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch x := n.(type) {
		case *syntax.DictEntry:
			if strLit(x.Key) == site {
				follow(x.Value, x.Key, 0)
			}
		case *syntax.AssignStmt:
			if ix, ok := x.LHS.(*syntax.IndexExpr); ok && strLit(ix.Y) == site {
				if id, ok := ix.X.(*syntax.Ident); ok && id.Name == "sites" {
					follow(x.RHS, x.LHS, 0)
				}
			}
		}
		return true
	})
	return best
}

// strLit is the value of a string literal, or "" for anything else.
func strLit(e syntax.Expr) string {
	if l, ok := unparen(e).(*syntax.Literal); ok && l.Token == syntax.STRING {
		s, _ := l.Value.(string)
		return s
	}
	return ""
}

func unparen(e syntax.Expr) syntax.Expr {
	for {
		p, ok := e.(*syntax.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}
