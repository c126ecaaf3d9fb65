package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process of the benchmark: a fake site, a relay or the
// daemon. Pdeathsig kills it if the benchmark itself dies, so no run
// leaves processes behind.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}

	mu   sync.Mutex
	tail []string // last lines of output, for error messages
}

// tailLines is how much output a proc keeps for error messages.
const tailLines = 30

// startProc runs bin with args and, if ready is not empty, waits until a
// line of its output starts with ready; it returns the rest of that line.
func startProc(name, bin string, args []string, ready string, timeout time.Duration) (*proc, string, error) {
	p := &proc{name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	found := make(chan string, 1)
	go p.scan(pr, ready, found)
	if ready == "" {
		return p, "", nil
	}
	select {
	case rest := <-found:
		return p, rest, nil
	case <-p.done:
		return nil, "", fmt.Errorf("%s exited during start: %s", name, p.output())
	case <-time.After(timeout):
		p.stop()
		return nil, "", fmt.Errorf("%s not ready after %v: %s", name, timeout, p.output())
	}
}

// scan keeps the output's tail and reports the ready line once.
func (p *proc) scan(r io.Reader, ready string, found chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := ready == ""
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.tail = append(p.tail, line)
		if len(p.tail) > tailLines {
			p.tail = p.tail[1:]
		}
		p.mu.Unlock()
		if !sent && strings.HasPrefix(line, ready) {
			sent = true
			found <- strings.TrimSpace(strings.TrimPrefix(line, ready))
		}
	}
	_, _ = io.Copy(io.Discard, r) // an over-long line: keep the child unblocked
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *proc) signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// stop sends SIGTERM, then SIGKILL after a grace period.
func (p *proc) stop() {
	if p == nil || !p.running() {
		return
	}
	_ = p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// memKB reads a "VmHWM"/"VmRSS" line of /proc/PID/status in kB.
func memKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) < 1 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// cpuTime is utime+stime of a process from /proc/PID/stat.
func cpuTime(pid int) (time.Duration, error) {
	self, _, err := procTimes(pid)
	return self, err
}

// cpuTimeWithChildren adds cutime+cstime: the CPU of the children the
// process has waited for. socat with fork serves each connection in a
// child that exits with it, so its parent's reaped children are where
// that CPU shows.
func cpuTimeWithChildren(pid int) (time.Duration, error) {
	self, reaped, err := procTimes(pid)
	return self + reaped, err
}

// procTimes reads utime+stime and cutime+cstime of /proc/PID/stat.
func procTimes(pid int) (self, reaped time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name may contain spaces: fields count from after ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, errors.New("bad /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0, 0, errors.New("short /proc stat")
	}
	// After ')': state is field 3 of stat(5), so utime (14) is f[11],
	// then stime, cutime, cstime.
	var ticks [4]int64
	for k := range ticks {
		if ticks[k], err = strconv.ParseInt(f[11+k], 10, 64); err != nil {
			return 0, 0, err
		}
	}
	toDur := func(t int64) time.Duration { return time.Duration(t) * time.Second / clockTicks }
	return toDur(ticks[0] + ticks[1]), toDur(ticks[2] + ticks[3]), nil
}
