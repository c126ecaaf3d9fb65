// Package listen creates the proxy's local UNIX sockets, one per site.
package listen

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
)

// MaxPath is the longest UNIX socket path Linux keeps whole: sun_path has
// 108 bytes including the terminating NUL. Longer paths would be truncated
// silently by some tools, so they are refused with a clear error.
const MaxPath = 107

// Mode of the socket file: the site user and its group (the web GUI) may
// connect, nobody else.
const Mode = 0o660

// Unix listens on path: it creates the directory, removes a stale socket
// left by an earlier run (the pid file guarantees no other liveproxyd owns
// it), and sets Mode. Closing the listener removes the file.
func Unix(path string) (*net.UnixListener, error) {
	if len(path) > MaxPath {
		return nil, fmt.Errorf("socket path %s is %d bytes long, UNIX sockets allow at most %d", path, len(path), MaxPath)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o770); err != nil {
		return nil, err
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, Mode); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// removeStale deletes an old socket file but never a regular file or a
// directory that happens to sit at the path: that would be a config mistake
// worth reporting, not something to destroy.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	return os.Remove(path)
}
