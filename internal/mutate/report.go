package mutate

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// ReadEquivalent parses the reviewed list of equivalent mutants: one
// "ID reason…" per line, '#' starts a comment line. A line without a
// reason is an error, because an unexplained entry cannot be re-reviewed.
func ReadEquivalent(r io.Reader) (map[string]string, error) {
	list := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, reason, _ := strings.Cut(line, " ")
		if strings.TrimSpace(reason) == "" {
			return nil, fmt.Errorf("line %d: %s: no reason given", n, id)
		}
		if _, dup := list[id]; dup {
			return nil, fmt.Errorf("line %d: %s listed twice", n, id)
		}
		list[id] = strings.TrimSpace(reason)
	}
	return list, sc.Err()
}

// Exclude drops the listed mutants; stale lists the IDs that matched no
// mutant (the code changed, so the entry needs a new review).
func Exclude(ms []Mutant, equivalent map[string]string) (kept []Mutant, excluded int, stale []string) {
	seen := map[string]bool{}
	for _, m := range ms {
		if _, ok := equivalent[m.ID()]; ok {
			seen[m.ID()] = true
			excluded++
			continue
		}
		kept = append(kept, m)
	}
	for id := range equivalent {
		if !seen[id] {
			stale = append(stale, id)
		}
	}
	return kept, excluded, stale
}

// Summary counts the verdicts.
type Summary struct {
	Killed, Lived, TimedOut, NotBuilt, Equivalent int
}

// Summarize counts results; equivalent is how many were excluded before
// the run.
func Summarize(rs []Result, equivalent int) Summary {
	s := Summary{Equivalent: equivalent}
	for _, r := range rs {
		switch r.Status {
		case Killed:
			s.Killed++
		case Lived:
			s.Lived++
		case TimedOut:
			s.TimedOut++
		case NotBuilt:
			s.NotBuilt++
		}
	}
	return s
}

// Efficacy is killed ÷ (killed + lived) in percent, timeouts counting as
// killed; mutants that do not build or are equivalent say nothing about
// the tests. With nothing to judge it is 100.
func (s Summary) Efficacy() float64 {
	dead := s.Killed + s.TimedOut
	if dead+s.Lived == 0 {
		return 100
	}
	return 100 * float64(dead) / float64(dead+s.Lived)
}

func (s Summary) String() string {
	return fmt.Sprintf("killed %d, lived %d, timed out %d, not built %d, equivalent %d; efficacy %.1f%%",
		s.Killed, s.Lived, s.TimedOut, s.NotBuilt, s.Equivalent, s.Efficacy())
}

// Report writes the survivors (the test gaps), then the timeouts (which
// count as killed but may hide a hang worth a test of its own), then the
// summary line.
func Report(w io.Writer, rs []Result, s Summary) {
	for _, st := range []Status{Lived, TimedOut} {
		first := true
		for _, r := range rs {
			if r.Status != st {
				continue
			}
			if first {
				fmt.Fprintf(w, "\n%s:\n", st)
				first = false
			}
			fmt.Fprintf(w, "  %-28s %-34s %-10s %s → %s\n      id %s\n", r.Pos(), r.Func, r.Op, r.Orig, r.Repl, r.ID())
		}
	}
	fmt.Fprintf(w, "\n%s\n", s)
}
