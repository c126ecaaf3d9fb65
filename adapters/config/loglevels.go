package config

import (
	"go.starlark.net/starlark"
)

// varLogLevels is Checkmk's global setting "Logging of the Livestatus
// Proxy": logger name -> Python level, e.g. {'cmk.liveproxyd': 20}
// (10 debug, 15 verbose, 20 info, 30 warning, 40 error, 50 critical). The
// GUI writes it to liveproxyd.d/wato/global.mk.
const varLogLevels = "liveproxyd_log_levels"

// maxPythonLevel is Python's CRITICAL; anything above would log nothing.
const maxPythonLevel = 50

// logLevels reads varLogLevels; absent or None means the defaults (nil).
func logLevels(ev *evaluator) (map[string]int, error) {
	v, ok := ev.globals[varLogLevels]
	if !ok || v == starlark.None {
		return nil, nil
	}
	fail := func(key, msg string) error {
		file, line := ev.lastWriter(varLogLevels, key)
		e := &Error{File: file, Line: line, Msg: varLogLevels + ": " + msg}
		if key != "" {
			e.Msg = varLogLevels + " key '" + key + "': " + msg
		}
		return e
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fail("", "must be a dict of logger name to level, e.g. {'cmk.liveproxyd': 20}, got "+brief(v))
	}
	out := map[string]int{}
	for _, it := range d.Items() {
		name, ok := it[0].(starlark.String)
		if !ok || name == "" {
			return nil, fail("", "logger names must be non-empty strings, got "+brief(it[0]))
		}
		level, ok := pythonLevel(it[1])
		if !ok {
			return nil, fail(string(name), "must be a level from 0 to 50 (10 debug, 20 info, 30 warning, 40 error), got "+brief(it[1]))
		}
		out[string(name)] = int(level)
	}
	return out, nil
}

func pythonLevel(v starlark.Value) (int64, bool) {
	n, ok := v.(starlark.Int)
	if !ok {
		return 0, false
	}
	level, exact := n.Int64()
	return level, exact && level >= 0 && level <= maxPythonLevel
}

// lastWriter finds the last file, in evaluation order, that visibly
// writes name (and key, if given), and the line; else the last file read.
func (ev *evaluator) lastWriter(name, key string) (string, int) {
	path := []string{}
	if key != "" {
		path = append(path, key)
	}
	for i := len(ev.order) - 1; i >= 0; i-- {
		file := ev.order[i]
		if line := locate(ev.asts[file], name, path...); line > 0 {
			return file, line
		}
	}
	return ev.order[len(ev.order)-1], 0
}
