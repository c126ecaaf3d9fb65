package fakesite

import (
	"regexp"
	"strconv"
	"strings"
)

// filter decides whether a row takes part in a query.
type filter func(r *row) bool

func (q *query) pushFilter(spec string) *lsError {
	f, err := q.parseFilter(spec)
	if err != nil {
		return err
	}
	q.filters = append(q.filters, f)
	return nil
}

// combine implements `And: N` / `Or: N`: the top N filters become one.
func (q *query) combine(v string, and bool) *lsError {
	fs, err := popN(&q.filters, v, and)
	if err != nil {
		return err
	}
	q.filters = append(q.filters, joinFilters(fs, and))
	return nil
}

func (q *query) negate() *lsError {
	if len(q.filters) == 0 {
		return badRequest("Cannot negate: no filter on the stack")
	}
	f := q.filters[len(q.filters)-1]
	q.filters[len(q.filters)-1] = func(r *row) bool { return !f(r) }
	return nil
}

func popN(stack *[]filter, v string, and bool) ([]filter, *lsError) {
	op := "OR"
	if and {
		op = "AND"
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return nil, badRequest("Invalid value for %s: must be non-negative integer", op)
	}
	if n > len(*stack) {
		return nil, badRequest("Cannot combine %d filters with %s: only %d on the stack", n, op, len(*stack))
	}
	cut := len(*stack) - n
	fs := append([]filter(nil), (*stack)[cut:]...)
	*stack = (*stack)[:cut]
	return fs, nil
}

func joinFilters(fs []filter, and bool) filter {
	return func(r *row) bool {
		for _, f := range fs {
			if f(r) != and {
				return !and
			}
		}
		return and
	}
}

// match applies the whole filter stack (an implicit AND).
func (q *query) match(r *row) bool {
	for _, f := range q.filters {
		if !f(r) {
			return false
		}
	}
	return true
}

// parseFilter parses `column operator value`; the value is the rest of the
// line and may be empty or contain spaces.
func (q *query) parseFilter(spec string) (filter, *lsError) {
	parts := strings.SplitN(strings.TrimLeft(spec, " "), " ", 3)
	if len(parts) < 2 || parts[1] == "" {
		return nil, badRequest("Missing operator in filter '%s'", spec)
	}
	col, err := q.column(parts[0])
	if err != nil {
		return nil, err
	}
	op, arg := parts[1], ""
	if len(parts) == 3 {
		arg = parts[2]
	}
	var f filter
	switch col.k {
	case kindInt, kindFloat:
		f = intFilter(col, op, arg)
	case kindString:
		f, err = stringFilter(col, op, arg)
		if err != nil {
			return nil, err
		}
	case kindList:
		f = listFilter(col, op, arg)
	}
	if f == nil {
		return nil, badRequest("Invalid operator '%s' for column '%s'", op, col.name)
	}
	return f, nil
}

func intFilter(col *column, op, arg string) filter {
	// Livestatus parses numbers with atoi: garbage counts as 0.
	n, _ := strconv.ParseInt(strings.TrimSpace(arg), 10, 64)
	cmp := compareOp(op)
	if cmp == nil {
		return nil
	}
	return func(r *row) bool {
		v := col.get(r).i
		switch {
		case v < n:
			return cmp(-1)
		case v > n:
			return cmp(1)
		}
		return cmp(0)
	}
}

// compareOp turns an ordering operator into a test on a three-way result.
func compareOp(op string) func(c int) bool {
	switch op {
	case "=":
		return func(c int) bool { return c == 0 }
	case "!=":
		return func(c int) bool { return c != 0 }
	case "<":
		return func(c int) bool { return c < 0 }
	case ">":
		return func(c int) bool { return c > 0 }
	case "<=":
		return func(c int) bool { return c <= 0 }
	case ">=":
		return func(c int) bool { return c >= 0 }
	}
	return nil
}

func stringFilter(col *column, op, arg string) (filter, *lsError) {
	if cmp := compareOp(op); cmp != nil {
		return func(r *row) bool { return cmp(strings.Compare(col.get(r).s, arg)) }, nil
	}
	neg := strings.HasPrefix(op, "!")
	base := strings.TrimPrefix(op, "!")
	var test func(s string) bool
	switch base {
	case "=~":
		test = func(s string) bool { return strings.EqualFold(s, arg) }
	case "~", "~~":
		expr := arg
		if base == "~~" {
			expr = "(?i)" + arg
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, badRequest("invalid regular expression '%s'", arg)
		}
		test = re.MatchString
	default:
		return nil, nil
	}
	return func(r *row) bool { return test(col.get(r).s) != neg }, nil
}

// listFilter: `>=` contains, `<` does not contain, `=`/`!=` with an empty
// value test for emptiness, as in Livestatus.
func listFilter(col *column, op, arg string) filter {
	contains := func(r *row) bool {
		for _, e := range col.get(r).l {
			if e == arg {
				return true
			}
		}
		return false
	}
	switch op {
	case ">=":
		return contains
	case "<":
		return func(r *row) bool { return !contains(r) }
	case "=":
		if arg == "" {
			return func(r *row) bool { return len(col.get(r).l) == 0 }
		}
	case "!=":
		if arg == "" {
			return func(r *row) bool { return len(col.get(r).l) != 0 }
		}
	}
	return nil
}

// stat is one `Stats:` column: a counting filter, or an aggregate.
type stat struct {
	agg  string // "" counts rows passing cond
	col  *column
	cond filter
}

var aggregates = map[string]bool{"sum": true, "min": true, "max": true, "avg": true}

func (q *query) pushStat(spec string) *lsError {
	f := strings.Fields(spec)
	if len(f) == 2 && aggregates[f[0]] {
		col, err := q.column(f[1])
		if err != nil {
			return err
		}
		if col.k != kindInt && col.k != kindFloat {
			return badRequest("Cannot aggregate non-numeric column '%s'", col.name)
		}
		q.stats = append(q.stats, &stat{agg: f[0], col: col})
		return nil
	}
	cond, err := q.parseFilter(spec)
	if err != nil {
		return err
	}
	q.stats = append(q.stats, &stat{cond: cond})
	return nil
}

// countingConds pops the top N stats; all must be counting ones.
func (q *query) countingConds(v string, and bool) ([]filter, *lsError) {
	conds := make([]filter, 0, len(q.stats))
	for _, s := range q.stats {
		conds = append(conds, s.cond)
	}
	fs, err := popN(&conds, v, and)
	if err != nil {
		return nil, err
	}
	for _, s := range q.stats[len(conds):] {
		if s.agg != "" {
			return nil, badRequest("Cannot combine aggregating Stats")
		}
	}
	q.stats = q.stats[:len(conds)]
	return fs, nil
}

func (q *query) combineStats(v string, and bool) *lsError {
	fs, err := q.countingConds(v, and)
	if err != nil {
		return err
	}
	q.stats = append(q.stats, &stat{cond: joinFilters(fs, and)})
	return nil
}

func (q *query) negateStat() *lsError {
	if len(q.stats) == 0 || q.stats[len(q.stats)-1].agg != "" {
		return badRequest("Cannot negate: no counting Stats on the stack")
	}
	s := q.stats[len(q.stats)-1]
	cond := s.cond
	s.cond = func(r *row) bool { return !cond(r) }
	return nil
}
