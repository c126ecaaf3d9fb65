package main

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestVerdicts(t *testing.T) {
	rows := []Row{
		{Scenario: "a", Measure: "m1", Figure: "1", Target: "≤ 2", Met: met(true)},
		{Scenario: "a", Measure: "m2", Figure: "3 | 4", Target: "≤ 2", Met: met(false)},
		{Scenario: "b", Measure: "m3", Figure: "info"},
		errRow("c", errors.New("broke\nbadly")),
	}
	out := render(machine(), rows, "")
	for _, want := range []string{
		"## Targets: 1 met, 1 missed",
		"| a | m1 | 1 | ≤ 2 | met |",
		`| a | m2 | 3 \| 4 | ≤ 2 | **missed** |`,
		"| b | m3 | info |  |  |",
		"| c | error | broke badly |  |  |",
		"CPUs (nproc)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// The error row sits with the targets, the informational one apart.
	if strings.Index(out, "| c | error") > strings.Index(out, "## Other figures") {
		t.Error("error row not in the targets table")
	}
}

func TestPick(t *testing.T) {
	all, err := pick("")
	if err != nil || len(all) != len(scenarios) {
		t.Fatalf("pick all: %d, %v", len(all), err)
	}
	two, err := pick("wan, dead")
	if err != nil || len(two) != 2 || two[0].name != "wan" || two[1].name != "dead" {
		t.Fatalf("pick two: %v, %v", two, err)
	}
	if _, err := pick("wan,nope"); err == nil {
		t.Error("unknown scenario accepted")
	}
	var budget time.Duration
	for _, s := range scenarios {
		budget += s.budget
	}
	// Budgets are caps, not estimates; the run's own bound cuts them.
	if budget <= 0 {
		t.Error("no budgets")
	}
}

func TestProcReaders(t *testing.T) {
	pid := os.Getpid()
	rss, err := memKB(pid, "VmRSS")
	if err != nil || rss <= 0 {
		t.Fatalf("VmRSS %d, %v", rss, err)
	}
	hwm, err := memKB(pid, "VmHWM")
	if err != nil || hwm < rss {
		t.Fatalf("VmHWM %d < VmRSS %d (%v)", hwm, rss, err)
	}
	if _, err := memKB(pid, "NoSuchField"); err == nil {
		t.Error("missing field found")
	}
	before, err := cpuTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the counter moves (it ticks at 10 ms), bounded.
	deadline := time.Now().Add(10 * time.Second)
	x := 0
	for time.Now().Before(deadline) {
		for i := 0; i < 1e6; i++ {
			x += i
		}
		if now, _ := cpuTime(pid); now > before {
			return
		}
	}
	t.Fatalf("CPU time did not move in 10 s of spinning (%d)", x)
}

func TestStartProcReadsReadyLine(t *testing.T) {
	p, rest, err := startProc("sh", "/bin/sh", []string{"-c", "echo starting; echo 'ready at here:1'; sleep 30"}, "ready at ", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	if rest != "here:1" {
		t.Errorf("ready line rest %q", rest)
	}
	p.stop()
	if p.running() {
		t.Error("still running after stop")
	}
	if _, _, err := startProc("sh", "/bin/sh", []string{"-c", "echo oops; exit 3"}, "ready", 10*time.Second); err == nil ||
		!strings.Contains(err.Error(), "oops") {
		t.Errorf("early exit: %v", err)
	}
}
