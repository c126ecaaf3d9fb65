// Package logging sets up the daemon's slog logger and a log file that can
// be reopened after logrotate moved it away (on SIGHUP).
package logging

import (
	"io"
	"log/slog"
	"os"
	"sync"
)

// New returns a text logger writing to w; debug lowers the level to Debug.
func New(w io.Writer, debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// File is an append-only log file that can be reopened at the same path.
// It is safe for concurrent use.
type File struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

// Open opens (creating it if needed) the log file at path.
func Open(path string) (*File, error) {
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	return &File{path: path, f: f}, nil
}

func openAppend(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
}

// Write appends p to the current file.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Write(p)
}

// Reopen switches to a fresh file at the same path: logrotate renamed the
// old one, and writing on would keep filling the rotated file. If the path
// cannot be opened the old file stays in use.
func (l *File) Reopen() error {
	f, err := openAppend(l.path)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.f
	l.f = f
	l.mu.Unlock()
	return old.Close()
}

// Close closes the file.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
