package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"liveproxyd/internal/fakesite"
)

func TestJSONCountsQueries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "site.sock")
	site, err := fakesite.Listen("unix", path, fakesite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"-target", "unix:" + path, "-clients", "3", "-keepalive", "-count", "12",
		"-mix", "status,hosts", "-query", `GET services\nColumns: description`, "-idle", "2", "-json"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var res struct {
		Queries  int64            `json:"queries"`
		Codes    map[string]int64 `json:"codes"`
		Failures int64            `json:"failures"`
		Latency  struct {
			P50 float64 `json:"p50_us"`
			P99 float64 `json:"p99_us"`
		} `json:"latency"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v in %s", err, out.String())
	}
	if res.Queries != 12 || res.Codes["200"] != 12 || res.Failures != 0 {
		t.Fatalf("result %+v", res)
	}
	if res.Latency.P50 <= 0 || res.Latency.P99 < res.Latency.P50 {
		t.Errorf("latency %+v", res.Latency)
	}
	// 3 clients plus 2 idle connections at most.
	if st := site.Stats(); st.Queries != 12 || st.ConnsAccepted > 5 || st.ConnsAccepted < 3 {
		t.Errorf("site saw %d queries on %d connections", st.Queries, st.ConnsAccepted)
	}
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-target", "nowhere"},
		{"-target", "/tmp/x", "-mix", "nope", "-count", "1"},
		{"-target", "/tmp/x"}, // neither count nor duration
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 2 {
			t.Errorf("%q: exit %d, want 2 (%s)", args, code, errOut.String())
		}
	}
}

func TestNothingAnsweredFails(t *testing.T) {
	var out, errOut bytes.Buffer
	path := filepath.Join(t.TempDir(), "none.sock")
	if code := run(context.Background(), []string{"-target", path, "-count", "2"}, &out, &errOut); code != 1 {
		t.Errorf("exit %d with no server, want 1: %s", code, out.String())
	}
}
