package main

import (
	"fmt"
	"time"
)

// The ways to the site, in the order startHops returns them.
const (
	hopDirect = iota
	hopLiveproxyd
	hopHAProxy
	hopSocat
)

// Targets of issue 12 ("as lean as HAProxy"), each a ratio of liveproxyd
// to a reference hop in the same cell of the same run.
const (
	hopCPUvsHAProxyMax = 1.0
	hopQPSvsHAProxyMin = 0.95
	hopQPSvsSocatMin   = 1.0
)

// hopRows turns one cell's figures into the report's rows: one
// informational row per way to the site, then the three targets.
func hopRows(query string, clients int, hops []hop, figs []hopFigures) []Row {
	lp, ha, so := figs[hopLiveproxyd], figs[hopHAProxy], figs[hopSocat]
	name := fmt.Sprintf("hops, %s (%s answers), %d client(s), new connection per query",
		query, answerSize(figs[hopDirect].answerBytes), clients)
	var rows []Row
	for i, h := range hops {
		f := figs[i]
		text := fmt.Sprintf("%.0f q/s; site CPU %s/query", f.qps, cpuPerQuery(f.siteCPU))
		if i != hopDirect {
			text = fmt.Sprintf("%.0f q/s; hop CPU %s/query; site CPU %s/query", f.qps, cpuPerQuery(f.hopCPU), cpuPerQuery(f.siteCPU))
		}
		rows = append(rows, Row{Scenario: name, Measure: h.name, Figure: text})
	}
	cpu := Row{Scenario: name, Measure: "CPU per query: liveproxyd ÷ HAProxy",
		Target: fmt.Sprintf("≤ %.2g × HAProxy", hopCPUvsHAProxyMax)}
	if ha.hopCPUMeasurable {
		ratio := float64(lp.hopCPU) / float64(ha.hopCPU)
		cpu.Figure = fmt.Sprintf("%s ÷ %s (×%.2f)", cpuPerQuery(lp.hopCPU), cpuPerQuery(ha.hopCPU), ratio)
		cpu.Met = met(ratio <= hopCPUvsHAProxyMax)
	} else {
		cpu.Figure = "HAProxy used no measurable CPU (less than one 10 ms tick)"
	}
	qps := func(than string, other hopFigures, minRatio float64) Row {
		ratio := lp.qps / other.qps
		return Row{Scenario: name, Measure: "q/s: liveproxyd ÷ " + than,
			Figure: fmt.Sprintf("%.0f ÷ %.0f (×%.2f)", lp.qps, other.qps, ratio),
			Target: fmt.Sprintf("≥ %.2g × %s", minRatio, than), Met: met(ratio >= minRatio)}
	}
	return append(rows, cpu, qps("HAProxy", ha, hopQPSvsHAProxyMin), qps("socat", so, hopQPSvsSocatMin))
}

// cpuPerQuery shows a per-query CPU time below a millisecond to a tenth of
// a microsecond, above it in milliseconds.
func cpuPerQuery(d time.Duration) string {
	if d >= time.Millisecond {
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.1f µs", float64(d)/1e3)
}

// answerSize shows an answer's size in decimal units, as the issue
// counts them (728,669 bytes is "730 KB").
func answerSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
