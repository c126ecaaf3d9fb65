package core

import (
	"log/slog"
	"testing"
)

// TestLogLevelsAreSlogLevels: the driver hands an ActLog's Level to slog
// as it is, so each level must be slog's own value.
func TestLogLevelsAreSlogLevels(t *testing.T) {
	for _, tc := range []struct {
		core Level
		slog slog.Level
	}{{LevelDebug, slog.LevelDebug}, {LevelInfo, slog.LevelInfo}, {LevelWarn, slog.LevelWarn}, {LevelError, slog.LevelError}} {
		if slog.Level(tc.core) != tc.slog {
			t.Errorf("core level %d is slog's %v, want %v", tc.core, slog.Level(tc.core), tc.slog)
		}
	}
}
