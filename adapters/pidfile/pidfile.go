// Package pidfile keeps ROOT/tmp/run/liveproxyd.pid: it makes sure only one
// daemon runs per site and tells the init script which process to signal.
package pidfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Path is the pid file, relative to the site root.
const Path = "tmp/run/liveproxyd.pid"

// File is a pid file this process holds.
type File struct {
	path string
	pid  int
}

// Acquire writes this process's pid to path. It refuses if the file names
// another live process; a stale file (its process is gone) is replaced.
func Acquire(path string) (*File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	me := os.Getpid()
	// Two tries: the second after removing a stale file. O_EXCL makes two
	// daemons starting at once unable to both win.
	for try := 0; try < 2; try++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, werr := fmt.Fprintf(f, "%d\n", me)
			cerr := f.Close()
			if werr = errors.Join(werr, cerr); werr != nil {
				os.Remove(path)
				return nil, werr
			}
			return &File{path: path, pid: me}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		pid, rerr := Read(path)
		if rerr == nil && pid != me && Alive(pid) {
			return nil, fmt.Errorf("liveproxyd is already running with pid %d (%s)", pid, path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%s: could not take over the pid file", path)
}

// Release removes the file if it still names this process.
func (f *File) Release() error {
	pid, err := Read(f.path)
	if err != nil || pid != f.pid {
		return err
	}
	return os.Remove(f.path)
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
