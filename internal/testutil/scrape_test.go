package testutil

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestScrapeReturnsEverySampleBySeries(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Write([]byte("# HELP up Up.\n# TYPE up gauge\nup{site=\"s1\"} 1\nup{site=\"s2\"} 0\nrequests_total 1.5e+06\n"))
	}))
	defer srv.Close()
	got := Scrape(t, srv.URL)
	want := map[string]float64{`up{site="s1"}`: 1, `up{site="s2"}`: 0, "requests_total": 1.5e6}
	if !maps.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestParseExpositionRefusesWhatItCannotRead(t *testing.T) {
	for name, text := range map[string]string{
		"no value":     "up\n",
		"bad value":    "up one\n",
		"series twice": "up 1\nup 2\n",
	} {
		r := &fatalRecorder{TB: t}
		if got := parseExposition(r, text); got != nil || !strings.Contains(r.msg, "up") {
			t.Errorf("%s: returned %v, failure %q", name, got, r.msg)
		}
	}
}
