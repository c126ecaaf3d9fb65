package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Icinga runs as an umbrella process, a worker and a process spawner, all
// in the process group the harness creates; these helpers act on the
// whole group.

// reapGroup kills what is left of the group (the worker outlives a killed
// umbrella) so the next Start can bind the same port.
func (ic *Icinga) reapGroup(pgid int) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for i := 0; i < 100; i++ {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ic.out != nil {
		ic.out.Close()
		ic.out = nil
	}
}

// Freeze stops every process of the daemon with SIGSTOP: connections stay
// open, nothing is answered — a hung site.
func (ic *Icinga) Freeze() error {
	if !ic.Running() {
		return errors.New("icinga2 not running")
	}
	pgid := ic.cmd.Process.Pid
	if err := syscall.Kill(-pgid, syscall.SIGSTOP); err != nil {
		return err
	}
	// kill(2) only queues the signal: a thread running on the other core
	// may still accept and answer a query. Wait until every thread of the
	// group shows the stopped state.
	for i := 0; i < 250; i++ {
		if groupStopped(pgid) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("icinga2 process group %d did not stop within 5 s", pgid)
}

// groupStopped reports whether every thread of every process in process
// group pgid is stopped ('T' in /proc/PID/task/TID/stat).
func groupStopped(pgid int) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	found := false
	for _, p := range procs {
		f, ok := statFields(p)
		if !ok || f[2] != strconv.Itoa(pgid) {
			continue
		}
		found = true
		tasks, _ := filepath.Glob(filepath.Join(filepath.Dir(p), "task", "*", "stat"))
		for _, task := range tasks {
			if tf, ok := statFields(task); ok && tf[0] != "T" && tf[0] != "t" {
				return false
			}
		}
	}
	return found
}

// statFields returns the fields of a /proc stat file after the command
// name (which may contain spaces): state, ppid, pgrp, ...
func statFields(path string) ([]string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil, false
	}
	f := strings.Fields(string(b[i+1:]))
	return f, len(f) > 2
}

// Thaw resumes a frozen daemon.
func (ic *Icinga) Thaw() error {
	if !ic.Running() {
		return errors.New("icinga2 not running")
	}
	return syscall.Kill(-ic.cmd.Process.Pid, syscall.SIGCONT)
}
