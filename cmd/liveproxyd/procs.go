package main

import (
	"fmt"
	"runtime"
	"strconv"
)

// defaultProcs is how many threads run the daemon's Go code at once
// unless --procs or $GOMAXPROCS says otherwise.
//
// One, because liveproxyd relays: per query it does a few microseconds of
// work between waits on sockets. With a second P idle, Go's scheduler
// wakes another thread to look for work each time a goroutine becomes
// runnable, and that thread finds none and sleeps again: on the benchmark's
// hops the daemon then spent 20–30 % more CPU per query than with one P,
// and answered no more queries per second (BENCHMARKS.md, "hops"). One
// core carries several thousand small queries a second; an operator who
// needs more gives --procs.
const defaultProcs = 1

// procsFlag is --procs: unset, or the number given (0: one per CPU).
type procsFlag struct {
	set bool
	n   int
}

func (p *procsFlag) String() string {
	if !p.set {
		return ""
	}
	return strconv.Itoa(p.n)
}

func (p *procsFlag) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return fmt.Errorf("want a number of threads, 0 for one per CPU; got %q", v)
	}
	p.set, p.n = true, n
	return nil
}

// procs is the GOMAXPROCS the daemon runs with: the flag if given (0: one
// per CPU), else what $GOMAXPROCS set in the runtime already (env is its
// value, "" when unset), else defaultProcs.
func procs(f procsFlag, env string, cpus, current int) int {
	switch {
	case f.set && f.n == 0:
		return cpus
	case f.set:
		return f.n
	case env != "":
		return current
	default:
		return defaultProcs
	}
}

// applyProcs sets GOMAXPROCS for the daemon and returns it.
func applyProcs(f procsFlag, env string) int {
	n := procs(f, env, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(n)
	return n
}
