// Package logging sets up the daemon's slog logger: Checkmk's
// liveproxyd.log line format with Python's level numbers, per-logger
// levels from liveproxyd_log_levels, a rate limit per kind of line, and a
// log file that can be reopened after logrotate moved it away (on SIGHUP).
package logging

import (
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/benbjohnson/clock"
)

// New returns a logger writing to w at the default levels; debug lowers
// every logger to DEBUG.
func New(w io.Writer, debug bool) *slog.Logger {
	return NewLogger(w, NewLevels(debug), nil)
}

// NewLogger returns a logger writing Checkmk's format to w, filtered by
// levels (which a reload may change) and rate-limited per kind of line
// (DefaultBurst per DefaultWindow) on clk (nil: the real clock).
func NewLogger(w io.Writer, levels *Levels, clk clock.Clock) *slog.Logger {
	if clk == nil {
		clk = clock.New()
	}
	return slog.New(newLimitHandler(newCheckmkHandler(w, levels), clk, DefaultBurst, DefaultWindow))
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
