package logging

import (
	"bytes"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

// checkmkLine is the line format of Checkmk's liveproxyd.log.
var checkmkLine = regexp.MustCompile(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \[(\d+)\] \[([^\]]+)\] (.*)$`)

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

func TestFormatIsCheckmks(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, true)
	log.Debug("dbg")
	log.Info("configuration reloaded", "sites", 2)
	log.With("site", "berlin").Warn("site berlin is dead: heartbeat timeout after 2s")
	log.Error("cannot serve site", "site", "paris", "err", errors.New("socket path /x y is taken"))
	want := [][4]string{
		{"10", "cmk.liveproxyd", "dbg"},
		{"20", "cmk.liveproxyd", "configuration reloaded sites=2"},
		{"30", "cmk.liveproxyd.berlin", "site berlin is dead: heartbeat timeout after 2s"},
		{"40", "cmk.liveproxyd.paris", `cannot serve site err="socket path /x y is taken"`},
	}
	got := lines(buf.String())
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(want), buf.String())
	}
	for i, l := range got {
		m := checkmkLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q is not in Checkmk's format", l)
		}
		if _, err := time.ParseInLocation(timeLayout, m[1], time.Local); err != nil {
			t.Errorf("time of %q: %v", l, err)
		}
		if m[2] != want[i][0] || m[3] != want[i][1] || m[4] != want[i][2] {
			t.Errorf("line %d = [%s] [%s] %s, want [%s] [%s] %s", i, m[2], m[3], m[4], want[i][0], want[i][1], want[i][2])
		}
	}
}

func TestMessageStaysOnOneLine(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, false).Info("COMMAND dropped: a\\nforged line", "err", "x\\ny")
	if n := len(lines(buf.String())); n != 1 {
		t.Fatalf("%d lines: %q", n, buf.String())
	}
}

func TestPythonLevelsRoundTrip(t *testing.T) {
	for py, lv := range map[int]slog.Level{10: slog.LevelDebug, 20: slog.LevelInfo, 30: slog.LevelWarn, 40: slog.LevelError} {
		if SlogLevel(py) != lv || PythonLevel(lv) != py {
			t.Errorf("python %d <-> slog %v: got %v and %d", py, lv, SlogLevel(py), PythonLevel(lv))
		}
	}
	// Checkmk's "verbose" sits between debug and info.
	if v := SlogLevel(15); v <= slog.LevelDebug || v >= slog.LevelInfo || PythonLevel(v) != 15 {
		t.Errorf("verbose 15 -> %v -> %d", v, PythonLevel(v))
	}
}

func TestLevelsPerLoggerAndReload(t *testing.T) {
	var buf bytes.Buffer
	levels := NewLevels(false)
	log := NewLogger(&buf, levels, nil)
	emit := func() {
		log.Debug("root debug")
		log.Info("root info")
		log.Debug("berlin debug", "site", "berlin")
		log.Info("paris info", "site", "paris")
		log.Warn("paris warn", "site", "paris")
	}
	count := func(want ...string) {
		t.Helper()
		got := buf.String()
		buf.Reset()
		all := []string{"root debug", "root info", "berlin debug", "paris info", "paris warn"}
		for _, m := range all {
			if strings.Contains(got, m) != contains(want, m) {
				t.Errorf("%q logged: %v, want %v\n%s", m, !contains(want, m), contains(want, m), got)
			}
		}
	}
	emit()
	count("root info", "paris info", "paris warn") // the default: INFO
	levels.Set(map[string]int{"cmk.liveproxyd": 10, "cmk.liveproxyd.paris": 30})
	emit()
	count("root debug", "root info", "berlin debug", "paris warn")
	levels.Set(map[string]int{"cmk.liveproxyd": 40})
	emit()
	count()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
