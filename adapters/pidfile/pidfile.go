// Package pidfile keeps ROOT/tmp/run/liveproxyd.pid: it makes sure only one
// daemon runs per site and tells the init script which process to signal.
//
// Exclusion comes from an flock(2) held on the file for the daemon's whole
// life, not from the file's existence: two daemons started at the same
// instant used to both win (the second read the first's file while it was
// still empty, took it for stale, and went on to unlink the first's live
// sockets). The kernel drops the lock when the process dies, so a kill -9
// leaves a file that the next start simply takes over.
package pidfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Path is the pid file, relative to the site root.
const Path = "tmp/run/liveproxyd.pid"

// maxTries bounds the retries when the file is replaced between our open
// and our lock (a daemon releasing it as we start).
const maxTries = 5

// File is a pid file this process holds, locked until Release.
type File struct {
	path string
	pid  int
	f    *os.File
}

// Acquire locks path and writes this process's pid into it. It refuses if
// another process holds the lock, or if the file names a live liveproxyd
// that does not lock (an older version, or Checkmk's own daemon). A pid of
// a live process that is not a liveproxyd is a stale file whose pid was
// reused: it does not block the start.
//
// The lock belongs to the calling process; call it in the process that
// stays (the re-executed daemon child), not in a parent that exits.
func Acquire(path string) (*File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	for try := 0; try < maxTries; try++ {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, alreadyRunning(path)
			}
			return nil, fmt.Errorf("%s: lock: %w", path, err)
		}
		// The holder before us may have removed the file between our open
		// and our lock: then we locked an unlinked inode and must retry on
		// the new file.
		if !samePath(f, path) {
			f.Close()
			continue
		}
		held := &File{path: path, pid: os.Getpid(), f: f}
		if pid, err := Read(path); err == nil && pid != held.pid && Alive(pid) && IsLiveproxyd(pid) {
			f.Close()
			return nil, fmt.Errorf("liveproxyd is already running with pid %d (%s)", pid, path)
		}
		if err := held.write(); err != nil {
			f.Close()
			return nil, err
		}
		return held, nil
	}
	return nil, fmt.Errorf("%s: could not take over the pid file", path)
}

// alreadyRunning names the holder if it has written its pid already.
func alreadyRunning(path string) error {
	if pid, err := Read(path); err == nil {
		return fmt.Errorf("liveproxyd is already running with pid %d (%s is locked)", pid, path)
	}
	return fmt.Errorf("liveproxyd is already running (%s is locked)", path)
}

func samePath(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

func (h *File) write() error {
	if err := h.f.Truncate(0); err != nil {
		return err
	}
	_, err := h.f.WriteAt([]byte(strconv.Itoa(h.pid)+"\n"), 0)
	return err
}

// Release removes the file if it still names this process, then drops the
// lock. Removing before unlocking means a daemon starting meanwhile either
// fails on our lock or creates a fresh file; it never inherits ours.
// Calling it again does nothing.
func (h *File) Release() error {
	if h.f == nil {
		return nil
	}
	defer func() { h.f.Close(); h.f = nil }()
	pid, err := Read(h.path)
	if err != nil || pid != h.pid {
		return err
	}
	return os.Remove(h.path)
}

// Read returns the pid written in path.
func Read(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: no pid in %q", path, data)
	}
	return pid, nil
}

// Alive reports whether a process with this pid exists and has not exited.
// EPERM means it exists but belongs to someone else, which still makes the
// pid file live. A zombie has exited: a daemonized liveproxyd is
// re-parented to PID 1, which in containers may never reap it, and its
// stale pid must not block the next start.
func Alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc: trust kill(pid, 0)
	}
	// The state letter follows the parenthesised command name.
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// IsLiveproxyd reports whether pid runs a liveproxyd: its executable or
// its command line (Checkmk's daemon is a Python script) names it. After a
// reboot or a kill -9 the pid in a stale file may belong to any process;
// only a liveproxyd may block a start. Without /proc it answers true, the
// safe side.
func IsLiveproxyd(pid int) bool {
	exe, exeErr := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if exeErr == nil && strings.Contains(filepath.Base(strings.TrimSuffix(exe, " (deleted)")), "liveproxyd") {
		return true
	}
	cmdline, cmdErr := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if cmdErr != nil {
		return exeErr != nil // neither readable: trust the pid
	}
	for _, arg := range strings.Split(string(cmdline), "\x00") {
		if strings.HasPrefix(filepath.Base(arg), "liveproxyd") {
			return true
		}
	}
	return false
}
