package main

import (
	"fmt"
	"strings"
	"time"
)

// Row is one line of the results table: a figure, and the target it is
// held against when there is one.
type Row struct {
	Scenario string
	Measure  string
	Figure   string
	Target   string // empty: informational
	Met      *bool  // nil: no target, or not measurable
}

func met(ok bool) *bool { return &ok }

func (r Row) verdict() string {
	switch {
	case r.Met == nil && r.Target == "":
		return ""
	case r.Met == nil:
		return "n/a"
	case *r.Met:
		return "met"
	}
	return "**missed**"
}

// errRow records a scenario that could not be measured; the run goes on.
func errRow(scenario string, err error) Row {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return Row{Scenario: scenario, Measure: "error", Figure: msg}
}

// markdownTable renders rows; a cell's pipes are escaped.
func markdownTable(rows []Row) string {
	var b strings.Builder
	b.WriteString("| Scenario | Measure | Figure | Target | Result |\n|---|---|---|---|---|\n")
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n",
			esc(r.Scenario), esc(r.Measure), esc(r.Figure), esc(r.Target), r.verdict())
	}
	return b.String()
}

// dur formats a duration in the unit that reads best.
func dur(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func signedDur(d time.Duration) string {
	if d < 0 {
		return "−" + dur(-d)
	}
	return "+" + dur(d)
}

func mb(bytes int64) string { return fmt.Sprintf("%.1f MB", float64(bytes)/(1<<20)) }
