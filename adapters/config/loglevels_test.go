package config

import (
	"maps"
	"strings"
	"testing"
)

func TestLogLevels(t *testing.T) {
	for _, tc := range []struct {
		name    string
		main    string
		globals map[string]string
		want    map[string]int
	}{
		{"absent means the defaults", oneSite, nil, nil},
		{"None means the defaults", oneSite + "liveproxyd_log_levels = None\n", nil, nil},
		{"as the GUI writes it", oneSite, map[string]string{"wato/global.mk": "liveproxyd_log_levels = {'cmk.liveproxyd': 20}\n"},
			map[string]int{"cmk.liveproxyd": 20}},
		{"verbose and a site logger", oneSite + "liveproxyd_log_levels = {'cmk.liveproxyd': 15, 'cmk.liveproxyd.s1': 10}\n", nil,
			map[string]int{"cmk.liveproxyd": 15, "cmk.liveproxyd.s1": 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, writeRoot(t, tc.main, tc.globals))
			if !maps.Equal(c.LogLevels, tc.want) {
				t.Fatalf("LogLevels %v, want %v", c.LogLevels, tc.want)
			}
		})
	}
}

func TestLogLevelsErrorsNameFileLineAndKey(t *testing.T) {
	for _, tc := range []struct {
		value, msg string
	}{
		{"20", "liveproxyd_log_levels: must be a dict"},
		{"{20: 20}", "liveproxyd_log_levels: logger names must be non-empty strings"},
		{"{'cmk.liveproxyd': 'debug'}", "liveproxyd_log_levels key 'cmk.liveproxyd': must be a level from 0 to 50"},
		{"{'cmk.liveproxyd': 60}", "liveproxyd_log_levels key 'cmk.liveproxyd': must be a level from 0 to 50"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			root := writeRoot(t, oneSite, map[string]string{
				"logging.mk": "# logging\n\nliveproxyd_log_levels = " + tc.value + "\n",
			})
			e := loadErr(t, root)
			if !strings.HasSuffix(e.File, "liveproxyd.d/logging.mk") || e.Line != 3 {
				t.Fatalf("error at %s:%d, want logging.mk:3: %v", e.File, e.Line, e)
			}
			if !strings.Contains(e.Msg, tc.msg) {
				t.Fatalf("message %q, want %q", e.Msg, tc.msg)
			}
		})
	}
}
