package config

import "go.starlark.net/syntax"

// locate finds the source line that set varName[path[0]][path[1]]...
// Starlark values carry no positions, so this walks the AST for the
// statements that write the variable (`v = {...}`, `v.update({...})`,
// `v.update(k=...)`, `v['a'] = ...`, `v['a'].update(...)`) and follows
// dict literals down the path. The deepest match wins (the key's line,
// else the site's entry, else the statement); among equally deep matches
// the last in the file, since evaluation lets it override the others.
// It returns 0 when the file never writes the variable visibly.
func locate(f *syntax.File, varName string, path ...string) int {
	if f == nil {
		return 0
	}
	best, bestDepth := 0, -1
	hit := func(depth int, n syntax.Node) {
		if depth >= bestDepth {
			best, bestDepth = int(start(n).Line), depth
		}
	}
	// match records that e is the value of varName[path[:depth]], written
	// at node at, and descends into its entries.
	var match func(depth int, e syntax.Expr, at syntax.Node)
	match = func(depth int, e syntax.Expr, at syntax.Node) {
		hit(depth, at)
		if depth == len(path) {
			return
		}
		for _, en := range entries(e) {
			if en.key == path[depth] {
				match(depth+1, en.value, en.at)
			}
		}
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch x := n.(type) {
		case *syntax.AssignStmt:
			if x.Op != syntax.EQ && x.Op != syntax.PIPE_EQ {
				break
			}
			if depth, ok := target(x.LHS, varName, path); ok {
				match(depth, x.RHS, x.LHS)
			}
		case *syntax.CallExpr:
			dot, ok := x.Fn.(*syntax.DotExpr)
			if !ok || (dot.Name.Name != "update" && dot.Name.Name != "setdefault") {
				break
			}
			depth, ok := target(dot.X, varName, path)
			if !ok {
				break
			}
			hit(depth, x)
			if dot.Name.Name == "setdefault" {
				// d.setdefault('key', value)
				if len(x.Args) != 2 || depth >= len(path) {
					break
				}
				if key, ok := strLit(x.Args[0]); ok && key == path[depth] {
					match(depth+1, x.Args[1], x.Args[0])
				}
				break
			}
			for _, en := range callEntries(x) {
				if en.key == "" {
					match(depth, en.value, en.at)
				} else if depth < len(path) && en.key == path[depth] {
					match(depth+1, en.value, en.at)
				}
			}
		}
		return true
	})
	return best
}

// target reports how deep lhs reaches into varName along path: 0 for the
// bare name, 1 for varName['a'] when path[0] is 'a', and so on.
func target(lhs syntax.Expr, varName string, path []string) (int, bool) {
	switch x := unparen(lhs).(type) {
	case *syntax.Ident:
		return 0, x.Name == varName
	case *syntax.IndexExpr:
		depth, ok := target(x.X, varName, path)
		if !ok || depth >= len(path) {
			return 0, false
		}
		if key, ok := strLit(x.Y); ok && key == path[depth] {
			return depth + 1, true
		}
	}
	return 0, false
}

// entry is one key of a dict literal or dict(...) call; key "" marks a
// positional argument whose own entries apply (dict(base, k=v)).
type entry struct {
	key   string
	value syntax.Expr
	at    syntax.Node
}

func entries(e syntax.Expr) []entry {
	switch x := unparen(e).(type) {
	case *syntax.DictExpr:
		var out []entry
		for _, item := range x.List {
			if de, ok := item.(*syntax.DictEntry); ok {
				if k, ok := strLit(de.Key); ok {
					out = append(out, entry{k, de.Value, de.Key})
				}
			}
		}
		return out
	case *syntax.CallExpr:
		if id, ok := x.Fn.(*syntax.Ident); ok && id.Name == "dict" {
			var out []entry
			for _, en := range callEntries(x) {
				if en.key == "" {
					out = append(out, entries(en.value)...)
				} else {
					out = append(out, en)
				}
			}
			return out
		}
	}
	return nil
}

// callEntries lists the arguments of a call: keyword arguments by name,
// plain positional ones with key "". *args and **kwargs are skipped.
func callEntries(c *syntax.CallExpr) []entry {
	var out []entry
	for _, a := range c.Args {
		switch x := a.(type) {
		case *syntax.BinaryExpr:
			if id, ok := x.X.(*syntax.Ident); ok && x.Op == syntax.EQ {
				out = append(out, entry{id.Name, x.Y, x.X})
				continue
			}
		case *syntax.UnaryExpr:
			if x.Op == syntax.STAR || x.Op == syntax.STARSTAR {
				continue
			}
		}
		out = append(out, entry{"", a, a})
	}
	return out
}

func strLit(e syntax.Expr) (string, bool) {
	if l, ok := unparen(e).(*syntax.Literal); ok && l.Token == syntax.STRING {
		s, ok := l.Value.(string)
		return s, ok
	}
	return "", false
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

func start(n syntax.Node) syntax.Position {
	s, _ := n.Span()
	return s
}
