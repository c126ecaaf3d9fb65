package logging

import (
	"log/slog"
	"strings"
	"sync/atomic"
)

// DefaultPythonLevel is Checkmk's default for cmk.liveproxyd: INFO.
const DefaultPythonLevel = 20

// Levels holds the threshold of every logger, from Checkmk's global
// liveproxyd_log_levels (logger name -> Python level, e.g.
// {'cmk.liveproxyd': 20}). A logger without an entry takes the entry of
// its nearest dotted ancestor, as in Python's logging; without any, INFO. A reload swaps the set while the daemon logs, hence the atomic.
type Levels struct {
	debug bool
	set   atomic.Pointer[levelSet]
}

type levelSet struct {
	byName map[string]slog.Level
	lowest slog.Level
}

// NewLevels starts at the default levels. With debug every logger logs at
// DEBUG whatever liveproxyd_log_levels says (--debug).
func NewLevels(debug bool) *Levels {
	l := &Levels{debug: debug}
	l.Set(nil)
	return l
}

// Set replaces the levels with py (logger name -> Python level).
func (l *Levels) Set(py map[string]int) {
	s := &levelSet{byName: map[string]slog.Level{}}
	for name, p := range py {
		s.byName[name] = SlogLevel(p)
	}
	if l.debug {
		s.byName = map[string]slog.Level{Root: slog.LevelDebug}
	}
	s.lowest = SlogLevel(DefaultPythonLevel)
	for _, lv := range s.byName {
		s.lowest = min(s.lowest, lv)
	}
	l.set.Store(s)
}

// min is the lowest threshold of any logger.
func (l *Levels) min() slog.Level { return l.set.Load().lowest }

// enabled reports whether logger name takes a record of level lv.
func (l *Levels) enabled(name string, lv slog.Level) bool {
	return lv >= l.set.Load().of(name)
}

func (s *levelSet) of(name string) slog.Level {
	for {
		if lv, ok := s.byName[name]; ok {
			return lv
		}
		i := strings.LastIndexByte(name, '.')
		if i < 0 {
			return SlogLevel(DefaultPythonLevel)
		}
		name = name[:i]
	}
}
