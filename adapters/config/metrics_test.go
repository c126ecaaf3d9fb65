package config

import (
	"strings"
	"testing"
)

const oneSite = "sites.update({'s1': {'socket': '/omd/sites/s1/tmp/run/live'}})\n"

func TestMetricsAddress(t *testing.T) {
	for _, tc := range []struct {
		name    string
		main    string
		globals map[string]string
		want    string
	}{
		{"absent means off", oneSite, nil, ""},
		{"empty means off", oneSite + "liveproxyd_metrics_address = ''\n", nil, ""},
		{"None means off", oneSite + "liveproxyd_metrics_address = None\n", nil, ""},
		{"in the main file", oneSite + "liveproxyd_metrics_address = '127.0.0.1:9130'\n", nil, "127.0.0.1:9130"},
		{"in liveproxyd.d", oneSite, map[string]string{"metrics.mk": "liveproxyd_metrics_address = '[::1]:9131'\n"}, "[::1]:9131"},
		{"the main file wins", oneSite + "liveproxyd_metrics_address = 'localhost:9200'\n",
			map[string]string{"metrics.mk": "liveproxyd_metrics_address = '127.0.0.1:9130'\n"}, "localhost:9200"},
		{"all interfaces", oneSite + "liveproxyd_metrics_address = ':9130'\n", nil, ":9130"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, writeRoot(t, tc.main, tc.globals))
			if c.MetricsAddress != tc.want {
				t.Fatalf("MetricsAddress %q, want %q", c.MetricsAddress, tc.want)
			}
			if len(c.Sites) != 1 {
				t.Fatalf("sites %v", c.Sites)
			}
		})
	}
}

func TestMetricsAddressErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		value, msg string
	}{
		{"9130", "must be a string 'host:port', got 9130"},
		{"'9130'", "not host:port"},
		{"'127.0.0.1'", "not host:port"},
		{"'127.0.0.1:0'", "port must be a number from 1 to 65535"},
		{"'127.0.0.1:65536'", "port must be a number from 1 to 65535"},
		{"'127.0.0.1:http'", "port must be a number from 1 to 65535"},
		{"('127.0.0.1', 9130)", "must be a string 'host:port'"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			// The bad value sits in liveproxyd.d on line 3; the main file
			// does not touch it.
			root := writeRoot(t, oneSite, map[string]string{
				"metrics.mk": "# metrics\n\nliveproxyd_metrics_address = " + tc.value + "\n",
			})
			e := loadErr(t, root)
			if !strings.HasSuffix(e.File, "liveproxyd.d/metrics.mk") || e.Line != 3 || e.Site != "" || e.Key != "" {
				t.Fatalf("error at %s:%d site %q key %q, want metrics.mk:3: %v", e.File, e.Line, e.Site, e.Key, e)
			}
			if !strings.Contains(e.Msg, "liveproxyd_metrics_address: "+tc.msg) {
				t.Fatalf("message %q, want %q", e.Msg, tc.msg)
			}
		})
	}
}
